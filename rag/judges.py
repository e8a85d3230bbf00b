"""Support judges for grounding metrics: does this evidence support this claim?

Two judges, whose scores are not comparable with each other (every report names its judge):

- ``offline`` (default, no download): the support test of ``rag.citations`` — every number of
  the claim occurs in the evidence, and ``max(bigram recall, 0.5·bigram recall + 0.5·cosine
  rescaled from the embedder's window, see ``rag.calibration``) ≥ answer.min_support`` — with the
  configured embedder. Claims are the answer's sentences.
- ``llm``: the configured OpenAI-compatible model, asked with ``prompts/judge.zh.md`` to answer
  “是”/“否”, and with ``prompts/claims.zh.md`` to break an answer into atomic claims (RAGAS).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from rag.citations import REFUSAL, SupportChecker
from rag.config import Settings
from rag.embedders import Embedder
from rag.errors import ConfigError
from rag.llm_client import ChatClient, resolve_endpoint
from rag.prompts import render_prompt
from rag.sentences import content_length, split_sentences, strip_markers


class SupportJudge(Protocol):
    name: str
    rule: str  # one line for the report: how support is decided

    def supports(self, claim: str, evidence: Sequence[str]) -> bool: ...

    def claims(self, answer: str) -> list[str]: ...


def answer_sentences(answer: str) -> list[str]:
    """The sentences of an answer that state something: split on 。！？；, each with its markers,
    without the refusal sentence and fragments of fewer than four letters or characters."""
    return [
        s
        for s in split_sentences(answer)
        if content_length(strip_markers(s)) >= 4 and REFUSAL.rstrip("。") not in s
    ]


class OfflineJudge:
    name = "offline"

    def __init__(self, embedder: Embedder, min_support: float) -> None:
        self.checker = SupportChecker(embedder, min_support)
        floor, ceiling = self.checker.calibration.semantic_window
        self.rule = (
            f"离线判定（{embedder.spec}）：句中数字均出现在证据中，"
            f"且 max(字二元组召回, 0.5·召回 + 0.5·余弦[{floor:.2f},{ceiling:.2f}]归一) ≥ {min_support}"
        )

    def supports(self, claim: str, evidence: Sequence[str]) -> bool:
        return bool(evidence) and self.checker.support(claim, "\n".join(evidence)) >= self.checker.min_support

    def claims(self, answer: str) -> list[str]:
        return [strip_markers(s).strip() for s in answer_sentences(answer)]


class LLMJudge:
    """Asks the configured chat model; answers are cached per (claim, evidence)."""

    name = "llm"

    def __init__(self, settings: Settings, preset: str | None = None) -> None:
        self.settings = settings
        self.client = ChatClient(resolve_endpoint(settings.llm, preset))
        self.rule = f"大模型判定（{self.client.endpoint.label}），提示词 prompts/judge.zh.md 与 claims.zh.md"
        self._verdicts: dict[tuple[str, tuple[str, ...]], bool] = {}

    def supports(self, claim: str, evidence: Sequence[str]) -> bool:
        key = (claim, tuple(evidence))
        if key not in self._verdicts:
            passages = "\n\n".join(f"[{n}] {text}" for n, text in enumerate(evidence, start=1))
            prompt = render_prompt("judge", self.settings.home, claim=claim, passages=passages)
            reply = self.client.complete([{"role": "user", "content": prompt}], max_tokens=10).strip()
            self._verdicts[key] = reply.startswith("是") or reply.lower().startswith("yes")
        return self._verdicts[key]

    def claims(self, answer: str) -> list[str]:
        text = strip_markers(answer).strip()
        if not text:
            return []
        prompt = render_prompt("claims", self.settings.home, answer=text)
        reply = self.client.complete([{"role": "user", "content": prompt}], max_tokens=800)
        lines = [re.sub(r"^\s*(?:[-*•]|\d+[.、)])\s*", "", line).strip() for line in reply.splitlines()]
        return [line for line in lines if content_length(line) >= 2]


def get_judge(name: str, settings: Settings, embedder: Embedder) -> SupportJudge:
    """``offline``, ``llm`` or ``llm:<preset>``."""
    kind, _, preset = name.partition(":")
    if kind == "offline" and not preset:
        return OfflineJudge(embedder, settings.answer.min_support)
    if kind == "llm":
        return LLMJudge(settings, preset or None)
    raise ConfigError(f"未知的判定方式 {name!r}：可选 offline、llm 或 llm:<预设名>")
