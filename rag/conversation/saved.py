"""The conversation of ``rag ask``, kept in ``<home>/.rag/conversation.json`` for ``--continue``."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rag.conversation.turns import Turn

log = logging.getLogger(__name__)

MAX_EXCHANGES = 10  # question–answer pairs kept
_VERSION = 1


def conversation_path(home: Path) -> Path:
    return home / ".rag" / "conversation.json"


def load_conversation(path: Path) -> list[Turn]:
    """The saved turns; none when the file is missing or unreadable (logged)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        turns = [
            Turn(t["role"], str(t["content"])) for t in data["turns"] if t["role"] in ("user", "assistant")
        ]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("ignoring the saved conversation %s: %s", path, e)
        return []
    return turns


def save_conversation(path: Path, turns: Sequence[Turn]) -> None:
    """Write the last ``MAX_EXCHANGES`` question–answer pairs atomically (a temporary file
    in the same folder, then a rename), so an interrupted write leaves the old file."""
    kept = list(turns)
    users = [n for n, turn in enumerate(kept) if turn.role == "user"]
    if len(users) > MAX_EXCHANGES:
        kept = kept[users[-MAX_EXCHANGES] :]
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"version": _VERSION, "turns": [{"role": t.role, "content": t.content} for t in kept]}
    fd, temporary = tempfile.mkstemp(prefix=".conversation-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(record, file, ensure_ascii=False, indent=1)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
