"""The enumerations a list answer gathers.

A list answer takes the items that follow a lead-in (“重点做好9项工作。”, “有下列情形之一的：”):
consecutive paragraphs opening with the next marker of one family (一是/二是, （一）/（二）,
一、/二、, 1./2., （1）/（2）, 第一/第二), each represented by its first sentence; when the items
lost their numbers, or some of them (a copy without “（一）（二）”), the paragraphs of one clause
ending with ； after a lead-in ending with a colon, up to the one ending with 。. Another lead-in
ending with a colon between the sentence asked from and the first item (“……呈现出三个特点：”) is
kept with the list (``Enumeration.lead_in``): the list is that sentence's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answerers.candidates import Candidate, is_answer_sentence, join_lines, split_sentences_at
from rag.text import chinese_to_int
from rag.types import Document

_CN_NUMBER = "[一二三四五六七八九十]+"
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


@dataclass(frozen=True)
class Enumeration:
    items: list[tuple[int, int, str]]  # (start, end, sentence) of each item quoted
    total: int  # items in the enumeration (more than quoted when it was cut)
    in_lead: bool = False  # the first item is in the lead-in's own sentence (“……四个方面：第一，……”)
    parent: str = ""  # the heading the items are sections of (``heading_enumeration``)
    # Another lead-in between the sentence asked from and the items (“……呈现出三个特点：”),
    # as (start, end, sentence): the list is that one's.
    lead_in: tuple[int, int, str] | None = None

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
    lead_in = None
    last = -1  # where the last item began
    for index, start, end, sentence in _sentences_after(document, lead):
        paragraph = paragraphs[index]
        marker = item_marker(sentence)
        if (
            marker is not None
            and (family is None or marker[0] == family)
            and marker[1] == expected
            and not _nested(document, paragraph.start, last, start, marker)
        ):
            family, expected, gap, last = marker[0], expected + 1, 0, start
            total += 1
            if len(items) < LIST_ITEMS:
                items.append((start, end, sentence))
            continue
        if (
            family is None
            and lead_in is None
            and not paragraph.heading
            and sentence.rstrip().endswith(("：", ":"))
        ):
            lead_in = (start, end, sentence)
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
        return Enumeration(items, total, first_in_lead, lead_in=lead_in)
    return _clause_enumeration(document, lead)


def _nested(document: Document, paragraph_start: int, last: int, start: int, marker: tuple[str, int]) -> bool:
    """Whether ``marker`` at ``start``, inside its paragraph, goes on a list the last item's body
    leads into (“一是……。我国……主要包括：一是……；二是……”: that 二是 is the nested list's second
    item, not the outer list's; an outer “二是” after the nested 一是、二是、三是 is the outer one)."""
    if last < 0 or not document.text[paragraph_start:start].strip():
        return False
    body = document.text[last:start]
    family, ordinal = marker
    for colon in re.finditer(r"[：:]\s*", body):
        nested = [
            m[1]
            for m in map(item_marker, re.split(r"(?<=[。；;，,：:])", body[colon.end() :]))
            if m and m[0] == family
        ]
        if nested and nested == list(range(1, len(nested) + 1)) and ordinal == len(nested) + 1:
            return True
    return False


def _clause_enumeration(document: Document, lead: Candidate) -> Enumeration | None:
    """The items after a lead-in ending with a colon when they are not numbered, or not all of
    them (a copy that lost “（一）（二）”): paragraphs of one clause ending with ；, the last one
    ending with 。 (“履行下列职责：/研究制定……；/……；/（四）……。”); at least two."""
    if lead.paragraph < 0 or not lead.text.endswith(("：", ":")):
        return None
    items: list[tuple[int, int, str]] = []
    total = 0
    for paragraph in document.paragraphs[lead.paragraph + 1 :]:
        sentences = list(split_sentences_at(document.text, paragraph.start, paragraph.end))
        if (paragraph.heading and not paragraph.inline) or len(sentences) != 1:
            break
        start, end, _raw, text = sentences[0]
        if not text.endswith(("；", ";", "。")):
            break
        total += 1
        if len(items) < LIST_ITEMS:
            items.append((start, end, text))
        if text.endswith("。"):
            return Enumeration(items, total) if total >= 2 else None
    return None  # the clauses never came to the full stop that closes a list


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
        for s, e, _raw, joined in split_sentences_at(document.text, paragraph.start, paragraph.end):
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


def inline_item(
    candidates: Sequence[Candidate], probability: np.ndarray, number: int, allowed: Sequence[bool]
) -> Candidate | None:
    """Item ``number`` of an enumeration inside one paragraph (“一是要……；二是要……；三是要……；
    四是……”): the likeliest of the ``allowed`` sentences that opens with that ordinal and whose
    paragraph also has the item before or after it, in the same family of markers."""
    markers = [item_marker(c.text) if c.complete else None for c in candidates]
    present = {(c.paragraph, c.headings, m) for c, m in zip(candidates, markers, strict=True) if m}

    def sibling(c: Candidate, family: str) -> bool:
        return any((c.paragraph, c.headings, (family, n)) in present for n in (number - 1, number + 1))

    found = [
        i
        for i, (c, m) in enumerate(zip(candidates, markers, strict=True))
        if allowed[i] and m is not None and m[1] == number and c.paragraph >= 0 and sibling(c, m[0])
    ]
    return candidates[max(found, key=lambda i: probability[i])] if found else None


def item_with_body(document: Document, item: tuple[int, int, str], limit: int) -> list[tuple[int, int, str]]:
    """An item (start, end, first sentence) asked for alone, with the sentences that go on with
    it in its paragraph (“七是……。加强对……”, the first sentence a run-in heading or not), up to
    the next item, while they stay answer sentences and all of it within ``limit`` characters;
    an item that is a heading line comes alone."""
    quoted = [item]
    paragraph = next((p for p in document.paragraphs if p.start <= item[0] < p.end), None)
    if paragraph is None or (paragraph.heading and not paragraph.inline):
        return quoted
    length = len(item[2])
    for start, end, raw, sentence in split_sentences_at(document.text, item[1], paragraph.end):
        if length + len(sentence) > limit or not is_answer_sentence(raw) or item_marker(sentence):
            break
        quoted.append((start, end, sentence))
        length += len(sentence)
    return quoted
