"""Answer formats shared by the CLI, the server and eval: JSON records and Markdown for drafts."""

from __future__ import annotations

import re
from typing import Any

from rag.types import Answer, Citation

_MARKER = re.compile(r"\[(\d+)\]")


def answer_record(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answer": answer.text,
        "refused": answer.refused,
        "refusal_reason": answer.refusal_reason,
        "confidence": round(answer.confidence, 4),
        "citations": [c.record() for c in answer.citations],
        "passages": [hit.record() for hit in answer.passages],
        "sentences": [s.record() for s in answer.sentences],
        "notices": list(answer.notices),
        "answerer": answer.answerer,
        "query": answer.query or answer.question,
        "timings": answer.timings,
    }


def reference(citation: Citation) -> str:
    """One reference line: 《title》，section，location。"""
    chunk = citation.chunk
    parts = [f"《{chunk.title}》"]
    if chunk.section_path:
        parts.append(chunk.section_path)
    parts.append(chunk.location)
    return "，".join(parts) + "。"


def answer_markdown(answer: Answer) -> str:
    """The answer with Markdown footnotes, numbered 1, 2, … in order of first appearance."""
    if answer.refused:
        return answer.text + "\n"
    order: dict[int, int] = {}
    for match in _MARKER.finditer(answer.text):
        order.setdefault(int(match.group(1)), len(order) + 1)
    body = _MARKER.sub(lambda m: f"[^{order[int(m.group(1))]}]", answer.text)
    by_n = {c.n: c for c in answer.citations}
    notes = [f"[^{footnote}]: {reference(by_n[n])}" for n, footnote in order.items() if n in by_n]
    return body + "\n\n" + "\n".join(notes) + "\n"
