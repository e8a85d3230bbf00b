"""The sentences an extractive answer may quote, and the enumerations a list answer gathers.

An answer sentence must read as a sentence on its own, wherever the passage was cut:

- it is a **whole sentence of the document**: a sentence the chunk boundary cut is completed
  from the briefing's cleaned text, and a line wrap inside it is joined (“产业链核\\n心技术” →
  “产业链核心技术”);
- it **ends with 。！？；**, or with a colon that leads into a list (a heading, a table cell or a
  line without an end is not a sentence);
- it has **at least eight characters and a verb** (jieba's ``v*`` tags): “2023年4”, document
  numbers “规〔2023〕4号）” and addresses are not statements;
- it is **not a parenthetical** such as a byline “（供稿：长春高新区）”;
- it is **not a run of table cells**: text broken into several short lines.

A list answer takes the items that follow a lead-in (“重点做好9项工作。”, “有下列情形之一的：”):
consecutive paragraphs opening with the next marker of one family (一是/二是, （一）/（二）,
一、/二、, 1./2., （1）/（2）, 第一/第二), each represented by its first sentence.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rag.chunking import section_blocks
from rag.lexicon import posseg
from rag.sentences import CLOSERS, SENTENCE_END, TERMINAL, content_length, sentence_spans
from rag.text import chinese_to_int, to_simplified
from rag.types import Chunk, Document

_CN_NUMBER = "[一二三四五六七八九十]+"
_CJK_BREAK = re.compile(
    r"(?<=[\u3400-\u9fff，。、；：“”（）《》])\n(?=[\u3400-\u9fff，。、；：“”（）《》\d])"
)
MIN_SENTENCE_CHARS = 8
_CELL_CHARS = 12  # a line shorter than this, in a run of them, is a table cell
_BULLETS = tuple("◆◇●○■□▲△▶►•·★☆")
# A field's label at the start of a line: two to four characters, maybe spaced out (“简 介”), and a colon.
_FIELD_LABEL = re.compile(r"\s*(?:[\u3400-\u9fff]\s*){2,4}[：:]")
# Item markers of an enumeration, by family; group 1 is the ordinal.
_ITEM_FAMILIES = (
    ("是", re.compile(rf"({_CN_NUMBER})是")),
    ("（一）", re.compile(rf"[（(]({_CN_NUMBER})[)）]")),
    ("一、", re.compile(rf"({_CN_NUMBER})、")),
    ("（1）", re.compile(r"[（(](\d{1,2})[)）]")),
    ("1.", re.compile(r"(\d{1,2})(?:[.．、](?!\d)|\s)")),
    (
        "第一",
        re.compile(rf"第({_CN_NUMBER})(?:[，,、是]|(?=[\u3400-\u9fff]{{2}}))(?!条|章|节|款|项|批|期|届)"),
    ),
)
LIST_ITEMS = 12  # the most items a list answer quotes; longer enumerations are cut with a note
_ITEM_GAP = 8  # sentences an item's body may have before the next item
_BYLINE_REACH = 12  # paragraphs an article may run on before the byline that closes it


@dataclass(frozen=True)
class Candidate:
    """A sentence a passage offers as an answer: ``start``/``end`` are offsets in its document's
    cleaned text (in the chunk's text when the document is not at hand)."""

    text: str
    passage: int  # 1-based passage number
    start: int
    end: int
    paragraph: int  # index in the document's paragraphs, -1 without the document
    context: str  # the passage's title and section headings, simplified and lower-cased
    complete: bool  # passes the sentence test of the module docstring
    # The sentence's own section headings (a passage may span sections; without the title,
    # whose year in “火炬动态 2022年第6期” dates the issue), simplified.
    headings: str = ""
    # Its headings, its section up to its paragraph and the byline closing the paragraph's
    # article (as written): where its places and people are named.
    scope: str = ""


def passage_sentences(number: int, chunk: Chunk, document: Document | None) -> list[Candidate]:
    """The sentences of passage ``number`` (from its document when given, so none is cut)."""
    context = to_simplified(f"{chunk.title}\n{chunk.section_path}").lower()
    if document is None or document.text[chunk.char_start : chunk.char_end] != chunk.text:
        headings = to_simplified(chunk.section_path)
        scope = f"{headings}\n{chunk.text}"
        return [
            Candidate(joined, number, s, e, -1, context, is_answer_sentence(raw), headings, scope)
            for s, e, raw, joined in _split(chunk.text, 0, len(chunk.text))
        ]
    blocks = section_blocks(document)
    block_starts = [block.start for block in blocks]
    out = []
    first = max(bisect.bisect_right(document.paragraphs, chunk.char_start, key=lambda p: p.start) - 1, 0)
    for index in range(first, len(document.paragraphs)):
        paragraph = document.paragraphs[index]
        if paragraph.start >= chunk.char_end:
            break
        if paragraph.heading and not paragraph.inline:
            continue
        continues = _continues_previous(document, index)
        block = blocks[max(bisect.bisect_right(block_starts, paragraph.start) - 1, 0)] if blocks else None
        headings = to_simplified(" › ".join(block.section)) if block else ""
        opening = block.start if block and block.start <= paragraph.start else paragraph.start
        byline = _byline_after(document, index, block.end if block else paragraph.end)
        # One string for the paragraph's sentences.
        scope = f"{headings}\n{document.text[opening : paragraph.end]}\n{byline}"
        for s, e, raw, joined in _split(document.text, paragraph.start, paragraph.end):
            complete = is_answer_sentence(raw) and not (continues and s == paragraph.start)
            # A sentence belongs to the passage when most of it lies inside the chunk.
            if min(e, chunk.char_end) - max(s, chunk.char_start) >= (e - s) / 2:
                out.append(Candidate(joined, number, s, e, index, context, complete, headings, scope))
    return out


def _byline_after(document: Document, index: int, section_end: int) -> str:
    """The byline that closes paragraph ``index``'s article in its section (“（杨华勇，中国工程院
    院士）” after an expert's paragraphs), or ""."""
    for following in document.paragraphs[index + 1 : index + 1 + _BYLINE_REACH]:
        if following.start >= section_end or following.heading:
            break
        text = document.text[following.start : following.end]
        if is_parenthetical(text):
            return text
    return ""


def document_sentences(document: Document, chunks: Sequence[Chunk]) -> list[str]:
    """The distinct sentences the chunks of ``document`` offer an answer, in order: what
    indexing embeds ahead of the questions (``rag.sentence_vectors``)."""
    texts = (c.text for chunk in chunks for c in passage_sentences(0, chunk, document))
    return list(dict.fromkeys(texts))


def _continues_previous(document: Document, index: int) -> bool:
    """Whether paragraph ``index`` goes on with a sentence the previous body paragraph left
    open (a break the cleaner kept inside a sentence, such as a table row)."""
    if index == 0:
        return False
    previous = document.paragraphs[index - 1]
    text = document.text[previous.start : previous.end].rstrip()
    here = document.paragraphs[index]
    return (
        previous.heading is None
        and previous.rank is None  # a contents line or one-line item demoted from a heading is closed
        and content_length(text) >= MIN_SENTENCE_CHARS  # so is a name on its own line (“樊杰”)
        and not re.search(rf"[{TERMINAL}：:…][{re.escape(CLOSERS)}]*$", text)
        and not is_parenthetical(text)  # a byline “（杨华勇，中国工程院院士）” is closed
        and not text.lstrip().startswith(_BULLETS)  # so is a bulleted title “◆ 广东“工业母机”突围记”
        and not _in_cell_column(document, index - 1)  # and a table cell “佛山市发改局印/发《……》”
        # A field (“发布时间：2021年8月2日” / “简介：《意见》提出……”) is closed, and one opens anew.
        and not _FIELD_LABEL.match(text)
        and not _FIELD_LABEL.match(document.text[here.start : here.end])
    )


def _looks_like_cells(text: str) -> bool:
    """Table cells, one per line: three lines or more, under 12 characters on average."""
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) >= 3 and sum(map(len, lines)) / len(lines) < _CELL_CHARS


def _in_cell_column(document: Document, index: int) -> bool:
    """Whether paragraph ``index`` and the one before it are both short lines (under 12
    characters): a table column laid out one cell line per paragraph."""
    if index < 1:
        return False
    lines = [document.text[p.start : p.end].strip() for p in document.paragraphs[index - 1 : index + 1]]
    return all(0 < len(line) < _CELL_CHARS for line in lines)


def is_parenthetical(text: str) -> bool:
    """Whether ``text`` is one parenthesis, nested ones allowed: “（郭万达，（深圳）综合开发研究院常务副院长）”."""
    body = text.strip().rstrip("。；;.")
    depth = 0
    for i, char in enumerate(body):
        depth += (char in "（(") - (char in "）)")
        if depth <= 0:
            return i == len(body) - 1 and i > 0
    return False


def is_answer_sentence(raw: str) -> bool:
    """The sentence test of the module docstring, on the text as the document has it."""
    text = raw.strip()
    if _looks_like_cells(text):
        return False
    flat = join_lines(text)
    if content_length(flat) < MIN_SENTENCE_CHARS or not SENTENCE_END.search(flat):
        return False
    if is_parenthetical(flat):
        return False
    return has_verb(flat)


@lru_cache(maxsize=4096)
def has_verb(text: str) -> bool:
    """A jieba ``v*`` token, the copula 为 before a number (“国产化率分别为59.55%”, which
    jieba tags as the preposition), or 在 after a noun, where it is the predicate (“49个布局在
    南沙”, “总部在深圳”)."""
    tokens = list(posseg.cut(text))
    return any(
        flag.startswith("v")
        or (word == "为" and i + 1 < len(tokens) and tokens[i + 1].flag == "m")
        or (word == "在" and i > 0 and tokens[i - 1].flag.startswith("n"))
        for i, (word, flag) in enumerate(tokens)
    )


def join_lines(text: str) -> str:
    """A sentence with its line wraps joined: none between Chinese characters, a space elsewhere."""
    return re.sub(r"\s*\n\s*", " ", _CJK_BREAK.sub("", text.strip()))


def _split(text: str, start: int, end: int) -> Iterator[tuple[int, int, str, str]]:
    """(start, end, raw, joined) of each sentence in ``text[start:end]``."""
    for span_start, span_end in sentence_spans(text, start, end, line_breaks=False):
        raw = text[span_start:span_end]
        if not raw.strip():
            continue
        s = span_start + len(raw) - len(raw.lstrip())
        e = span_start + len(raw.rstrip())
        yield s, e, text[s:e], join_lines(text[s:e])


@dataclass(frozen=True)
class Enumeration:
    items: list[tuple[int, int, str]]  # (start, end, sentence) of each item quoted
    total: int  # items in the enumeration (more than quoted when it was cut)
    in_lead: bool = False  # the first item is in the lead-in's own sentence (“……四个方面：第一，……”)
    parent: str = ""  # the heading the items are sections of (``heading_enumeration``)

    @property
    def count(self) -> int:
        """How many items the enumeration has, the lead-in's own included."""
        return self.total + self.in_lead


def item_marker(text: str) -> tuple[str, int] | None:
    """(family, ordinal) when ``text`` opens with an enumeration marker: “二是…” → ("是", 2)."""
    head = text.lstrip()
    for family, pattern in _ITEM_FAMILIES:
        match = pattern.match(head)
        if match:
            return family, chinese_to_int(match.group(1)) or 0
    return None


def enumeration_after(document: Document, lead: Candidate) -> Enumeration | None:
    """The items following the lead-in sentence ``lead`` in its document (see the module docstring)."""
    if lead.paragraph < 0:
        return None
    paragraphs = document.paragraphs
    # “……四个方面：第一，……。” opens the list in the lead-in's own sentence.
    opened = re.search(r"[：:]\s*(\S.*)", lead.text)
    first = item_marker(opened.group(1)) if opened else None
    first_in_lead = bool(first and first[1] == 1)
    family: str | None = first[0] if first and first_in_lead else None
    expected = 2 if first_in_lead else 1
    items: list[tuple[int, int, str]] = []
    total = 0
    gap = 0
    for index, start, end, sentence in _sentences_after(document, lead):
        paragraph = paragraphs[index]
        marker = item_marker(sentence)
        if marker is not None and (family is None or marker[0] == family) and marker[1] == expected:
            family, expected, gap = marker[0], expected + 1, 0
            total += 1
            if len(items) < LIST_ITEMS:
                items.append((start, end, sentence))
            continue
        gap += 1
        # Outside the list: a heading that is not an item, or too long since the last item.
        if (
            family is None
            and gap > 2
            or gap > _ITEM_GAP
            or (paragraph.heading and not paragraph.inline and marker is None)
        ):
            break
    if total >= (1 if first_in_lead else 2):
        return Enumeration(items, total, first_in_lead)
    return _clause_enumeration(document, lead)


def _clause_enumeration(document: Document, lead: Candidate) -> Enumeration | None:
    """The items after a lead-in ending with a colon when they are not numbered, or not all of
    them (a copy that lost “（一）（二）”): paragraphs of one clause ending with ；, the last one
    ending with 。 (“履行下列职责：/研究制定……；/……；/（四）……。”); at least two."""
    if lead.paragraph < 0 or not lead.text.endswith(("：", ":")):
        return None
    items: list[tuple[int, int, str]] = []
    total = 0
    for paragraph in document.paragraphs[lead.paragraph + 1 :]:
        sentences = list(_split(document.text, paragraph.start, paragraph.end))
        if (paragraph.heading and not paragraph.inline) or len(sentences) != 1:
            break
        start, end, _raw, text = sentences[0]
        if not text.endswith(("；", ";", "。")):
            break
        total += 1
        if len(items) < LIST_ITEMS:
            items.append((start, end, text))
        if text.endswith("。"):
            break
    return Enumeration(items, total) if total >= 2 else None


def _bare_marker(text: str) -> bool:
    """Whether ``text`` is an item marker alone (“（二）” on a line of its own, as PDFs lay out)."""
    head = text.strip()
    for _family, pattern in _ITEM_FAMILIES:
        match = pattern.match(head)
        if match and not head[match.end() :].strip(" ，,、.．"):
            return True
    return False


def _sentences_after(document: Document, lead: Candidate) -> Iterator[tuple[int, int, int, str]]:
    """(paragraph index, start, end, sentence) of every sentence after ``lead``; a heading
    paragraph comes whole, and a marker alone on its line comes with the sentence after it."""
    held: tuple[int, int, int, str] | None = None
    for index, start, end, sentence in _document_sentences_after(document, lead):
        if held is not None:
            yield held[0], held[1], end, held[3] + sentence
            held = None
        elif _bare_marker(sentence):
            held = (index, start, end, sentence)
        else:
            yield index, start, end, sentence
    if held is not None:
        yield held


def _document_sentences_after(document: Document, lead: Candidate) -> Iterator[tuple[int, int, int, str]]:
    for index in range(lead.paragraph, len(document.paragraphs)):
        paragraph = document.paragraphs[index]
        if paragraph.heading and not paragraph.inline:
            yield (
                index,
                paragraph.start,
                paragraph.end,
                join_lines(document.text[paragraph.start : paragraph.end]),
            )
            continue
        for s, e, _raw, joined in _split(document.text, paragraph.start, paragraph.end):
            if s >= lead.end:
                yield index, s, e, joined


def enumeration_around(document: Document, item: Candidate) -> tuple[int, Enumeration] | None:
    """When ``item`` is in an item of an enumeration, the lead-in's paragraph and the whole
    enumeration (“四是…” found first still answers with 一是…九是)."""
    paragraphs = document.paragraphs
    if item.paragraph < 0 or item.start > paragraphs[item.paragraph].start + 1:
        return None  # a sentence inside an item's body answers for itself
    marker = item_marker(document.text[paragraphs[item.paragraph].start : paragraphs[item.paragraph].end])
    if marker is None:
        return None
    family, position = marker
    index = item.paragraph
    for index in range(item.paragraph, max(item.paragraph - position * 4 - 1, -1), -1):
        found = item_marker(document.text[paragraphs[index].start : paragraphs[index].end])
        if found == (family, 1):
            break
    else:
        return None
    lead = index - 1
    if lead < 0:
        return None
    stub = Candidate("", 0, paragraphs[lead].start, paragraphs[lead].end, lead, "", False)
    enumeration = enumeration_after(document, stub)
    return (lead, enumeration) if enumeration else None


def heading_enumeration(document: Document, item: Candidate) -> Enumeration | None:
    """The numbered headings (“一是……”, “（二）……”) among which ``item``'s own section is one,
    under their common parent heading: a list whose items are sections (“未来产业发展趋势的三个
    判断” › 一是… 二是… 三是…)."""
    paragraphs = document.paragraphs
    own = next((i for i in range(item.paragraph, -1, -1) if paragraphs[i].heading), None)
    if item.paragraph < 0 or own is None:
        return None
    rank, marker = paragraphs[own].rank, item_marker(paragraphs[own].heading or "")
    if rank is None or marker is None:
        return None
    headings = [
        (i, p) for i, p in enumerate(paragraphs) if p.heading and p.rank is not None and p.rank <= rank
    ]
    first = next(n for n, (i, _) in enumerate(headings) if i == own)
    while first > 0 and headings[first - 1][1].rank == rank:
        first -= 1
    parent = headings[first - 1][1].heading or "" if first > 0 else ""
    items: list[tuple[int, int, str]] = []
    for _, paragraph in headings[first:]:
        if paragraph.rank != rank or item_marker(paragraph.heading or "") != (marker[0], len(items) + 1):
            if items:
                break
            continue
        items.append((paragraph.start, paragraph.end, paragraph.heading or ""))
    if len(items) < 2 or all(start != paragraphs[own].start for start, _, _ in items):
        return None
    return Enumeration(items[:LIST_ITEMS], len(items), parent=parent)
