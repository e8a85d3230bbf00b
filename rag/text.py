"""Text normalisation shared by the keyword index, retrieval, answering and evaluation."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from rag.lexicon import jieba

_QUOTES = "“”‘’\"'‚‛「」『』"
_STRIP_FOR_MATCH = re.compile(f"[\\s\u3000{re.escape(_QUOTES)}]+")
_WORD = re.compile(r"[\w\u3400-\u9fff%％.]+")
_CJK_WORD = re.compile(r"[\u3400-\u9fff]+")
_CHINESE = re.compile(r"[\u3400-\u9fff，。！？；：、“”‘’（）《》〈〉【】〔〕「」『』…—]")
_HALF_WIDTH_MARK = re.compile(r"[,;:]")
_HALF_WIDTH_PAIR = re.compile(r"\(([^()]*)\)")
_FULL_WIDTH = {",": "，", ";": "；", ":": "："}
_CN_DIGIT = {ch: n for n, ch in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
# A document's name in title marks, and the span of years it covers (《……规划（2021-2025年）》).
_TITLE = re.compile(r"《[^《》]*》")
_YEAR_SPAN = re.compile(r"(?:19|20)\d{2}\s*[-－—–~～至到]\s*(?:19|20)?\d{2}\s*年?[度版]?")
_DESIGNATOR = re.compile(r"第([〇零一二三四五六七八九十百千两\d]{1,7})(编|章|节|条|款|项)")
# Function words that carry no topic; questions are full of them.
STOPWORDS = frozenset(
    "的 了 和 与 及 或 在 是 为 对 于 把 被 将 从 向 也 都 而 并 等 中 上 下 这 那 其 之 以 由 有 就 个 "
    "吗 呢 吧 啊 么 什么 哪些 哪个 哪 怎么 怎样 如何 多少 多大 几 谁 何 是否 为什么 分别 主要 方面 "
    "哪里 有没有 是不是 有何 通过 关于 进行 一个 一些 可以 我们 他们 它们 提出 采取 做法 "
    "what which who how is are the of in on for to a an and or by with does did do was were".split()
)


@lru_cache(maxsize=1)
def _t2s() -> object:
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _changed_by_t2s() -> frozenset[str]:
    """The characters opencc's t2s dictionaries replace: those of an entry that differ from its
    conversion (all of them when the lengths differ). An entry matches only text holding all of
    its characters, so text with none of these is returned unchanged by the conversion; most
    text then never needs it (it is pure Python, and slow)."""
    import opencc

    dictionaries = Path(opencc.__file__).parent / "dictionary"
    chars: set[str] = set()
    for name in ("TSPhrases.txt", "TSCharacters.txt"):  # the t2s config's conversion chain
        for line in (dictionaries / name).read_text(encoding="utf-8").splitlines():
            key, _, values = line.strip().partition("\t")
            value = values.split(" ")[0]  # opencc takes the first of several
            if len(value) != len(key):
                chars.update(key)
            else:
                chars.update(k for k, v in zip(key, value, strict=True) if k != v)
    return frozenset(chars)


def without_title_spans(text: str) -> str:
    """``text`` without the spans of years the documents it names cover: 2021－2025 in
    《……行动计划（2021－2025年）》 and 2020－2021 in 《……报告（2020－2021年版）》 name the document,
    not when what the sentence states happened. A single year (《2023年政府工作报告》) still does."""
    return _TITLE.sub(lambda title: _YEAR_SPAN.sub("", title[0]), text)


def without_titles(text: str) -> str:
    """``text`` without the names of documents it quotes in 《》."""
    return _TITLE.sub("", text)


def to_simplified(text: str) -> str:
    """Traditional → Simplified Chinese (a no-op on Simplified text)."""
    if _changed_by_t2s().isdisjoint(text):
        return text
    if "\n" in text:  # a separator opencc never converts across: only the lines that need it
        return "\n".join(to_simplified(line) for line in text.split("\n"))
    return str(_t2s().convert(text))  # type: ignore[attr-defined]


def normalize_for_match(text: str) -> str:
    """Eval normalisation: drop all whitespace and quote marks (see shared/eval/README.md)."""
    return _STRIP_FOR_MATCH.sub("", text)


def document_tokens(text: str) -> list[str]:
    """Keyword tokens of a passage, in Simplified script like the questions' (a briefing written
    in Traditional characters meets a question in either), plus the toneless pinyin of its
    Chinese words, so that an English question naming 长春 or 良渚 (Changchun, Liangzhu) meets
    the passage on BM25."""
    tokens = tokenize(to_simplified(text))
    return tokens + [_pinyin(t) for t in tokens if 2 <= len(t) <= 4 and _CJK_WORD.fullmatch(t)]


def query_tokens(text: str) -> list[str]:
    """Keyword tokens of a question; adjacent capitalised English words are also joined, so
    “Wang Yifang” meets the pinyin of 王贻芳."""
    names = re.findall(r"\b[A-Z][a-z]+(?=\s+[A-Z][a-z]+\b)\s+[A-Z][a-z]+", text)
    return tokenize(text) + [re.sub(r"\s+", "", name).lower() for name in names]


@lru_cache(maxsize=65536)
def _pinyin(word: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(word))


def pinyin_of(text: str) -> str:
    """``text`` with its Chinese characters spelt in toneless pinyin, run together and
    lower-cased (ü as u, the way English writes it): “成都市” → “chengdushi”."""
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(text, v_to_u=True)).replace("ü", "u").lower()


def tokenize(text: str) -> list[str]:
    """Keyword tokens: jieba search-mode words, lower-cased, without punctuation and stopwords.
    A numbered division of a text (第十条, 第三章, 第2款) is one token with its number in digits
    (第10条): jieba's pieces of 第七十条 include 十条, which would make it match 第十条."""
    text = text.lower()
    tokens: list[str] = []
    done = 0
    for match in _DESIGNATOR.finditer(text):
        number = chinese_to_int(match.group(1))
        if number is None:
            continue
        tokens.extend(_words(text[done : match.start()]))
        tokens.append(f"第{number}{match.group(2)}")
        done = match.end()
    tokens.extend(_words(text[done:]))
    return tokens


def _words(text: str) -> list[str]:
    tokens = []
    for token in jieba.cut_for_search(text):
        token = token.strip()
        if token and _WORD.fullmatch(token) and token not in STOPWORDS:
            tokens.append(token)
    return tokens


def chinese_to_int(numeral: str) -> int | None:
    """“七十” → 70, “一百零五” → 105, “十二” → 12, “2” → 2; None for what is not a number."""
    if numeral.isdigit():
        return int(numeral)
    total = section = 0
    digit: int | None = None
    for ch in numeral:
        if ch in _CN_DIGIT:
            digit = _CN_DIGIT[ch]
        elif ch in _CN_UNIT:
            section += (1 if digit is None else digit) * _CN_UNIT[ch]
            digit = None
        else:
            return None
    total += section + (digit or 0)
    return total or None


def int_to_chinese(number: int) -> str:
    """1–9999 written in Chinese numerals as documents write them: 14 → “十四”, 105 → “一百零五”,
    110 → “一百一十”, 2000 → “二千”; "" outside that range."""
    if not 0 < number < 10_000:
        return ""
    digits = "零一二三四五六七八九"
    out, gap = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = number // value % 10
        if not digit:
            gap = bool(out)
            continue
        out += ("零" if gap else "") + digits[digit] + unit
        gap = False
    return out.removeprefix("一") if 10 <= number < 20 else out


def chinese_punctuation(text: str) -> str:
    """``,`` ``;`` ``:`` next to a Chinese character or punctuation mark become ，；：, and a
    bracket pair with Chinese inside or just before it becomes （）: “2021年以来,无锡” →
    “2021年以来，无锡”. Numbers (1,000; 10:30), English (Hello, world), formulas (f(x)) and
    links ([文件](http://…)) keep theirs."""
    text = _HALF_WIDTH_PAIR.sub(_full_width_pair, text)
    return _HALF_WIDTH_MARK.sub(_full_width_mark, text)


def _is_chinese(char: str) -> bool:
    return bool(_CHINESE.match(char))


def _full_width_mark(match: re.Match[str]) -> str:
    text, at = match.string, match.start()
    left, right = text[:at].rstrip()[-1:], text[at + 1 :].lstrip()[:1]
    chinese = _is_chinese(left) if left else False
    return _FULL_WIDTH[match.group()] if chinese or (right and _is_chinese(right)) else match.group()


def _full_width_pair(match: re.Match[str]) -> str:
    before = match.string[: match.start()].rstrip()[-1:]
    inside = match.group(1)
    return f"（{inside}）" if any(_is_chinese(c) for c in before + inside) else match.group()


def implied_years(text: str, date: str) -> str:
    """The years that “今年/去年/前年/明年” in ``text`` stand for, given the briefing's date
    (“2020-12-24”): “今年 1～11月” in a 2020 briefing speaks of 2020年."""
    year = re.match(r"(?:19|20)\d{2}", date or "")
    if not year:
        return ""
    offsets = {"今年": 0, "本年": 0, "去年": -1, "上年": -1, "前年": -2, "明年": 1}
    return " ".join(f"{int(year.group()) + offsets[word]}年" for word in offsets if word in text)
