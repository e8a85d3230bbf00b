"""A figure given for several things together does not answer for one of them: asked for the
output of 襄阳高新区's 新能源汽车产业 alone, “以高端装备制造、电子信息、新能源汽车、生物医药……为支柱
的六大战略性新兴产业……实现产值179.9亿元” gives the six industries' sum.

An item of a series (three items or more, joined by 、) that the question names, and the
sentence names nowhere else, is pooled, unless the sentence gives each item its own figure (分别,
各自, 依次, or figures within the items) or the question names two items of the series (it asks about them together).
"""

from __future__ import annotations

import re

from rag.answer_type import CHINESE_DIGITS
from rag.lexicon import tagged
from rag.text import normalize_for_match, to_simplified

# Three items or more, joined by 、 (an item: up to 12 characters without punctuation).
_ITEM = r"(?:(?!等)[\u3400-\u9fffA-Za-z\d]){1,12}"  # 等 closes a series (……、北洋杯等国际化……)
_SERIES = re.compile(rf"(?:{_ITEM}、){{2,}}{_ITEM}")
# A figure in an item (10家省实验室, 三十家国家重点实验室).
_FIGURE = re.compile(rf"\d|[{CHINESE_DIGITS}]+[家个项所座名位人件台辆亿万元]")
# Each item has the figure: 分别, 各自, 依次; 均/都 (……的研发投入强度均超过5%).
_EACH = re.compile(r"分别|各自|各为|各占|依次|均|(?<!首)都")
_EDGE_CHARACTERS = 3
# Words that end the last item: a function word, a numeral (……、生物医药三大产业).
_AFTER_LAST = re.compile(rf"[等为的在是和与及{CHINESE_DIGITS}\d]")


def pooled_word(question: str, sentence: str) -> str | None:
    """The item of a series in ``sentence`` that ``question`` (simplified) asks about, when the
    sentence names it only in series whose figure is the whole series', or None."""
    flat = to_simplified(normalize_for_match(sentence))
    if _EACH.search(flat):
        return None
    series = list(_SERIES.finditer(flat))
    asked = {
        item for match in series if not _own_figures(match[0]) for item in _named_items(match[0], question)
    }
    if len(asked) != 1:
        return None  # none of the series is asked about, or several together
    item = asked.pop()
    found = [m.start() for m in re.finditer(re.escape(item), flat)]
    return item if all(any(s.start() <= at < s.end() for s in series) for at in found) else None


def _own_figures(series: str) -> bool:
    """Whether two items of ``series`` or more hold a number: each has its own figure (10家省实验室、
    30家国家重点实验室); a number in one item only counts the series (……、信息服务4个国家级集群)."""
    return sum(bool(_FIGURE.search(item)) for item in series.split("、")) >= 2


def _named_items(series: str, question: str) -> list[str]:
    """The items of ``series`` the question names whole. The pattern takes the first item with
    the words before it and the last with the words after it (“通过举办威高杯”, “生物医药产业实现
    产值”): of the first, its longest ending of whole words that the question names counts; of
    the last, its beginning up to a function word or numeral, or up to a verb (“生物医药研发外包”
    is not 生物医药)."""
    whole = series.split("、")
    items = list(whole)
    words = [word for word, _ in tagged(items[0])]
    endings = ("".join(words[k:]) for k in range(len(words)))
    items[0] = next((ending for ending in endings if ending in question), "")
    last = tagged(items[-1])
    end = next((i for i, (w, f) in enumerate(last) if f == "p" or _AFTER_LAST.match(w)), len(last))
    last = last[:end]
    beginnings = (
        "".join(word for word, _ in last[:k])
        for k in range(len(last), 0, -1)
        if k == len(last) or (last[k][1].startswith("v") and last[k][1] != "vn")
    )
    items[-1] = next((beginning for beginning in beginnings if beginning in question), "")
    # a part of an edge item counts from three characters (not 产业 of 重点发展集成电路产业)
    edges = {0, len(items) - 1}
    return [
        item
        for i, item in enumerate(items)
        if len(item) >= (_EDGE_CHARACTERS if i in edges and item != whole[i] else 2) and item in question
    ]
