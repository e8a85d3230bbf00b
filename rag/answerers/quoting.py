"""What an extractive answer quotes once its best sentence is chosen: the sentence and its likely
neighbours in the same passage (a clause ending in ； runs on to the end of its sentence), or for a
list question or a colon lead-in the enumeration that follows in the briefing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from rag.answerers.candidates import Candidate
from rag.answerers.document_name import with_document_name
from rag.answerers.enumerations import (
    Enumeration,
    enumeration_around,
    heading_enumeration,
    inline_item,
    item_marker,
    item_with_body,
)
from rag.answerers.listed import asked_item, covers, list_after
from rag.config import AnswerSettings
from rag.question import Question
from rag.sentences import place_marker
from rag.text import chinese_punctuation, chinese_to_int, to_simplified
from rag.types import Document, Hit

if TYPE_CHECKING:
    from rag.store import Index

_SOURCE_MARK = re.compile(r"\[(\d+)\]")
# A series of two words or more, listed with 、 and closed by 等: “机械、电子、汽车等行业”.
_SERIES = re.compile(
    r"([\u4e00-\u9fff]{1,6}(?:、[\u4e00-\u9fff]{1,6})+(?:(?:和|与|及)[\u4e00-\u9fff]{1,6})?)等"
)
# A neighbour of the answering sentence joins the answer when it is this likely relative to it.
NEIGHBOUR_SHARE = 0.6
# Openings of a sentence pointing back to the one before it: 这是, 该基金会, 此举, 上述; not the
# times 此前/此后/此次/此时/这期间/这两年, nor 此外.
_POINTS_BACK = re.compile(r"(?:这(?!期间|时|两|几|一时期)|该|此(?!外|前|后|次|时)|上述|以上(?!数据))")
# Openings of a sentence that gives the example or the particulars of the one before it; it
# joins the answer when it passes the threshold.
_ELABORATION = re.compile(r"(?:例如|比如|譬如|诸如|具体(?:来说|而言|地说)?|其中|特别是|尤其是)[，,：:]?")


def select(
    settings: AnswerSettings,
    asked: Question,
    candidates: Sequence[Candidate],
    probability: np.ndarray,
    best: int,
    threshold: float,
    passages: tuple[Hit, ...],
    document: Document | None,
    index: Index | None,
) -> tuple[tuple[Hit, ...], list[tuple[int, str]], str]:
    """The passages (extended when a list runs past them), the (passage, sentence) pairs to
    quote and a note when a list was cut."""
    top = candidates[best]
    if document is not None and index is not None and asked.item_asked:
        item = asked_item(asked, document, top, chinese_to_int(asked.item_asked) or 0)
        if item is not None:
            quoted = []
            for start, _end, sentence in item_with_body(document, item, settings.max_list_chars):
                passages, n = _passage_at(passages, document, start, index)
                quoted.append((n, sentence))
            return passages, quoted, ""
    if asked.item_asked:
        # from the top sentence's document, and likely enough to answer
        document_id = passages[top.passage - 1].chunk.doc_id
        allowed = [
            bool(probability[i] >= threshold) and passages[c.passage - 1].chunk.doc_id == document_id
            for i, c in enumerate(candidates)
        ]
        one = inline_item(candidates, probability, chinese_to_int(asked.item_asked) or 0, allowed)
        if one is not None:
            return passages, [(one.passage, one.text)], ""
    if document is not None and index is not None and (asked.wants_list or top.text.endswith(("：", ":"))):
        found = _enumeration(asked, candidates, top, document)
        if found is not None:
            return _quote_enumeration(settings, *found, passages, document, index)
    if asked.wants_list or top.text.endswith(("：", ":")):
        inline = _inline_items(settings, candidates, top)
        if inline:
            return passages, [(c.passage, c.text) for c in [top, *inline]], ""
    span = _with_named(settings, asked, candidates, _span(settings, candidates, probability, best, threshold))
    span = _with_member(settings, asked, candidates, probability, span)
    return passages, with_document_name(asked, passages, top, [(c.passage, c.text) for c in span]), ""


def _enumeration(
    asked: Question, candidates: Sequence[Candidate], top: Candidate, document: Document
) -> tuple[Candidate, Enumeration] | None:
    """The lead-in to quote and the enumeration that answers a list question (or follows a
    colon lead-in): the one ``top`` leads into, the one it is an item of, or the numbered
    headings among which its section is one (the lead-in is then not quoted). When the
    question says how many (哪三个), the enumeration must have that many items: “四个90%分别
    指什么？” is not answered by the ten headings around “七、构建以‘四个90%’为特点的……”."""

    def fits(listed: Enumeration) -> bool:
        return asked.list_count in (None, listed.count)

    listed = list_after(asked, document, top)
    if listed is not None and fits(listed):
        return top, listed
    if not asked.wants_list:
        return None
    around = enumeration_around(document, top)
    if around is not None and fits(around[1]):
        return _last_sentence(candidates, around[0], top) or top, around[1]
    # Sections answer only a question on what their parent heading says better than the best
    # sentence does: a question on one item's content is answered from it.
    headed = heading_enumeration(document, top)
    if headed is not None and fits(headed) and covers(asked, headed.parent) > covers(asked, top.text):
        return replace(top, text=""), headed
    return None


def _inline_items(
    settings: AnswerSettings, candidates: Sequence[Candidate], top: Candidate
) -> list[Candidate]:
    """The items that follow ``top`` sentence by sentence in its passage (“……三个特点：一是……；
    二是……；三是……。”), numbered on from the item ``top`` opens, up to ``max_list_chars``."""
    following = sorted(
        (c for c in candidates if c.passage == top.passage and c.start > top.start), key=lambda c: c.start
    )
    opened = re.search(r"[：:]\s*(\S)", top.text)
    family, expected = None, 2 if opened and item_marker(top.text[opened.start(1) :]) else 1
    items: list[Candidate] = []
    length = len(top.text)
    for candidate in following:
        marker = item_marker(candidate.text)
        if marker is None or marker[1] != expected or (family and marker[0] != family):
            break
        if length + len(candidate.text) > settings.max_list_chars:
            break
        family, expected = marker[0], expected + 1
        items.append(candidate)
        length += len(candidate.text)
    return items


def _with_named(
    settings: AnswerSettings, asked: Question, candidates: Sequence[Candidate], span: list[Candidate]
) -> list[Candidate]:
    """``span`` and, when the question asks the same of a series of places (“广州、深圳、珠海、
    佛山各有什么定位？”), for each place no quoted sentence speaks of, the first sentence after
    the span's start in its section that does (in its passage or a later one), run on to the
    end of its sentence, up to ``max_list_chars``. A sentence naming the whole series (“包括
    广州、深圳、珠海与佛山在内的格局”) speaks of none of them."""
    series = asked.coordinated_places
    if not series:
        return span

    def speaks_of(name: str, sentence: str) -> bool:
        return name in sentence and not all(other in sentence for other in series)

    chosen = list(span)
    length = sum(len(c.text) for c in span)
    following = [candidates[i] for i in _later_in_section(candidates, span[0]) if candidates[i].complete]
    for name in series:
        if any(speaks_of(name, c.text) for c in chosen):
            continue
        at = next((i for i, c in enumerate(following) if speaks_of(name, c.text)), None)
        while at is not None and at < len(following) and following[at] not in chosen:
            if length + len(following[at].text) > settings.max_list_chars:
                break
            chosen.append(following[at])
            length += len(following[at].text)
            # The clause goes on to the end of its sentence.
            at = at + 1 if at + 1 < len(following) and _runs_on(following[at], following[at + 1]) else None
    return sorted(chosen, key=lambda c: c.start)


def _later_in_section(candidates: Sequence[Candidate], first: Candidate) -> list[int]:
    """The indices of the candidates after ``first`` in its section (in its passage or a later
    one), in reading order."""
    return sorted(
        (i for i, c in enumerate(candidates) if c.context == first.context and c.start > first.start),
        key=lambda i: candidates[i].start,
    )


def _with_member(
    settings: AnswerSettings,
    asked: Question,
    candidates: Sequence[Candidate],
    probability: np.ndarray,
    span: list[Candidate],
) -> list[Candidate]:
    """``span`` and, when its first sentence names a series (“聚焦机械、电子、汽车等行业”) of
    which the question asks about one member (“电子行业重点提升哪些产品的可靠性？”), the first
    answering sentence after it in its section on that member alone (“电子行业将重点提升……”)."""
    series = _series(span[0].text)
    members = [item for item in series if item in asked.simplified]
    if len(members) != 1:
        return span

    def alone(c: Candidate) -> bool:
        return members[0] in c.text and sum(item in c.text for item in series) == 1

    if any(alone(c) for c in span):
        return span
    found = next(
        (
            candidates[i]
            for i in _later_in_section(candidates, span[0])
            if probability[i] >= 0 and alone(candidates[i])
        ),
        None,
    )
    if found is None or sum(len(c.text) for c in span) + len(found.text) > settings.max_list_chars:
        return span
    return sorted([*span, found], key=lambda c: c.start)


def _series(sentence: str) -> list[str]:
    """The items of the series “甲、乙、丙等” (or “甲、乙和丙等”) in ``sentence``; the first may
    carry the words before it."""
    match = _SERIES.search(sentence)
    return [item for item in re.split(r"、|和|与|及", match.group(1)) if item] if match else []


def _points_back(before: Candidate, sentence: Candidate) -> bool:
    """Whether ``sentence`` opens with a demonstrative (这是, 该奖, 此举; not 此外) standing for
    what ``before``, the answer sentence before it in its paragraph, names."""
    return (
        _POINTS_BACK.match(to_simplified(sentence.text)) is not None
        and before.complete
        and before.paragraph == sentence.paragraph >= 0
    )


def _span(
    settings: AnswerSettings,
    candidates: Sequence[Candidate],
    probability: np.ndarray,
    best: int,
    threshold: float,
) -> list[Candidate]:
    """The best sentence and the likely sentences next to it in its passage, in reading order."""
    top = candidates[best]
    same = sorted(
        (i for i, c in enumerate(candidates) if c.passage == top.passage),
        key=lambda i: candidates[i].start,
    )
    at = same.index(best)
    floor = max(threshold, NEIGHBOUR_SHARE * float(probability[best]))
    chosen, length = [best], len(top.text)
    left, right = at - 1, at + 1

    def _joins(j: int, after: bool) -> bool:
        """A neighbour joins when likely enough, or, after the span, when it gives the
        particulars of the sentence before it and passes the threshold."""
        likely = float(probability[same[j]])
        return likely >= floor or (
            after and likely >= threshold and _elaborates(candidates[same[j - 1]], candidates[same[j]])
        )

    while len(chosen) < settings.max_sentences:
        options = [j for j in (left, right) if 0 <= j < len(same) and _joins(j, j == right)]
        if not options:
            break
        j = max(options, key=lambda j: probability[same[j]])
        if length + len(candidates[same[j]].text) > settings.max_chars:
            break
        chosen.append(same[j])
        length += len(candidates[same[j]].text)
        if j == left:
            left -= 1
        else:
            right += 1
    # A span opening by pointing back (“这是我国大陆地区第一个……奖项”) starts at what it points to,
    # the sentence before it in its paragraph (“……一起设立未来科学大奖。”).
    if 0 <= left < len(same) and _points_back(candidates[same[left]], candidates[same[left + 1]]):
        if (
            len(chosen) < settings.max_sentences
            and length + len(candidates[same[left]].text) <= settings.max_chars
        ):
            chosen.append(same[left])
            length += len(candidates[same[left]].text)
    # A clause ending in ； goes on in the next one (“……的，责令改正；没有违法所得的，处……罚款。”):
    # the answer runs to the end of the sentence, unless the next clause opens a list item.
    while 0 <= right < len(same) and _runs_on(candidates[same[right - 1]], candidates[same[right]]):
        following = candidates[same[right]]
        if length + len(following.text) > settings.max_chars:
            break
        chosen.append(same[right])
        length += len(following.text)
        right += 1
    return sorted((candidates[i] for i in chosen), key=lambda c: c.start)


def _elaborates(sentence: Candidate, following: Candidate) -> bool:
    """Whether ``following`` gives the example or the particulars of ``sentence`` (“……并不一定
    重合。例如，……”), in the same paragraph."""
    return following.paragraph == sentence.paragraph and bool(_ELABORATION.match(following.text))


def _runs_on(clause: Candidate, following: Candidate) -> bool:
    """Whether ``following`` goes on with the sentence ``clause`` ended with ；."""
    return (
        clause.text.endswith(("；", ";"))
        and following.paragraph == clause.paragraph
        and following.complete
        and not item_marker(following.text)
    )


def _quote_enumeration(
    settings: AnswerSettings,
    lead: Candidate,
    listed: Enumeration,
    passages: tuple[Hit, ...],
    document: Document,
    index: Index,
) -> tuple[tuple[Hit, ...], list[tuple[int, str]], str]:
    quoted = [(lead.passage, lead.text)] if lead.text else []
    length = len(lead.text)
    if listed.lead_in is not None:
        start, _end, sentence = listed.lead_in
        passages, n = _passage_at(passages, document, start, index)
        quoted.append((n, sentence))
        length += len(sentence)
    shown = 0
    for start, _end, sentence in listed.items:
        if length + len(sentence) > settings.max_list_chars:
            break
        passages, n = _passage_at(passages, document, start, index)
        quoted.append((n, sentence))
        length += len(sentence)
        shown += 1
    note = f"原文共列出{listed.total}项，此处摘录前{shown}项。" if shown < listed.total else ""
    return passages, quoted, note


def _last_sentence(candidates: Sequence[Candidate], paragraph: int, like: Candidate) -> Candidate | None:
    """The last sentence of ``paragraph`` in the same document as ``like`` (a list's lead-in)."""
    found = [c for c in candidates if c.paragraph == paragraph and c.passage == like.passage]
    return max(found, key=lambda c: c.start) if found else None


def _passage_at(
    passages: tuple[Hit, ...], document: Document, offset: int, index: Index
) -> tuple[tuple[Hit, ...], int]:
    """The number of the passage holding ``offset`` of ``document``; a chunk that was not
    retrieved (a list running on past the passages) is added after them."""
    for n, hit in enumerate(passages, start=1):
        chunk = hit.chunk
        if chunk.doc_id == document.doc_id and chunk.char_start <= offset < chunk.char_end:
            return passages, n
    for row in index.doc_rows(document.doc_id):
        chunk = index.chunks[row]
        if chunk.char_start <= offset < chunk.char_end:
            hit = Hit(chunk=chunk, score=0.0, rank=len(passages) + 1, dense=0.0, keyword=0.0)
            return (*passages, hit), len(passages) + 1
    raise LookupError(f"offset {offset} of {document.doc_id} is in no chunk")


def with_marker(sentence: str, n: int) -> str:
    """A quoted sentence cited ``[n]`` (``rag.sentences.place_marker``), ending with 。 when the
    source line had no end; a footnote mark of the briefing (“[3]”) is written ［3］, not ours,
    and the half-width punctuation PDF extraction leaves in Chinese text is written as Chinese
    punctuation (``rag.text.chinese_punctuation``), as a draft needs it."""
    marked = place_marker(chinese_punctuation(_SOURCE_MARK.sub(r"［\1］", sentence)), n)
    return marked + "。" if marked.endswith(f"[{n}]") else marked
