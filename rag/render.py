"""Answer formats shared by the CLI, the server and eval: JSON records and Markdown for drafts."""

from __future__ import annotations

import re
from typing import Any

from rag.sentences import MARKER
from rag.types import Answer, Citation


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
        "markdown": answer_markdown(answer),
        "plain": answer_plain(answer),
    }


def reference(citation: Citation) -> str:
    """One reference line: 《title》，section，location。"""
    chunk = citation.chunk
    parts = [f"《{chunk.title}》"]
    if chunk.section_path:
        parts.append(chunk.section_path)
    parts.append(chunk.location)
    return "，".join(parts) + "。"


def _renumber(answer: Answer, marker: str) -> tuple[str, list[tuple[int, Citation]]]:
    """Markers renumbered 1, 2, … in order of first appearance and written with ``marker``
    (a format with ``{}``); returns the text and the (new number, citation) pairs."""
    by_n = {c.n: c for c in answer.citations}
    order: dict[int, int] = {}
    for match in MARKER.finditer(answer.text):
        if int(match.group(1)) in by_n:
            order.setdefault(int(match.group(1)), len(order) + 1)

    def renumbered(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return marker.format(order[n]) if n in order else match.group()

    return MARKER.sub(renumbered, answer.text), [(new, by_n[n]) for n, new in order.items()]


def answer_markdown(answer: Answer) -> str:
    """The answer with Markdown footnotes, numbered 1, 2, … in order of first appearance."""
    if answer.refused:
        return answer.text + "\n"
    body, notes = _renumber(answer, "[^{}]")
    return body + "\n\n" + "\n".join(f"[^{n}]: {reference(c)}" for n, c in notes) + "\n"


def answer_plain(answer: Answer) -> str:
    """Plain text for a Word draft: 【1】-style markers and a numbered reference list."""
    if answer.refused:
        return answer.text + "\n"
    body, notes = _renumber(answer, "【{}】")
    return body + "\n\n参考文献：\n" + "\n".join(f"【{n}】{reference(c)}" for n, c in notes) + "\n"
