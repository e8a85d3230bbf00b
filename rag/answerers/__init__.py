"""Answerers turn a question and retrieved passages into a cited ``Answer``.

Chosen by a spec string: ``extractive`` (offline, the default), ``llm`` (the endpoint in
``[llm]``) or ``llm:<preset>`` (deepseek, qwen, glm, moonshot, vllm, ollama, llamacpp).
"""

from __future__ import annotations

from collections.abc import Callable

from rag.answerers.base import (
    Answerer,
    AnswerEvent,
    DoneEvent,
    PipelineEvent,
    RetrievedEvent,
    TokenEvent,
    collect,
)
from rag.answerers.extractive import ExtractiveAnswerer
from rag.citations import REFUSAL
from rag.config import Settings
from rag.embedders import Embedder
from rag.errors import UnknownBackendError

__all__ = [
    "REFUSAL",
    "AnswerEvent",
    "Answerer",
    "DoneEvent",
    "ExtractiveAnswerer",
    "PipelineEvent",
    "RetrievedEvent",
    "TokenEvent",
    "check_answerer",
    "available_answerers",
    "collect",
    "get_answerer",
]


def _llm(spec: str, option: str, settings: Settings, embedder: Embedder) -> Answerer:
    from rag.answerers.llm import LLMAnswerer

    return LLMAnswerer(spec, settings, embedder, preset=option or None)


_ANSWERERS: dict[str, Callable[[str, str, Settings, Embedder], Answerer]] = {
    "extractive": lambda spec, option, settings, embedder: ExtractiveAnswerer(settings.answer, embedder),
    "llm": _llm,
}


def check_answerer(spec: str, settings: Settings) -> None:
    """Fail fast, building nothing, on an unknown answerer or an LLM backend without its key."""
    scheme, _, option = spec.strip().partition(":")
    if scheme not in _ANSWERERS:
        usable = "、".join(available_answerers(settings))
        raise UnknownBackendError(
            f"未知回答器 {spec!r}。现在可用：{usable}（配置 [llm] 或设置预设的 API key 后还可用 llm、llm:<预设名>）"
        )
    if scheme == "extractive" and option:
        raise UnknownBackendError(f"extractive 不接受参数：{spec}")
    if scheme == "llm":
        from rag.llm_client import resolve_endpoint

        resolve_endpoint(settings.llm, option or None)


def get_answerer(spec: str, settings: Settings, embedder: Embedder) -> Answerer:
    check_answerer(spec, settings)
    scheme, _, option = spec.strip().partition(":")
    return _ANSWERERS[scheme](spec.strip(), option, settings, embedder)


def available_answerers(settings: Settings) -> list[str]:
    """Specs a request may name and that work now: extractive; llm when ``[llm]`` names an
    endpoint; and each preset that is configured (``[llm] preset``) or whose API key is set.
    A preset without its key would only answer ``needs_key``, so it is not offered."""
    from rag.errors import RagError
    from rag.llm_client import PRESETS, resolve_endpoint

    names = ["extractive"]
    if settings.llm.preset or settings.llm.base_url:
        names.append("llm")
    if settings.answerer not in names:
        names.append(settings.answerer)
    for preset in PRESETS:
        spec = f"llm:{preset}"
        if spec in names:
            continue
        try:
            endpoint = resolve_endpoint(settings.llm, preset)
        except RagError:
            continue
        if endpoint.api_key or preset == settings.llm.preset:
            names.append(spec)
    return names
