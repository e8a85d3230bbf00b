"""What every answerer shares: the event stream it yields and the protocol it follows.

``stream()`` is primary (token events, then one final event with the whole answer);
``answer()`` consumes it. Passages are numbered 1..n in retrieval order and an ``[n]``
marker always refers to passage n.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from rag.conversation import Rewrite, Turn
from rag.types import Answer, GenerationOptions, Hit

if TYPE_CHECKING:
    from rag.store import Index


@dataclass(frozen=True)
class RetrievedEvent:
    """The passages retrieved for ``query`` (sent before any token, so a client can show them)."""

    query: str
    hits: tuple[Hit, ...]


@dataclass(frozen=True)
class TokenEvent:
    text: str


@dataclass(frozen=True)
class DoneEvent:
    answer: Answer


AnswerEvent = TokenEvent | DoneEvent
PipelineEvent = RetrievedEvent | TokenEvent | DoneEvent


class Answerer(Protocol):
    name: str

    def stream(
        self,
        question: str,
        hits: Sequence[Hit],
        index: Index | None = None,
        options: GenerationOptions | None = None,
    ) -> Iterator[AnswerEvent]:
        """Answer from ``hits``; ``index``, when given, lets an answerer read the briefings
        around a passage (a sentence the chunk boundary cut, a list that runs on). ``options``
        are a client's generation settings, for a model that samples; one token event is
        yielded per answer sentence (the pipeline cuts the answer at ``max_tokens`` by them)."""
        ...

    def answer(self, question: str, hits: Sequence[Hit], index: Index | None = None) -> Answer: ...

    def condense(self, question: str, history: Sequence[Turn]) -> Rewrite:
        """A follow-up question rewritten with the conversation into a standalone one, or
        the reason it cannot be (its referent is not in the conversation)."""
        ...


def collect(events: Iterator[PipelineEvent]) -> Answer:
    """The final answer of a stream."""
    for event in events:
        if isinstance(event, DoneEvent):
            return event.answer
    raise RuntimeError("answer stream ended without a final event")
