"""The JSON record of an answer, shared by the CLI (``--json``), the server and eval; its
Markdown, plain-text and HTML forms come from ``rag.drafts``."""

from __future__ import annotations

from typing import Any

from rag.drafts import DraftTurn, draft_html, draft_markdown, draft_plain, numbering
from rag.types import Answer


def answer_record(answer: Answer) -> dict[str, Any]:
    draft = DraftTurn.from_answer(answer)
    numbers = numbering(draft)
    return {
        "question": answer.question,
        "answer": answer.text,
        "refused": answer.refused,
        "refusal_reason": answer.refusal_reason,
        "confidence": round(answer.confidence, 4),
        "citations": [{**c.record(), "number": numbers.get(c.n)} for c in answer.citations],
        "passages": [hit.record() for hit in answer.passages],
        "sentences": [s.record() for s in answer.sentences],
        "notices": list(answer.notices),
        "answerer": answer.answerer,
        "query": answer.query or answer.question,
        "timings": answer.timings,
        "usage": answer.usage.record() if answer.usage else None,
        "markdown": draft_markdown(draft),
        "plain": draft_plain(draft),
        "html": draft_html(draft),
    }
