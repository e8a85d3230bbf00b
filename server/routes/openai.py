"""OpenAI-compatible chat: any OpenAI client gets cited answers, citations included.

The reply's ``content`` carries the inline ``[n]`` markers (and, unless
``[server] openai_references = false``, a “参考来源” list after the answer, for chat clients
that show only the text). The structured citations travel as a top-level ``citations`` field
of the completion, and of the final chunk when streaming.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse
from starlette.background import BackgroundTask

from rag.answerers import DoneEvent, TokenEvent, available_answerers
from rag.config import Settings
from rag.conversation import Turn
from rag.errors import BadInputError, ModelNotFoundError, RagError
from rag.references import reference_of
from rag.render import answer_record
from rag.types import Answer
from server import streaming
from server.deps import PipelineDep
from server.errors import error_body_for, status_for
from server.schemas import ChatCompletion, ChatRequest, ErrorBody, ModelList

log = logging.getLogger(__name__)
router = APIRouter(tags=["OpenAI 兼容"])

DEFAULT_MODEL = "briefing-rag"
ROUTE = "/v1/chat/completions"
REFERENCES_HEADING = "\n\n参考来源：\n"


@router.get("/v1/models", summary="可用模型（回答器）", response_model=ModelList)
def models(pipeline: PipelineDep) -> dict[str, Any]:
    """`briefing-rag` 使用默认回答器；也可直接用回答器名作为 model：extractive、llm、llm:<预设名>。"""
    names = [DEFAULT_MODEL, *available_answerers(pipeline.settings)]
    return {
        "object": "list",
        "data": [{"id": name, "object": "model", "created": 0, "owned_by": "briefing-rag"} for name in names],
    }


@router.post(
    ROUTE,
    summary="OpenAI 兼容的对话补全",
    response_model=ChatCompletion,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "chat.completion；`stream: true` 时为 SSE 的 chat.completion.chunk 序列",
        },
        **{code: {"model": ErrorBody} for code in (400, 404, 422, 502, 503, 504)},
    },
)
async def chat_completions(body: ChatRequest, request: Request, pipeline: PipelineDep) -> Any:
    """最后一条 user 消息是问题，此前的 user/assistant 消息是对话历史（追问会先改写成完整问题）；
    system 消息不改变回答规则。回答中的 [n] 与响应顶层的 `citations` 一致，流式时在最后一个 chunk 中。"""
    question, history = _conversation(body)
    answerer = _answerer(body.model, pipeline.settings)
    events = pipeline.stream(question, body.k, body.docs, history=history, answerer=answerer)
    run = await streaming.start(request, events)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    references = pipeline.settings.server.openai_references
    if body.stream:
        return EventSourceResponse(
            _chunks(run, completion_id, created, body.model, references),
            background=BackgroundTask(run.aclose),
        )
    answer = await streaming.final_answer(run)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": answer.text + (_references(answer) if references else ""),
                },
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        **_extras(answer),
    }


def _answerer(model: str, settings: Settings) -> str | None:
    """The answerer a request's ``model`` names (None: the default one). A name /v1/models does
    not list is refused with 404 ``model_not_found``, or answered by the default answerer when
    ``[server] openai_unknown_model = "default"``."""
    if model in ("", DEFAULT_MODEL):
        return None
    available = available_answerers(settings)
    if model in available:
        return model
    if settings.server.openai_unknown_model == "default":
        return None
    names = "、".join([DEFAULT_MODEL, *available])
    raise ModelNotFoundError(
        f'没有模型 {model!r}。可用：{names}（或在 rag.toml 的 [server] 中设 openai_unknown_model = "default"，'
        "让任何模型名都用默认回答器）"
    )


def _conversation(body: ChatRequest) -> tuple[str, list[Turn]]:
    turns = [m for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user" or not turns[-1].text().strip():
        raise BadInputError("messages 的最后一条必须是非空的 user 消息（即问题）")
    history = [
        Turn(m.role, m.text().split(REFERENCES_HEADING)[0])  # type: ignore[arg-type]
        for m in turns[:-1]
    ]
    return turns[-1].text(), history


def _references(answer: Answer) -> str:
    if not answer.citations:
        return ""
    lines = [f"[{c.n}] {reference_of(c)}" for c in answer.citations]
    return REFERENCES_HEADING + "\n".join(lines)


EXTRA_FIELDS = ("citations", "query", "refused", "notices", "sentences")


def _extras(answer: Answer) -> dict[str, Any]:
    """The briefing-rag fields beside the OpenAI ones, as /api/ask gives them."""
    record = answer_record(answer)
    return {key: record[key] for key in EXTRA_FIELDS}


async def _chunks(
    run: streaming.AnswerRun,
    completion_id: str,
    created: int,
    model: str,
    references: bool,
) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return json.dumps(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            },
            ensure_ascii=False,
        )

    yield chunk({"role": "assistant", "content": ""})
    try:
        async for event in run.events():
            if isinstance(event, TokenEvent):
                yield chunk({"content": event.text})
            elif isinstance(event, DoneEvent):
                answer = event.answer
                if references and answer.citations:
                    yield chunk({"content": _references(answer)})
                yield chunk({}, "stop", **_extras(answer))
    except RagError as e:  # mid-stream, in the same OpenAI shape as every other /v1 error
        body = error_body_for(ROUTE, status_for(e), e.code, e.message)
        yield json.dumps(body, ensure_ascii=False)
    except Exception:
        log.exception("chat stream failed")
        body = error_body_for(ROUTE, 500, "internal_error", "服务内部错误，请查看服务日志")
        yield json.dumps(body, ensure_ascii=False)
    yield "[DONE]"
