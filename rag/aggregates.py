"""A figure given for several things together does not answer for one of them: asked for the
output of 襄阳高新区's 新能源汽车产业 alone, “以高端装备制造、电子信息、新能源汽车、生物医药……为支柱
的六大战略性新兴产业……实现产值179.9亿元” gives the six industries' sum.

An item of a series (three items or more, joined by 、) that the question names, and the
sentence names nowhere else, is pooled, unless the sentence gives each item its own figure (分别,
各自, 依次, or figures within the items) or the question names two items of the series (it asks about them together).
"""

from __future__ import annotations

import re

from rag.text import normalize_for_match, to_simplified

# Three items or more, joined by 、 (an item: up to 12 characters without punctuation).
_SERIES = re.compile(r"(?:[\u3400-\u9fffA-Za-z\d]{1,12}、){2,}[\u3400-\u9fffA-Za-z\d]{1,12}")
_FIGURE = re.compile(r"\d")
_EACH = re.compile(r"分别|各自|各为|各占|依次")
# How much of a series' first or last item the question must share to name it.
_EDGE_CHARACTERS = 3


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
    """The items of ``series`` the question names: a whole item, or three characters or more of
    the end of the first item and of the start of the last (the pattern takes them with the words
    around)."""
    items = series.split("、")
    named = []
    for i, item in enumerate(items):
        edge = [item[-size:] for size in range(len(item), 0, -1)] if i == 0 else []
        edge += [item[:size] for size in range(len(item), 0, -1)] if i == len(items) - 1 else []
        shared = next((part for part in [item, *edge] if part in question), "")
        if shared == item or len(shared) >= _EDGE_CHARACTERS:
            named.append(shared)
    return named
