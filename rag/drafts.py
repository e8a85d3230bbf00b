"""Answers as they go into drafts: one numbering of citations, and the Markdown, plain-text and
rich-text (HTML) forms built on it. The page, the CLI, the API and the Word export
(``rag.word``) all work from a ``DraftTurn``, so a citation has the same number everywhere: 1, 2, …
in order of first appearance in the answer."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from rag.references import reference_of
from rag.sentences import MARKER
from rag.types import HEADING_SEPARATOR, Answer


@dataclass(frozen=True)
class DraftTurn:
    """One question and its answer as a draft needs them: the answer text with ``[n]`` markers
    and the reference of each passage ``n`` it cites."""

    question: str
    answer: str
    references: Mapping[int, str]
    refused: bool = False
    refusal_reason: str | None = None

    @classmethod
    def from_answer(cls, answer: Answer) -> DraftTurn:
        return cls(
            question=answer.question,
            answer=answer.text,
            references={c.n: reference_of(c) for c in answer.citations},
            refused=answer.refused,
            refusal_reason=answer.refusal_reason,
        )

    @classmethod
    def from_record(cls, question: str, record: Mapping[str, Any]) -> DraftTurn:
        """From an answer record (``rag.render.answer_record``) as the page keeps it and the export
        routes receive it."""
        references = {
            int(c["n"]): str(c.get("reference") or _fallback(c)) for c in record.get("citations", [])
        }
        return cls(
            question=question,
            answer=str(record["answer"]),
            references=references,
            refused=bool(record.get("refused")),
            refusal_reason=record.get("refusal_reason"),
        )


def _fallback(citation: Mapping[str, Any]) -> str:
    """A reference for a record saved before references were recorded: 《标题》，章节。"""
    parts = [
        f"《{citation.get('title', '')}》",
        str(citation.get("section") or "").replace(HEADING_SEPARATOR, " "),
    ]
    return "，".join(p for p in parts if p) + "。"


def numbering(turn: DraftTurn) -> dict[int, int]:
    """The number each cited passage ``n`` shows: 1, 2, … in order of first appearance."""
    order: dict[int, int] = {}
    for match in MARKER.finditer(turn.answer):
        if int(match.group(1)) in turn.references:
            order.setdefault(int(match.group(1)), len(order) + 1)
    return order


def renumbered(turn: DraftTurn, marker: Callable[[int], str]) -> tuple[str, list[tuple[int, int]]]:
    """The answer with each ``[n]`` written as ``marker(number)``, and the (number, n) pairs in order."""
    order = numbering(turn)

    def written(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return marker(order[n]) if n in order else match.group()

    return MARKER.sub(written, turn.answer), sorted(((k, n) for n, k in order.items()))


def draft_markdown(turn: DraftTurn, note_prefix: str = "") -> str:
    """The answer with Markdown footnotes ``[^1]``…; ``note_prefix`` keeps the ids of several
    answers in one file apart (``[^2-1]`` is the second answer's first note)."""
    if turn.refused:
        return turn.answer + "\n"
    body, notes = renumbered(turn, lambda k: f"[^{note_prefix}{k}]")
    return body + "\n\n" + "\n".join(f"[^{note_prefix}{k}]: {turn.references[n]}" for k, n in notes) + "\n"


def draft_plain(turn: DraftTurn) -> str:
    """Plain text for a Word draft: 【1】-style markers and a numbered reference list."""
    if turn.refused:
        return turn.answer + "\n"
    body, notes = renumbered(turn, lambda k: f"【{k}】")
    return body + "\n\n参考文献：\n" + "\n".join(f"【{k}】{turn.references[n]}" for k, n in notes) + "\n"


def draft_html(turn: DraftTurn) -> str:
    """Rich text for the clipboard: superscript markers ``[1]`` matching a numbered reference
    list, which Word, WPS and LibreOffice keep on paste. No hyperlinks: a browser writes them
    as links to the page's own address, which has no place in a draft."""
    if turn.refused:
        return f"<p>{escape(turn.answer)}</p>"
    order = numbering(turn)
    pieces, last = [], 0
    for match in MARKER.finditer(turn.answer):
        pieces.append(escape(turn.answer[last : match.start()]))
        if (k := order.get(int(match.group(1)))) is not None:
            pieces.append(f"<sup>[{k}]</sup>")
        last = match.end()
    pieces.append(escape(turn.answer[last:]))
    body = "".join(f"<p>{line}</p>" for line in "".join(pieces).split("\n") if line.strip())
    _, notes = renumbered(turn, str)
    items = "".join(f'<li value="{k}">{escape(turn.references[n])}</li>' for k, n in notes)
    return f"{body}<p>参考文献：</p><ol>{items}</ol>"


def conversation_markdown(turns: Sequence[DraftTurn], title: str) -> str:
    """A whole conversation in Markdown: each question a heading, footnote ids unique across it."""
    parts = [f"# {title}", ""]
    for number, turn in enumerate(turns, start=1):
        parts += [f"## 问：{turn.question}", "", draft_markdown(turn, f"{number}-").strip(), ""]
    return "\n".join(parts)
