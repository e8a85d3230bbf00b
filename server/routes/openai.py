"""OpenAI-compatible chat: any OpenAI client gets cited answers, citations included.

The reply's ``content`` carries the inline ``[n]`` markers (and, unless
``[server] openai_references = false``, a “参考来源” list after the answer, for chat clients
that show only the text). The structured citations travel as a top-level ``citations`` field
of the completion, and of the final chunk when streaming. ``usage`` is on every completion,
and in a last chunk when a stream asks ``stream_options.include_usage``; which parameters are
honoured or refused is said in server/openai_schemas.py.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse
from starlette.background import BackgroundTask

from rag.answerers import DoneEvent, TokenEvent, available_answerers
from rag.config import Settings
from rag.conversation import Turn
from rag.errors import BadInputError, ModelNotFoundError, RagError, UnsupportedParameterError
from rag.references import reference_of
from rag.render import answer_record
from rag.types import Answer, TokenUsage
from server import streaming
from server.deps import PipelineDep
from server.errors import error_body_for, status_for
from server.openai_schemas import ChatCompletion, ChatRequest, ModelList
from server.schemas import ErrorBody

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
        **{code: {"model": ErrorBody} for code in (400, 401, 404, 422, 429, 502, 503, 504)},
    },
)
async def chat_completions(body: ChatRequest, request: Request, pipeline: PipelineDep) -> Any:
    """最后一条 user 消息是问题，此前的 user/assistant 消息是对话历史（追问会先改写成完整问题）；
    system 消息不改变回答规则。回答中的 [n] 与响应顶层的 `citations` 一致，流式时在最后一个 chunk 中。
    max_tokens 在预算内的句末结束回答（finish_reason 为 length）；n>1、tools、logprobs 等无法满足的参数返回 400。"""
    for param, reason in body.refusals():
        raise UnsupportedParameterError(param, reason)
    question, history = _conversation(body)
    answerer = _answerer(body.model, pipeline.settings)
    options = body.options()
    events = pipeline.stream(question, body.k, body.docs, history, answerer, options)
    run = await streaming.start(request, events)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    reply = _Reply(
        completion_id,
        created,
        body.model,
        pipeline.settings.server.openai_references,
        bool(body.stream_options and body.stream_options.include_usage),
        tuple(body.unknown()),
    )
    if body.stream:
        return EventSourceResponse(_chunks(run, reply), background=BackgroundTask(run.aclose))
    answer = await streaming.final_answer(run)
    return {
        "id": reply.id,
        "object": "chat.completion",
        "created": reply.created,
        "model": reply.model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": answer.text + (_references(answer) if reply.references else ""),
                },
                "finish_reason": answer.finish_reason,
            }
        ],
        "usage": _usage(answer),
        **reply.extras(answer),
    }


@dataclass(frozen=True)
class _Reply:
    """What every part of one completion repeats, and what the request asked of its shape."""

    id: str
    created: int
    model: str
    references: bool  # the “参考来源” list after the answer
    include_usage: bool  # a stream's last chunk carries usage
    unknown: tuple[str, ...]  # request fields that are not OpenAI's, ignored

    def extras(self, answer: Answer) -> dict[str, Any]:
        """The briefing-rag fields beside the OpenAI ones, as /api/ask gives them."""
        record = answer_record(answer)
        extras = {key: record[key] for key in EXTRA_FIELDS}
        if self.unknown:
            extras["notices"] = [*extras["notices"], f"未识别的参数已忽略：{'、'.join(self.unknown)}"]
        return extras

    def chunk(self, delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> str:
        """One chat.completion.chunk; ``delta`` None gives the usage chunk (no choices)."""
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        usage = {"usage": None} if self.include_usage else {}
        return json.dumps(
            {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": choices,
                **usage,
                **extra,
            },
            ensure_ascii=False,
        )


def _usage(answer: Answer) -> dict[str, int]:
    return (answer.usage or TokenUsage()).record()


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


async def _chunks(run: streaming.AnswerRun, reply: _Reply) -> AsyncIterator[str]:
    yield reply.chunk({"role": "assistant", "content": ""})
    try:
        async for event in run.events():
            if isinstance(event, TokenEvent):
                yield reply.chunk({"content": event.text})
            elif isinstance(event, DoneEvent):
                answer = event.answer
                if reply.references and answer.citations:
                    yield reply.chunk({"content": _references(answer)})
                yield reply.chunk({}, answer.finish_reason, **reply.extras(answer))
                if reply.include_usage:
                    yield reply.chunk(None, usage=_usage(answer))
    except RagError as e:  # mid-stream, in the same OpenAI shape as every other /v1 error
        body = error_body_for(ROUTE, status_for(e, ROUTE), e.code, e.message, e.param)
        yield json.dumps(body, ensure_ascii=False)
    except Exception:
        log.exception("chat stream failed")
        body = error_body_for(ROUTE, 500, "internal_error", "服务内部错误，请查看服务日志")
        yield json.dumps(body, ensure_ascii=False)
    yield "[DONE]"
