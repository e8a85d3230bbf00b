"""Running the pipeline's event stream for HTTP: errors before the first token become proper
HTTP errors; after that they are sent as a final error event.

Answers run in worker threads of their own, at most ``[server] max_concurrent_answers`` at a
time, so that answers waiting on a slow LLM backend never take the threads of Starlette's
default pool (anyio's, 40 threads), which searches, the health check and the other sync routes
run in. An answer holds its slot from retrieval to its last event: a stream already under way
is never paused to let a newcomer in.

Requests beyond the limit wait their turn, first come first served, with no time limit of their
own (each answer ahead of them is bounded by ``[llm] timeout_s``). Only when
``[server] max_queued_answers`` requests are already waiting is a new one turned away, at once,
with 503 and ``Retry-After`` (429 on /v1, as OpenAI clients expect): a user who would be served is never failed after waiting (and sent
to the back of the queue to retry), one who would not is told immediately, and the backlog of
work (requests whose clients may have gone) stays bounded.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import aclosing
from typing import TypeVar

import anyio
import anyio.to_thread
from fastapi import Request

from rag.answerers import DoneEvent, PipelineEvent, TokenEvent
from rag.errors import BusyError
from rag.types import Answer
from server.deps import get_pipeline

T = TypeVar("T")
RETRY_AFTER_S = 10


class AnswerSlots:
    """An app's answer slots (made on first use, inside the app's event loop)."""

    def __init__(self, capacity: int, max_waiting: int) -> None:
        self.limiter = anyio.CapacityLimiter(capacity)
        self.max_waiting = max_waiting
        self.waiting = 0


def answer_slots(request: Request) -> AnswerSlots:
    state = request.app.state
    slots: AnswerSlots | None = getattr(state, "answer_slots", None)
    if slots is None:  # no await since the check: no other request can get here in between
        server = get_pipeline(request).settings.server
        slots = state.answer_slots = AnswerSlots(server.max_concurrent_answers, server.max_queued_answers)
    return slots


class AnswerRun:
    """One answer under way: its slot, the events up to its first token (``head``), and the rest.

    ``close()`` (idempotent) closes the pipeline's stream and frees the slot; ``events()`` calls
    it when it ends, however it ends, and the routes also hand ``aclose`` to the response as a
    background task, for a stream whose body never started.
    """

    def __init__(self, slots: AnswerSlots, events: Iterator[PipelineEvent]) -> None:
        self.head: list[PipelineEvent] = []
        self._slots = slots
        self._events = events
        self._worker = anyio.CapacityLimiter(
            1
        )  # its own thread calls, one at a time, outside the default pool
        self._holding = False

    async def _acquire(self) -> None:
        slots = self._slots
        try:
            slots.limiter.acquire_on_behalf_of_nowait(
                self
            )  # refused while others wait: first come, first served
        except anyio.WouldBlock:
            if slots.waiting >= slots.max_waiting:
                raise BusyError(
                    f"服务繁忙：正在生成的回答已达上限（{int(slots.limiter.total_tokens)} 个），"
                    f"排队等候的请求也已满（{slots.max_waiting} 个），请稍后重试",
                    RETRY_AFTER_S,
                ) from None
            slots.waiting += 1
            try:
                await slots.limiter.acquire_on_behalf_of(self)
            finally:
                slots.waiting -= 1
        self._holding = True

    async def _call(self, fn: Callable[[Iterator[PipelineEvent]], T]) -> T:
        return await anyio.to_thread.run_sync(fn, self._events, limiter=self._worker)

    async def events(self) -> AsyncGenerator[PipelineEvent, None]:
        try:
            for event in self.head:
                yield event
            while (following := await self._call(_next)) is not None:
                yield following
        finally:
            self.close()

    def close(self) -> None:
        """Close the pipeline's stream (a backend response still open is closed with it) and free the slot."""
        try:
            if close := getattr(self._events, "close", None):
                close()
        finally:
            if self._holding:
                self._holding = False
                self._slots.limiter.release_on_behalf_of(self)

    async def aclose(self) -> None:
        self.close()  # in the event loop's thread, as the limiter requires


def _head(events: Iterator[PipelineEvent]) -> list[PipelineEvent]:
    head = []
    for event in events:
        head.append(event)
        if isinstance(event, TokenEvent | DoneEvent):
            break
    return head


def _next(events: Iterator[PipelineEvent]) -> PipelineEvent | None:
    return next(events, None)


async def start(request: Request, events: Iterator[PipelineEvent]) -> AnswerRun:
    """Wait for an answer slot (503 at once if the queue is full), then run the stream up to
    its first token (retrieval, refusal check, backend connection) in the answer's own worker
    thread; a ``RagError`` raised there reaches the exception handler as usual."""
    run = AnswerRun(answer_slots(request), events)
    await run._acquire()
    try:
        run.head = await run._call(_head)
    except BaseException:
        run.close()
        raise
    return run


async def final_answer(run: AnswerRun) -> Answer:
    async with aclosing(run.events()) as events:
        async for event in events:
            if isinstance(event, DoneEvent):
                return event.answer
    raise RuntimeError("answer stream ended without a final event")
