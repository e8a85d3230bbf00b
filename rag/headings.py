"""Which paragraphs open a section, and at what depth of the heading tree.

Heading families and their rank (lower = closer to the root): Markdown ``#`` (0–3), the legal
hierarchy 第N编/章/节 (1–3) with 第N条 articles (5, inline: the article's text follows its
number), 【…】 brackets (3), ◆ headlines, **bold** and short title lines (4), ➢ subtitles (5),
then numbered items 一、（一）1. 1.1 1.1.1（1）一是 (6–12). Items inside an article are its body text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

IDEOGRAPH = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
IS_IDEOGRAPH = re.compile(f"[{IDEOGRAPH}]")
_TERMINAL = set("。！？；：…!?;:")
CLOSERS = "”’）)》」』】〕*"
_BRACKET_PAIRS = ("《》", "（）", "“”", "【】", "〔〕")
_SPEAKER = re.compile(f"[{IDEOGRAPH}]{{2,4}}")
LABEL = re.compile(f"^[{IDEOGRAPH}]{{2,6}}[：:]")

MARKDOWN = re.compile(r"^(#{1,6})\s+(.+)$")
BOLD = re.compile(r"^\*\*([^*]+)\*\*$")
_BRACKET = re.compile(r"^【([^】]{1,12})】\s*(.*)$")
_DIAMOND = re.compile(r"^[◆◇■●]\s*(.+)$")
_ARROW = re.compile(r"^[➢➤▶►]\s*(.+)$")
_CN_DIGITS = "〇零一二三四五六七八九十百千两"
# “第一章　总则”, “第三节 成果转化”, “第二编”: a division of a law, a heading of its own.
_DIVISION = re.compile(rf"^第[{_CN_DIGITS}\d]{{1,6}}(分编|编|章|节)(?:\s+\S.*)?$")
_DIVISION_RANK = {"编": 1, "分编": 1, "章": 2, "节": 3}
# “第十二条　……”: an article, whose number heads the text that follows it.
ARTICLE_LABEL = re.compile(rf"第[{_CN_DIGITS}\d]{{1,6}}条(?:之[一二三四五六七八九十]{{1,3}})?")
ARTICLE = re.compile(rf"^({ARTICLE_LABEL.pattern})\s+\S")
RANK_ARTICLE = 5
_UNITS = "%％‰亿万千百十元倍个项家名人次年月日天号米克吨"
_NUMBERED = (
    (re.compile(r"^[一二三四五六七八九十]{1,3}、"), 6),
    (re.compile(r"^[（(][一二三四五六七八九十]{1,3}[）)]"), 7),
    (re.compile(r"^\d{1,2}[.．、](?!\d)"), 8),
    # Decimal outline numbers, 1.1 then 1.1.1, before a word; a number before a unit or a
    # measure word is an amount (1.5亿元, 2.3%). As headings they are never inline.
    (re.compile(rf"^\d{{1,2}}\.\d{{1,2}}\s*(?![\d.{_UNITS}])\S"), 9),
    (re.compile(rf"^\d{{1,2}}\.\d{{1,2}}\.\d{{1,2}}\s*(?![\d.{_UNITS}])\S"), 10),
    (re.compile(r"^[（(]\d{1,2}[）)]"), 11),
    (re.compile(r"^[一二三四五六七八九十]{1,3}是"), 12),
)
RANK_BRACKET = 3
RANK_TOPIC = 4  # ◆ headlines, **bold** lines and short title lines
RANK_SUBTOPIC = 5  # ➢ titles nested under a ◆ title
_MAX_PURE_HEADING = 60
_MAX_INLINE_TITLE = 40
_MAX_DIVISION = 30
_DECIMAL_OUTLINE_RANKS = (9, 10)

Heading = tuple[str, int, bool]  # (title, rank, inline)


def display_width(text: str) -> float:
    """Width in CJK cells: ideographs and full-width marks count 1, ASCII counts 0.5."""
    return sum(1.0 if ord(ch) > 0x2E80 else 0.5 for ch in text)


def ends_sentence(text: str) -> bool:
    core = text.rstrip(CLOSERS + " ")
    return not core or core[-1] in _TERMINAL


def balanced(text: str) -> bool:
    return all(text.count(pair[0]) == text.count(pair[1]) for pair in _BRACKET_PAIRS)


def leaves_open(text: str) -> bool:
    """Whether ``text`` opens a 《 or a bracket it does not close: what follows goes on with it."""
    opened = text.count("《") > text.count("》")
    return opened or text.count("（") + text.count("(") > text.count("）") + text.count(")")


def _division_rank(text: str) -> int | None:
    match = _DIVISION.match(text)
    if match and len(text) <= _MAX_DIVISION and "。" not in text:
        return _DIVISION_RANK[match.group(1)]
    return None


def heading_marker(text: str) -> bool:
    return bool(
        MARKDOWN.match(text)
        or _BRACKET.match(text)
        or _DIAMOND.match(text)
        or _ARROW.match(text)
        or BOLD.match(text)
        or any(pattern.match(text) for pattern, _ in _NUMBERED)
        or _DIVISION.match(text)
        or ARTICLE.match(text)
    )


def _first_clause(text: str) -> str:
    match = re.search(r"[。！？；：:]", text)
    clause = text[: match.start()] if match else text
    if len(clause) > _MAX_INLINE_TITLE:
        clause = clause[:_MAX_INLINE_TITLE] + "…"
    return clause


def _strip_final_stop(text: str) -> str:
    return text.rstrip("。；;：: ")


def classify_heading(text: str) -> Heading | None:
    """(title, rank, inline) when the paragraph opens a section by an explicit marker."""
    if match := MARKDOWN.match(text):
        return _markdown_heading(match)
    if (rank := _division_rank(text)) is not None:
        return text, rank, False
    if match := ARTICLE.match(text):
        return match.group(1), RANK_ARTICLE, True
    if match := BOLD.match(text):
        return match.group(1).strip(), RANK_TOPIC, False
    if match := _BRACKET.match(text):
        return _bracket_heading(match)
    return _symbol_heading(text) or _numbered_heading(text)


def _markdown_heading(match: re.Match[str]) -> Heading:
    title = match.group(2).strip(" #*")
    # “## 二、…” after “#### 一、…”: the numbering is more reliable than the # count.
    numbered = _division_rank(title) or next(
        (rank for pattern, rank in _NUMBERED if pattern.match(title)), None
    )
    return title, numbered or min(len(match.group(1)) - 1, 3), False


def _bracket_heading(match: re.Match[str]) -> Heading:
    """【标签】 alone, with a short title after it, or opening a paragraph (inline)."""
    label, rest = f"【{match.group(1)}】", match.group(2).strip()
    if not rest:
        return label, RANK_BRACKET, False
    if len(rest) <= 30 and "。" not in rest:
        return f"{label} {rest}", RANK_BRACKET, False
    return label, RANK_BRACKET, True


def _symbol_heading(text: str) -> Heading | None:
    """A ◆ topic or ➢ subtopic: the whole line when short, else its first clause (inline)."""
    for pattern, rank in ((_DIAMOND, RANK_TOPIC), (_ARROW, RANK_SUBTOPIC)):
        if match := pattern.match(text):
            body = match.group(1).strip()
            if len(body) <= _MAX_PURE_HEADING and not re.search(r"[。！？]", body[:-1]):
                return _strip_final_stop(body), rank, False
            return _first_clause(body), rank, True
    return None


def _numbered_heading(text: str) -> Heading | None:
    """一、 （一） 1. …: the whole line when short, else its first clause (inline); a decimal
    outline number (1.1) opens a section only as a line of its own."""
    for pattern, rank in _NUMBERED:
        if pattern.match(text):
            pure = len(text) <= _MAX_PURE_HEADING and not re.search(r"[。！？；]", text[:-1])
            if pure:
                return _strip_final_stop(text), rank, False
            return None if rank in _DECIMAL_OUTLINE_RANKS else (_first_clause(text), rank, True)
    return None


def looks_like_title(text: str, min_width: float = 8) -> bool:
    """A short standalone line such as “全球集成电路需求旺盛” that heads the text below it."""
    width = display_width(text)
    return (
        min_width <= width <= 40
        and len(IS_IDEOGRAPH.findall(text)) >= 3
        and not any(ch in text for ch in "，。；！？,;")
        and not LABEL.match(text)
        and not text.endswith(("：", ":"))
        and not re.match(r"^[\d（(—\-－“\"•·]", text)
        and balanced(text)
    )


def detect_heading(paragraphs: Sequence[str], index: int) -> Heading | None:
    text = paragraphs[index]
    explicit = classify_heading(text)
    if explicit:
        title, rank, inline = explicit
        title = title.replace("**", "").strip()
        # A marker with no words after it (“➢：”, “## **”) opens no section: it would put an
        # empty title in the heading path.
        return (title, rank, inline) if title else None
    if index > 0 and not _closes_block(paragraphs[index - 1]):
        return None
    # Four-character titles (激发动力) need body text after them and must not follow another
    # title: there a short line is a byline (樊杰, 欧阳宏伟).
    short_ok = (
        index + 1 < len(paragraphs)
        and "。" in paragraphs[index + 1]
        and index > 0
        and not looks_like_title(paragraphs[index - 1])
        and not heading_marker(paragraphs[index - 1])
    )
    if looks_like_title(text, 4 if short_ok else 8):
        tiny = [
            0 <= j < len(paragraphs)
            and display_width(paragraphs[j]) < 9
            and not heading_marker(paragraphs[j])
            for j in (index - 1, index + 1)
        ]
        if not all(tiny):
            return text, RANK_TOPIC, False
    return None


def credit_speakers(headings: list[Heading | None], paragraphs: Sequence[str]) -> None:
    """A name line right under a title (樊杰, 欧阳宏伟) names the speaker or author: add it
    to the title, so every passage of that speech carries the name in its heading path."""
    for i, heading in enumerate(headings[:-1]):
        if heading is not None and not heading[2] and _SPEAKER.fullmatch(paragraphs[i + 1]):
            headings[i] = (f"{heading[0]}（{paragraphs[i + 1]}）", heading[1], heading[2])


def _closes_block(text: str) -> bool:
    """Whether a title may follow: the text before it ended a sentence, a heading or a byline,
    and left no 《 or （ open (“……关于印发《中” goes on in “山市促进制造业龙……”)."""
    if ends_sentence(text):
        return True
    if leaves_open(text):
        return False
    stripped = text.rstrip(" *")
    return (
        stripped.endswith(tuple(CLOSERS))
        or heading_marker(text)
        or display_width(text) < 9
        or looks_like_title(text)
    )


def demote_empty_headings(headings: list[Heading | None]) -> list[int | None]:
    """Headings without text of their own become body text of their parent.

    A heading directly followed by a sibling or higher heading is empty (a table of contents
    line, a one-line list item); the last line of such a run (two or more) is demoted too,
    because the text after it is the start of the body, not its section. Returns, per
    paragraph, the rank of the heading it was demoted from: such a paragraph still closes the
    open sections of its rank, so it lands in its parent rather than under a sibling.
    """
    ranks = [h[1] if h is not None and not h[2] else None for h in headings]
    next_ranks = [h[1] if h is not None else None for h in headings[1:]] + [-1] if headings else []
    empty = [
        rank is not None and next_rank is not None and next_rank <= rank
        for rank, next_rank in zip(ranks, next_ranks, strict=True)
    ]
    demoted: list[int | None] = [None] * len(headings)
    for i in range(len(headings)):
        closes_list = (
            i > 1 and ranks[i] is not None and all(empty[j] and ranks[j] == ranks[i] for j in (i - 1, i - 2))
        )
        if empty[i] or closes_list:
            headings[i] = None
            demoted[i] = ranks[i]
    return demoted


def items_in_articles_are_body(headings: list[Heading | None]) -> None:
    """Numbered items inside an article (“（一）具有高级专业技术职务……”) are the article's text,
    not sections of their own: an article is the smallest unit a citation names."""
    in_article = False
    for i, heading in enumerate(headings):
        if heading is None:
            continue
        title, rank, inline = heading
        if rank == RANK_ARTICLE and inline and ARTICLE_LABEL.fullmatch(title):
            in_article = True
        elif rank <= RANK_ARTICLE:
            in_article = False
        elif in_article:
            headings[i] = None
