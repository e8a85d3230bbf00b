"""Draft an eval set from the briefings, for a researcher to check and edit (``rag eval draft-set``).

Offline, from the text alone: a sentence of the briefing that states a quantity (“共有 240 名创业者
参加培训”) becomes the question that asks for it (“…共有多少名创业者参加培训？”), with the
sentence as its evidence and the quantity as its key fact. Only whole statements qualify (the
answerer's sentence test: complete, at least eight characters, a verb), and the sentences are
taken from across each briefing. Every item carries ``"draft": true``: a draft is a proposal,
not a checked question, and says so.

With an LLM backend (``--llm``), each drafted question is rewritten by the model into a
natural question that stands on its own (``prompts/draft_question.zh.md``); a rewrite that
gives the answer away, or a backend that fails, keeps the offline question.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from rag.answerers.candidates import is_answer_sentence, join_lines
from rag.config import Settings
from rag.conversation.phrases import CONNECTIVES, PRONOUNS
from rag.errors import BackendError
from rag.llm_client import ChatClient, resolve_endpoint
from rag.prompts import render_prompt
from rag.sentences import sentence_spans
from rag.types import Document

# A quantity: a number, an optional 万/亿, and what it counts. The unit stays in the question
# (多少名创业者), except a percentage (增长多少).
_QUANTITY = re.compile(
    r"(?<![\d.])(\d+(?:\.\d+)?)\s*((?:万|亿|千)?(?:家次|人次|平方米|公里|个|家|名|人|项|元|台|件|种|所|座|条|篇|次|倍|户|吨|亩)|%)"
)
log = logging.getLogger(__name__)
MAX_QUESTION_CHARS = 90
_LEANS_BACK = tuple(
    sorted(
        PRONOUNS | CONNECTIVES | {"为此", "同时", "又如", "例如", "对此", "因此", "但"}, key=len, reverse=True
    )
)


def question_for(sentence: str) -> tuple[str, str] | None:
    """(question, key fact) asking for the first quantity ``sentence`` states, or None."""
    match = _QUANTITY.search(sentence)
    if match is None:
        return None
    unit = match.group(2)
    asked = "多少" if unit == "%" else f"多少{unit}"
    before = re.sub(r"(?<=[\u3400-\u9fff])\s+$", "", sentence[: match.start()])  # “共有 240 名” → 共有多少名
    question = before + asked + sentence[match.end() :]
    question = re.sub(r"[。！？；;，,：:\s]+$", "", question) + "？"
    if len(question) > MAX_QUESTION_CHARS:
        return None
    return question, match.group(1) + unit


def reworded_by_llm(
    items: list[dict[str, Any]], titles: Mapping[str, str], settings: Settings, spec: str
) -> tuple[list[dict[str, Any]], int]:
    """``items`` with their questions rewritten by the LLM ``spec`` (``llm`` or ``llm:<preset>``;
    ``titles``: each source briefing's title), and how many kept the offline question (the
    rewrite failed or gave the answer away)."""
    client = ChatClient(resolve_endpoint(settings.llm, spec.partition(":")[2] or None))
    kept = 0
    out = []
    for item in items:
        (sentence,), (fact,) = item["evidence_any"], item["answer_keywords"]
        title = titles.get(item["source"], item["source"])
        prompt = render_prompt("draft_question", settings.home, title=title, sentence=sentence, fact=fact)
        try:
            reply = (
                client.complete([{"role": "user", "content": prompt}], max_tokens=120).strip().splitlines()
            )
        except BackendError as e:
            log.warning("draft question kept offline: %s", e.message)
            reply = []
        question = reply[0].strip() if reply else ""
        if not question or fact in question or len(question) > MAX_QUESTION_CHARS + 30:
            kept += 1
            out.append(item)
        else:
            out.append({**item, "question": question if question.endswith(("？", "?")) else question + "？"})
    return out, kept


def _statements(document: Document) -> Iterator[str]:
    """The document's whole statements that stand on their own: not opening with a word that
    points back to an earlier sentence (其中, 此外, 该…), which a question could not carry."""
    for start, end in sentence_spans(document.text, line_breaks=False):
        raw = document.text[start:end]
        sentence = join_lines(raw)
        if is_answer_sentence(raw) and not sentence.startswith(_LEANS_BACK):
            yield sentence


def draft_items(documents: Iterable[Document], per_document: int) -> list[dict[str, Any]]:
    """Up to ``per_document`` draft questions from each briefing, spread over its text."""
    items: list[dict[str, Any]] = []
    for document in documents:
        found = [(sentence, q) for sentence in _statements(document) if (q := question_for(sentence))]
        step = max(len(found) / per_document, 1.0) if found else 1.0
        for index in range(min(per_document, len(found))):
            sentence, (question, fact) = found[int(index * step)]
            items.append(
                {
                    "id": f"draft-{len(items) + 1:03d}",
                    "question": question,
                    "answerable": True,
                    "evidence_any": [sentence.rstrip("。；;")],
                    "answer_keywords": [fact],
                    "source": document.doc_id,
                    "type": "number",
                    "draft": True,
                }
            )
    return items
