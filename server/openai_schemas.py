"""The /v1 (OpenAI chat.completions) request and response models.

Every OpenAI parameter is either honoured (``max_tokens``/``max_completion_tokens``, ``stop``,
``stream_options.include_usage``), passed to an LLM backend (``temperature``, ``top_p``,
``seed``, ``presence_penalty``, ``frequency_penalty``), accepted with no effect because it only
labels the request (``user``, ``metadata``, ``store``, ``service_tier``…), or refused with 400
naming it (``n`` > 1, ``response_format`` other than text, tools, logprobs…). A field that is
not OpenAI's is ignored and named in the answer's ``notices``. The README's OpenAI section
lists the same.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from rag.types import GenerationOptions
from server.schemas import (
    MAX_HISTORY_TURNS,
    QUESTION_EXAMPLE,
    Citation,
    PassageCount,
    Sentence,
    Usage,
    _integral,
)

MAX_STOP_SEQUENCES = 4  # OpenAI's limit
TokenCount = Annotated[int, Field(ge=1), BeforeValidator(_integral)]

# Accepted, with no effect on the answer: they label or route the request at OpenAI.
INFORMATIONAL = frozenset(
    {
        "user",
        "metadata",
        "store",
        "service_tier",
        "reasoning_effort",
        "verbosity",
        "parallel_tool_calls",  # qualifies tools, which are refused
        "prompt_cache_key",
        "safety_identifier",
    }
)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    include_usage: bool = Field(False, description="流式结束前多发一个 choices 为空、带 usage 的 chunk")


class ChatRequest(BaseModel):
    """OpenAI chat.completions request: what is honoured, passed on or refused is in the
    module docstring and the README."""

    model_config = ConfigDict(extra="allow", strict=True)

    model: str = Field(
        "briefing-rag", description="briefing-rag（默认回答器）或回答器名：extractive、llm、llm:<预设名>"
    )
    messages: list[ChatMessage] = Field(
        min_length=1,
        max_length=MAX_HISTORY_TURNS * 2 + 5,
        description="对话消息；最后一条 user 消息是问题",
        examples=[[{"role": "user", "content": QUESTION_EXAMPLE}]],
    )
    stream: bool = False
    stream_options: StreamOptions | None = Field(None, description="只能与 stream: true 同用")
    max_tokens: TokenCount | None = Field(None, description="回答的 token 上限：在此之内的句末结束")
    max_completion_tokens: TokenCount | None = Field(None, description="同 max_tokens（优先）")
    stop: str | list[str] | None = Field(
        None, description=f"停止序列（至多 {MAX_STOP_SEQUENCES} 个）：回答在含它的句子之前结束"
    )
    temperature: float | None = Field(None, ge=0, le=2, description="交给大模型后端；抽取式回答不受影响")
    top_p: float | None = Field(None, ge=0, le=1, description="交给大模型后端")
    seed: int | None = Field(None, description="交给大模型后端")
    presence_penalty: float | None = Field(None, ge=-2, le=2, description="交给大模型后端")
    frequency_penalty: float | None = Field(None, ge=-2, le=2, description="交给大模型后端")
    n: int | None = Field(None, description="只支持 1")
    response_format: dict[str, Any] | None = Field(None, description='只支持 {"type": "text"}')
    tools: list[Any] | None = Field(None, description="不支持（非空即 400）")
    tool_choice: str | dict[str, Any] | None = Field(None, description='只支持 "none"')
    functions: list[Any] | None = Field(None, description="不支持（非空即 400）")
    function_call: str | dict[str, Any] | None = Field(None, description='只支持 "none"')
    logprobs: bool | None = Field(None, description="不支持 true")
    top_logprobs: int | None = Field(None, description="不支持")
    logit_bias: dict[str, Any] | None = Field(None, description="不支持（非空即 400）")
    modalities: list[str] | None = Field(None, description='只支持 ["text"]')
    audio: dict[str, Any] | None = Field(None, description="不支持")
    prediction: dict[str, Any] | None = Field(None, description="不支持")
    k: PassageCount | None = Field(None, description="briefing-rag 扩展：作答所用段落数")
    docs: list[str] | None = Field(None, max_length=200, description="briefing-rag 扩展：只在这些简报中检索")

    def refusals(self) -> list[tuple[str, str]]:
        """(parameter, Chinese reason) for each parameter asked for that we cannot honour."""
        tools = "本服务只依据简报回答问题，不调用工具"
        fmt = (self.response_format or {}).get("type", "text")
        stops = self.stop_sequences()
        checks = {
            "n": (self.n not in (None, 1), f"不支持 n={self.n}：每个问题只给出一个带出处的回答"),
            "response_format": (
                fmt != "text",
                f"不支持 response_format 的 {fmt!r}：回答是带 [n] 标记的文本，结构化的出处在响应的 citations 字段中",
            ),
            "tools": (bool(self.tools), f"不支持 tools：{tools}"),
            "functions": (bool(self.functions), f"不支持 functions：{tools}"),
            "tool_choice": (self.tool_choice not in (None, "none"), f"tool_choice 只能为 none：{tools}"),
            "function_call": (
                self.function_call not in (None, "none"),
                f"function_call 只能为 none：{tools}",
            ),
            "logprobs": (bool(self.logprobs), "不支持 logprobs：回答逐句摘录或核验原文，没有逐词概率"),
            "top_logprobs": (self.top_logprobs is not None, "不支持 top_logprobs：没有逐词概率"),
            "logit_bias": (bool(self.logit_bias), "不支持 logit_bias：各后端的 token 编号不同"),
            "modalities": (self.modalities not in (None, ["text"]), 'modalities 只支持 ["text"]：只输出文本'),
            "audio": (self.audio is not None, "不支持 audio：只输出文本"),
            "prediction": (self.prediction is not None, "不支持 prediction（预测输出）"),
            "stream_options": (
                self.stream_options is not None and not self.stream,
                "stream_options 只能与 stream: true 一起使用",
            ),
            "stop": (
                len(stops) > MAX_STOP_SEQUENCES or not all(stops),
                f"stop 至多 {MAX_STOP_SEQUENCES} 个非空字符串",
            ),
        }
        return [(param, reason) for param, (refused, reason) in checks.items() if refused]

    def stop_sequences(self) -> list[str]:
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])

    def unknown(self) -> list[str]:
        """Fields that are not OpenAI's (nor ours): ignored, and named in the answer's notices."""
        return sorted(set(self.model_extra or {}) - INFORMATIONAL)

    def options(self) -> GenerationOptions:
        return GenerationOptions(
            max_tokens=self.max_completion_tokens or self.max_tokens,
            stop=tuple(self.stop_sequences()),
            temperature=self.temperature,
            top_p=self.top_p,
            seed=self.seed,
            presence_penalty=self.presence_penalty,
            frequency_penalty=self.frequency_penalty,
        )


class ModelCard(BaseModel):
    id: str = Field(description="briefing-rag 或回答器名，可作为 chat.completions 的 model")
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str = Field(description="回答（带 [n] 引用标记），默认其后附“参考来源”列表")


class ChatChoice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop", "length"] = Field(
        description="length：回答按 max_tokens 在句末截断；否则 stop"
    )


class ChatCompletion(BaseModel):
    """OpenAI chat.completion, plus the briefing-rag fields that /api/ask also returns."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    citations: list[Citation] = Field(description="briefing-rag 扩展：回答中 [n] 对应的出处")
    query: str = Field(description="briefing-rag 扩展：用于检索的完整问题（追问经改写后）")
    refused: bool = Field(description="briefing-rag 扩展：是否拒答")
    notices: list[str] = Field(description="briefing-rag 扩展：引用修复、后端回退、截断等说明")
    sentences: list[Sentence] = Field(description="briefing-rag 扩展：逐句引用核验结果")
