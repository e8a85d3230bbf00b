"""Conversation turns, and the offline rule that turns a follow-up into a standalone question."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

_MARKER = re.compile(r"\[\d+\]")
# A follow-up leans on the previous question: it opens with a connective or refers back.
_FOLLOW_UP = re.compile(
    r"^(那|那么|还有|另外|此外|以及|和|与|而|并且|其中|其|它|他|她|该|这|此|上述|以上|前者|后者)"
    r"|(它|他们|她们|它们|其|该|这些|那些|这个|那个|这项|这一|上述|此项)"
    r"|呢[？?]?$"
)
_SHORT_FOLLOW_UP = 8  # characters


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


def rewrite_follow_up(question: str, history: Sequence[Turn]) -> str:
    """Offline rule: a follow-up (refers back, or at most 8 characters) is prefixed with the
    previous user question, so retrieval sees the topic (“那浙江呢？” after “广东的‘卓粤’计划
    是什么？” becomes “广东的‘卓粤’计划是什么？ 那浙江呢？”). Other questions stand alone."""
    previous = [turn.content.strip() for turn in history if turn.role == "user" and turn.content.strip()]
    if not previous:
        return question
    if _FOLLOW_UP.search(question) or len(question.strip()) <= _SHORT_FOLLOW_UP:
        return f"{previous[-1]} {question}"
    return question


def format_history(history: Sequence[Turn], max_turns: int = 6) -> str:
    """The last turns as “用户：…/助手：…” lines, citation markers removed (for the condense prompt)."""
    lines = []
    for turn in history[-max_turns:]:
        who = "用户" if turn.role == "user" else "助手"
        lines.append(f"{who}：{_MARKER.sub('', turn.content).strip()}")
    return "\n".join(lines)
