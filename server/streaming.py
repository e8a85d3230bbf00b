"""Running the pipeline's event stream for HTTP: errors before the first token become proper
HTTP errors; after that they are sent as a final error event."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from rag.answerers import DoneEvent, PipelineEvent, TokenEvent
from rag.types import Answer


def _head(events: Iterator[PipelineEvent]) -> list[PipelineEvent]:
    head = []
    for event in events:
        head.append(event)
        if isinstance(event, TokenEvent | DoneEvent):
            break
    return head


async def start(events: Iterator[PipelineEvent]) -> list[PipelineEvent]:
    """Run the stream up to its first token (retrieval, refusal check, backend connection),
    in a worker thread; a ``RagError`` raised there reaches the exception handler as usual."""
    return await run_in_threadpool(_head, events)


async def rest(head: list[PipelineEvent], events: Iterator[PipelineEvent]) -> AsyncIterator[PipelineEvent]:
    for event in head:
        yield event
    async for event in iterate_in_threadpool(events):
        yield event


async def final_answer(head: list[PipelineEvent], events: Iterator[PipelineEvent]) -> Answer:
    async for event in rest(head, events):
        if isinstance(event, DoneEvent):
            return event.answer
    raise RuntimeError("answer stream ended without a final event")
