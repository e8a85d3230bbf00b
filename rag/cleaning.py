"""Clean text extracted from briefings into paragraphs that remember their source lines.

The briefings come out of PDF extraction with hard wraps every ~30 characters, blank lines
between wrapped lines, page numbers and page breaks inside sentences, stray spaces and the
quote marks ‚ ‛ standing for “ ”. Cleaning repairs that and marks which paragraphs open a
section, so chunking can build the heading tree.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rag.headings import (
    BOLD,
    IS_IDEOGRAPH,
    LABEL,
    MARKDOWN,
    balanced,
    credit_speakers,
    demote_empty_headings,
    detect_heading,
    display_width,
    ends_sentence,
    heading_marker,
    items_in_articles_are_body,
    leaves_open,
)
from rag.types import Anchor, Paragraph

_CJK_PUNCT = "，。！？；：、“”‘’（）《》〈〉【】〔〕「」『』…—·￥％"
# Control characters (NUL, BEL, unit separators, DEL, C1 codes) are extraction debris: they
# become spaces, which then go the way of other stray spaces.
_CONTROLS = {chr(c): " " for c in [*range(0x20), *range(0x7F, 0xA0)]}
# Symbol-font bullets from the PDFs land in the private use area: U+F075 is the title bullet
# (shown as ◆), U+F0D8 the sub-title arrow (➢).
_TRANSLATE = str.maketrans(
    _CONTROLS
    | {"‚": "“", "‛": "”", "\u3000": " ", "\xa0": " ", "\t": " ", "\u200b": "", "\uf075": "◆", "\uf0d8": "➢"}
)
_INNER_PUNCT = set("，。；")
_WRAPPED_CELL = re.compile(r"[，、；“”]")

_IS_CJK_PUNCT = re.compile(f"[{_CJK_PUNCT}]")
_SPACES = re.compile(r" +")
_PAGE_NUMBER = re.compile(r"^[-—–\s]*(第\s*)?\d{1,4}(\s*页)?(\s*/\s*\d{1,4})?[-—–\s]*$")
_WORD_TAIL = re.compile(r"^[^\s，。；！？、]{1,3}[，。；！？、]")
# A byline “（段宝岩，……教授）”, or a subtitle/headline ending in a bracket “——……（三）”.
_BRACKETED_END = re.compile(r"^(?:[（(]|——|[◆◇■●➢➤▶►]).*[）)]$")
# “（来源：人民网）” “（供稿：科技部火炬中心）” “(本文系……)” end a reprinted article.
_ARTICLE_END = re.compile(r"^[（(](来源|供稿|本文系|作者系|稿件来源|摘自|转自|资料来源)")


@dataclass(frozen=True)
class SourceLine:
    """One line of extracted text with its 1-based line number and page (None for text files).

    ``whole`` marks a line that is a whole paragraph (a Word or web-page paragraph, a table
    row): it is never joined to the next line as a hard-wrapped continuation.
    """

    text: str
    line: int
    page: int | None
    whole: bool = False


@dataclass(frozen=True)
class CleanText:
    text: str
    paragraphs: list[Paragraph]
    anchors: list[Anchor]


def normalize_line(text: str) -> str:
    """Fix quote marks, full-width spaces and control characters; drop spaces that PDF
    extraction put next to CJK."""
    text = text.translate(_TRANSLATE).strip()
    if match := MARKDOWN.match(text):
        return f"{match.group(1)} {_SPACES.sub(_keep_space, match.group(2).strip())}"
    return _SPACES.sub(_keep_space, text)


def _keep_space(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    if not text[:start].strip("* ") or not text[end:].strip("* "):
        return ""  # at an end of the line, bold markers aside (“** 标题**”, “标题 * *”)
    left, right = text[start - 1], text[end]
    if _IS_CJK_PUNCT.match(left) or _IS_CJK_PUNCT.match(right):
        return ""
    left_cjk, right_cjk = bool(IS_IDEOGRAPH.match(left)), bool(IS_IDEOGRAPH.match(right))
    # Between two ideographs a space can separate names (joint issuers); keep one.
    return "" if left_cjk != right_cjk else " "


def split_pages(lines: Sequence[SourceLine]) -> list[list[SourceLine]]:
    """Group lines by page (text files without page breaks are one page)."""
    pages: list[list[SourceLine]] = []
    current_page: int | None | str = "start"
    for line in lines:
        if line.page != current_page:
            pages.append([])
            current_page = line.page
        pages[-1].append(line)
    return pages


def _margin_key(text: str) -> str:
    return re.sub(r"\d+", "#", normalize_line(text))


def drop_page_furniture(lines: Sequence[SourceLine]) -> list[SourceLine]:
    """Remove page numbers and running headers/footers repeated across pages."""
    pages = split_pages(lines)
    margins: Counter[str] = Counter()
    for page in pages:
        filled = [line for line in page if line.text.strip()]
        margins.update({_margin_key(line.text) for line in filled[:2] + filled[-2:]})
    repeated = {
        key
        for key, count in margins.items()
        if len(pages) >= 3 and count >= 3 and count >= 0.3 * len(pages) and display_width(key) <= 40
    }
    kept: list[SourceLine] = []
    for page in pages:
        filled_rows = [i for i, line in enumerate(page) if line.text.strip()]
        edge = set(filled_rows[:2] + filled_rows[-2:])
        for i, line in enumerate(page):
            stripped = line.text.strip()
            if not stripped:
                kept.append(line)
                continue
            if _PAGE_NUMBER.match(stripped) and (
                (line.page is not None and i in edge) or _after_page_gap(page, i)
            ):
                continue
            if i in edge and _margin_key(line.text) in repeated:
                continue
            kept.append(line)
    return kept


def _after_page_gap(page: Sequence[SourceLine], index: int) -> bool:
    """A text-file page break shows as two or more blank lines before the page number."""
    blanks = 0
    for line in reversed(page[:index]):
        if line.text.strip():
            break
        blanks += 1
    return blanks >= 2 or index == 0


def _continues(prev: str, nxt: str, width: float, above: str, indented: bool) -> bool:
    """Whether line ``nxt`` is the hard-wrapped continuation of line ``prev`` (``above``: the
    line joined before ``prev``, or ""; ``indented``: whether ``nxt`` starts with a space in the
    extraction, as a new paragraph or a table's header often does)."""
    if heading_marker(nxt) or LABEL.match(nxt) or MARKDOWN.match(prev) or BOLD.match(prev):
        return False
    if display_width(prev) >= 8 and IS_IDEOGRAPH.match(prev[-1]) and _WORD_TAIL.match(nxt):
        return True  # “……博士生双创活” + “动。……”: a word cut by the wrap
    if ends_sentence(prev) or (_BRACKETED_END.match(prev) and balanced(prev)):
        return False  # a sentence, or a byline such as “（段宝岩，……教授）”
    if (
        display_width(nxt) < 8
        and ends_sentence(nxt)
        and IS_IDEOGRAPH.match(nxt)
        and _WRAPPED_CELL.search(prev)
    ):
        # “……等“关键命门”” + “问题。”: two or three characters end the sentence a cell wrapped;
        # a title or a label (“第三部分 工作成效”, “联系电话”) has no 、“” of running text.
        return True
    if display_width(prev) >= 0.8 * width or _fills_column(prev, nxt):
        return True
    # A short line goes on only when it reads like running text; titles carry no ，。；.
    if any(ch in _INNER_PUNCT for ch in prev):
        return True
    # Or when it is as wide as the line of running text above it, wrapped at the same column
    # (“……形成若” + “干家年产值超过10亿元和2－3家年销售收” + “入超过30亿元的……”), and the next
    # line is not indented.
    return (
        not indented
        and any(ch in _INNER_PUNCT for ch in above)
        and abs(display_width(prev) - display_width(above)) <= 0.1 * display_width(above)
    )


def _fills_column(prev: str, nxt: str) -> bool:
    """Whether ``prev`` is a full line of a column narrower than the page (a table cell): as
    wide as the next line, which is running text wrapped there too (“……以及相关零” + “部件等
    产品，对于……场景，”). A title is narrower than the text below it, or followed by a whole
    sentence."""
    wide, next_wide = display_width(prev), display_width(nxt)
    return (
        wide >= 8
        and abs(wide - next_wide) <= 0.1 * max(wide, next_wide)
        and any(ch in _INNER_PUNCT for ch in nxt)
        and not ends_sentence(nxt)
    )


def _join(left: str, right: str) -> str:
    if (
        left
        and right
        and left[-1].isascii()
        and left[-1].isalnum()
        and right[0].isascii()
        and right[0].isalpha()
    ):
        return " "
    return ""


def _typical_width(lines: Sequence[str]) -> float:
    widths = [display_width(text) for text in lines if display_width(text) >= 8]
    return statistics.median(widths) if widths else 30.0


def clean_lines(lines: Sequence[SourceLine]) -> CleanText:
    """Turn extracted lines into cleaned text, paragraphs (with headings) and anchors."""
    kept = [line for line in drop_page_furniture(lines) if line.text.strip()]
    normalized = [normalize_line(line.text) for line in kept]
    width = _typical_width(normalized)
    marks_end = _trailing_space_marks_paragraph_end(kept, normalized)

    groups: list[list[tuple[SourceLine, str]]] = []
    for line, text in zip(kept, normalized, strict=True):
        if not text:
            continue
        if (
            groups
            and not groups[-1][-1][0].whole
            and _continues(
                groups[-1][-1][1],
                text,
                width,
                groups[-1][-2][1] if len(groups[-1]) > 1 else "",
                line.text[:1].isspace(),
            )
            and not (marks_end and _has_trailing_space(groups[-1][-1][0]) and not _leaves_open(groups[-1]))
        ):
            groups[-1].append((line, text))
        else:
            groups.append([(line, text)])

    joined = ["".join(_join_pieces(group)) for group in groups]
    headings = [detect_heading(joined, i) for i in range(len(joined))]
    items_in_articles_are_body(headings)
    demoted_ranks = demote_empty_headings(headings)
    credit_speakers(headings, joined)

    text_parts: list[str] = []
    paragraphs: list[Paragraph] = []
    anchors: list[Anchor] = []
    offset = 0
    for group, heading, paragraph_text in zip(groups, headings, joined, strict=True):
        start = offset
        for piece, (line, _) in zip(_join_pieces(group), group, strict=True):
            piece = piece.replace("**", "")
            anchors.append(Anchor(offset, line.line, line.page))
            text_parts.append(piece)
            offset += len(piece)
        title, rank, inline = heading if heading else (None, demoted_ranks[len(paragraphs)], False)
        ends_article = bool(_ARTICLE_END.match(paragraph_text))
        paragraphs.append(Paragraph(start, offset, title, rank, inline, ends_article))
        text_parts.append("\n")
        offset += 1
    text = "".join(text_parts).rstrip("\n")
    return CleanText(text=text, paragraphs=paragraphs, anchors=anchors)


def _leaves_open(group: Sequence[tuple[SourceLine, str]]) -> bool:
    """A title wrapped inside 《…》 goes on despite a trailing space."""
    return leaves_open("".join(text for _, text in group))


def _has_trailing_space(line: SourceLine) -> bool:
    return line.text != line.text.rstrip()


def _trailing_space_marks_paragraph_end(lines: Sequence[SourceLine], normalized: Sequence[str]) -> bool:
    """Whether this extraction ends paragraphs with a trailing space (most sentence ends carry
    one, while wrapped lines do not); then a trailing space ends a paragraph even when the
    line is as wide as a wrapped one, which separates long titles from their body."""
    sentence_ends = [
        line for line, text in zip(lines, normalized, strict=True) if text and ends_sentence(text)
    ]
    if len(sentence_ends) < 10:
        return False
    return sum(map(_has_trailing_space, sentence_ends)) >= 0.5 * len(sentence_ends)


def _join_pieces(group: Sequence[tuple[SourceLine, str]]) -> list[str]:
    pieces = [group[0][1]]
    for _, text in group[1:]:
        pieces.append(_join(pieces[-1], text) + text)
    return pieces
