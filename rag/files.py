"""Writing a file whole: under a hidden temporary name beside it, then one rename, so a crash
or a full disk never leaves half a file where the old one was; and telling whether the process
that left such a file (or a lock) is still alive."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``; the temporary ``.<name>.part-<pid>`` never stays behind
    (``rag.indexing.clear_leftovers`` knows the name should a process die mid-write)."""
    partial = path.with_name(f".{path.name}.part-{os.getpid()}")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` (on this machine) is running."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
