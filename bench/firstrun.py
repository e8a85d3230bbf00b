"""A newcomer's first answer and a warm CLI answer, as wall time of the real ``rag ask``.

- ``first_answer_s``: in a fresh home (a copy of ``data/`` and of the shipped ``index/shipped``,
  nothing built), one ``rag ask``: start-up, installing the shipped index, the update that
  checks it against ``data/``, loading, answering.
- ``cli_ask_s``: the median of ``CLI_RUNS`` further ``rag ask`` calls in that home (index on disk).
- ``first_answer_unshipped_s`` (full runs only): the same first ``rag ask`` without the shipped
  index, which embeds the corpus: the baseline the shipped index is measured against.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from measure import REPO, log

QUESTION = "广东的“卓粤”计划是什么？"
CLI_RUNS = 3


def _ask(home: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "rag", "ask", QUESTION],
        cwd=home,
        env={"PATH": "/usr/bin:/bin", "RAG_HOME": str(home), "HOME": str(home)},
        check=True,
        capture_output=True,
    )
    return round(time.perf_counter() - start, 2)


def _fresh(root: Path, shipped: bool) -> Path:
    home = root / ("shipped" if shipped else "unshipped")
    shutil.copytree(REPO / "data", home / "data")
    if shipped:
        shutil.copytree(REPO / "index" / "shipped", home / "index" / "shipped")
    return home


def measure_first_run(root: Path, baseline: bool) -> dict[str, Any]:
    log("first answer: rag ask in a fresh home")
    home = _fresh(root, shipped=True)
    out: dict[str, Any] = {"first_answer_s": _ask(home)}
    out["cli_ask_s"] = statistics.median(_ask(home) for _ in range(CLI_RUNS))
    if baseline:
        log("first answer without the shipped index (embeds the corpus)")
        out["first_answer_unshipped_s"] = _ask(_fresh(root, shipped=False))
    return out
