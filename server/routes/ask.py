from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse
from starlette.background import BackgroundTask

from rag.answerers import DoneEvent, RetrievedEvent, TokenEvent
from rag.conversation import Turn
from rag.errors import RagError
from rag.render import answer_record
from server import streaming
from server.deps import PipelineDep
from server.errors import error_body
from server.schemas import AskRequest, AskResponse, ErrorBody

log = logging.getLogger(__name__)
router = APIRouter(tags=["检索与问答"])

STREAM_DOC = """以 `stream: true` 或 `Accept: text/event-stream` 请求时返回 Server-Sent Events：
`passages`（检索到的段落与改写后的问题）→ 若干 `token`（`{"text": "……[1]。"}`，逐句推送，已完成引用核验）
→ `done`（与非流式响应相同的完整结果）；出错时为 `error`（`{"error": {"code", "message"}}`）。"""


@router.post(
    "/api/ask",
    response_model=AskResponse,
    summary="带引用的回答",
    description="回答问题，每句标注 [n]（n 指 passages[n-1]），并逐句核验引用。\n\n" + STREAM_DOC,
    responses={
        200: {"content": {"text/event-stream": {}}},
        400: {"model": ErrorBody},
        404: {"model": ErrorBody},
        422: {"model": ErrorBody},
        502: {"model": ErrorBody},
        503: {
            "model": ErrorBody,
            "description": "服务繁忙：同时进行的回答已达上限且排队超时（带 Retry-After）",
        },
        504: {"model": ErrorBody},
    },
)
async def ask(body: AskRequest, request: Request, pipeline: PipelineDep) -> Any:
    events = pipeline.stream(
        body.question,
        body.k,
        body.docs,
        history=[Turn(turn.role, turn.content) for turn in body.history],
        answerer=body.answerer,
    )
    run = await streaming.start(request, events)
    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        return EventSourceResponse(_sse(run), background=BackgroundTask(run.aclose))
    return answer_record(await streaming.final_answer(run))


async def _sse(run: streaming.AnswerRun) -> AsyncIterator[dict[str, str]]:
    try:
        async for event in run.events():
            if isinstance(event, RetrievedEvent):
                data: Any = {"query": event.query, "passages": [hit.record() for hit in event.hits]}
                yield {"event": "passages", "data": _json(data)}
            elif isinstance(event, TokenEvent):
                yield {"event": "token", "data": _json({"text": event.text})}
            elif isinstance(event, DoneEvent):
                yield {"event": "done", "data": _json(answer_record(event.answer))}
    except RagError as e:
        yield {"event": "error", "data": _json(error_body(e.code, e.message))}
    except Exception:
        log.exception("answer stream failed")
        yield {"event": "error", "data": _json(error_body("internal_error", "服务内部错误，请查看服务日志"))}


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)
