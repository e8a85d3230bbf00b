"""Eval sets: the item model, the known question types and the JSONL loader.

Format: ``eval/README.md`` (one JSON object per line with ``id``, ``question``, ``answerable``,
``evidence_any``, ``answer_keywords``, ``source``, ``type`` and, for follow-ups, ``history``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.conversation import Turn
from rag.errors import EvalSetError

# Types of items that have an answer in the corpus, and of items that must be refused.
ANSWERABLE_TYPES = (
    "fact",
    "number",
    "paraphrase",
    "keyword",
    "list",
    "traditional",
    "english",
    "article",
    "followup",
)
UNANSWERABLE_TYPES = ("unanswerable", "offtopic", "nearmiss", "followup_unresolved")
TYPES = (*ANSWERABLE_TYPES, *UNANSWERABLE_TYPES)
# Types whose question only makes sense after the conversation in ``history``.
HISTORY_TYPES = ("followup", "followup_unresolved")
ROLES = ("user", "assistant")


class HistoryTurn(BaseModel):
    """One earlier turn of the conversation a follow-up question continues."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)


class EvalItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    question: str = Field(min_length=1)
    answerable: bool
    evidence_any: list[str] = []
    answer_keywords: list[str] = []
    source: str | None = None
    type: str = "unknown"
    history: list[HistoryTurn] = []

    def turns(self) -> list[Turn]:
        """``history`` as the conversation turns the pipeline takes."""
        return [Turn(turn.role, turn.content) for turn in self.history]


def history_problems(history: Any) -> list[str]:
    """What is wrong with a raw ``history`` value, in Chinese (empty when it is a list of
    ``{"role": "user"|"assistant", "content": 非空字符串}``)."""
    if not isinstance(history, list):
        return [f"history 须为列表，而不是 {type(history).__name__}"]
    problems = []
    for number, turn in enumerate(history, start=1):
        if not isinstance(turn, Mapping):
            problems.append(f"history 第 {number} 轮须为对象（含 role 与 content）")
            continue
        if turn.get("role") not in ROLES:
            problems.append(
                f"history 第 {number} 轮的 role 须为 user 或 assistant，而不是 {turn.get('role')!r}"
            )
        content = turn.get("content")
        if not isinstance(content, str) or not content.strip():
            problems.append(f"history 第 {number} 轮的 content 须为非空字符串")
        if extra := sorted(set(turn) - {"role", "content"}):
            problems.append(f"history 第 {number} 轮有多余字段：{'、'.join(map(str, extra))}")
    return problems


def load_eval_set(path: Path) -> list[EvalItem]:
    """Read a JSONL set; a malformed line is an error naming its line number."""
    if not path.is_file():
        raise EvalSetError(f"找不到评测集：{path}")
    items: list[EvalItem] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise EvalSetError(f"{path.name} 第 {number} 行格式错误：{e}") from e
        if isinstance(data, dict):
            if isinstance(data.get("id"), int):
                data["id"] = str(data["id"])
            if problems := history_problems(data.get("history", [])):
                raise EvalSetError(f"{path.name} 第 {number} 行：{'；'.join(problems)}")
        try:
            item = EvalItem.model_validate(data)
        except ValidationError as e:
            raise EvalSetError(f"{path.name} 第 {number} 行格式错误：{e}") from e
        if item.id in seen:
            raise EvalSetError(f"{path.name} 第 {number} 行：id {item.id!r} 重复")
        if item.answerable and not item.evidence_any:
            raise EvalSetError(f"{path.name} 第 {number} 行：可回答的条目需要 evidence_any")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise EvalSetError(f"评测集为空：{path}")
    return items
