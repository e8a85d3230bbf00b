"""The enumeration a sentence leads into or belongs to, as a list question and an item
request (“第四项”, “第六点”) see it."""

from __future__ import annotations

from rag.answerers.candidates import Candidate
from rag.answerers.enumerations import Enumeration, enumeration_after, enumeration_around
from rag.answerers.relevance import coverage, question_terms
from rag.question import Question
from rag.text import chinese_to_int, to_simplified
from rag.types import Document


def covers(asked: Question, text: str) -> float:
    """The weighted share of the question's content words in ``text`` (``relevance.coverage``)."""
    terms = question_terms(asked.simplified)
    return float(coverage(asked.simplified, terms, [to_simplified(text).lower()])[0])


def list_after(asked: Question, document: Document, top: Candidate) -> Enumeration | None:
    """The enumeration after ``top`` (``enumeration_after``); one led in by another sentence only
    when that sentence speaks of what is asked (“……呈现出三个特点：” for “哪三个特点”), not when
    it leads elsewhere (“提出几点建议：”)."""
    listed = enumeration_after(document, top)
    if listed is not None and listed.lead_in is not None and not covers(asked, listed.lead_in[2]):
        return None
    return listed


def _listed(asked: Question, document: Document, top: Candidate) -> Enumeration | None:
    """The enumeration ``top`` leads into or belongs to."""
    listed = list_after(asked, document, top)
    if listed is None:
        around = enumeration_around(document, top)
        listed = around[1] if around else None
    return listed


def item_past_the_end(asked: Question, document: Document, top: Candidate) -> str | None:
    """The refusal reason when the item asked for (“第六点”) is past the end of the enumeration
    ``top`` leads into (“提出几点建议：一是……四是……”) and names it as the question does (建议), or
    None. A list led in otherwise may be one item's own (a speech's 首先/其次/第三 each with theirs)."""
    names_it = any(noun in to_simplified(top.text) for noun in asked.list_nouns)
    listed = list_after(asked, document, top) if asked.item_asked and names_it else None
    if listed is None or (chinese_to_int(asked.item_asked or "") or 0) <= listed.count:
        return None
    return f"原文只列了{listed.count}项，没有问题所问的第{asked.item_asked}项"


def asked_item(
    asked: Question, document: Document, top: Candidate, number: int
) -> tuple[int, int, str] | None:
    """Item ``number`` of the enumeration ``top`` leads into or belongs to (“第四项” of
    “重点做好9项工作。一是……”), when it has that many."""
    listed = _listed(asked, document, top)
    # “……主要体现在：一是……”: item 一 is in the lead-in, and items holds the others
    at = number - 1 - listed.in_lead if listed is not None else -1
    if listed is None or not 0 <= at < len(listed.items):
        return None
    return listed.items[at]
