"""A newcomer's first answer and a warm CLI answer, as wall time of the real ``rag ask``.

    python bench/firstrun.py          # updates the "First answer" section of BENCHMARKS.md
    python bench/firstrun.py --json   # one JSON object as the last line

- ``first_answer_s``: in a fresh home (a copy of ``data/`` and of the shipped ``index/shipped``,
  nothing built), one ``rag ask``: start-up, installing the shipped index, the update that
  checks it against ``data/``, loading, answering.
- ``cli_ask_s``: the median of ``CLI_RUNS`` further ``rag ask`` calls in that home (index on disk).
- ``first_answer_unshipped_s`` (full runs only): the same first ``rag ask`` without the shipped
  index, which embeds the corpus: the baseline the shipped index is measured against.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import REPO, log
from scale import publish

SECTION = "## First answer"

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


def measure_first_run(root: Path, baseline: bool, runs: int = 1) -> dict[str, Any]:
    """``runs`` fresh homes for the first answer (median), ``CLI_RUNS`` warm asks in the last."""
    log("first answer: rag ask in a fresh home")
    firsts = []
    for run in range(runs):
        home = _fresh(root / str(run), shipped=True)
        firsts.append(_ask(home))
    out: dict[str, Any] = {"first_answer_s": statistics.median(firsts)}
    out["cli_ask_s"] = statistics.median(_ask(home) for _ in range(CLI_RUNS))
    if baseline:
        log("first answer without the shipped index (embeds the corpus)")
        out["first_answer_unshipped_s"] = _ask(_fresh(root / "baseline", shipped=False))
        out["first_answer_speedup"] = round(out["first_answer_unshipped_s"] / out["first_answer_s"], 1)
    return out


def render(result: dict[str, Any]) -> str:
    lines = [
        SECTION,
        "",
        '`python bench/firstrun.py`: wall time of the real `rag ask "广东的“卓粤”计划是什么？"` from start to exit, '
        "in a fresh project home holding a copy of `data/` (and of `index/shipped/`, the bundled briefings' "
        "shipped index), nothing built: start-up, installing the shipped index, the incremental update that "
        "checks it against `data/`, loading, answering.",
        "",
        "| | Wall (s) |",
        "|---|---|",
        f"| First answer, shipped index (median of 3 fresh homes) | **{result['first_answer_s']}** |",
    ]
    if "first_answer_unshipped_s" in result:
        lines.append(
            f"| First answer without it (embeds the corpus; the baseline) | {result['first_answer_unshipped_s']} |"
        )
        lines.append(f"| **Speed-up** | **{result['first_answer_speedup']}×** |")
    lines += [
        f"| A later `rag ask` in that home (median of {CLI_RUNS}) | {result['cli_ask_s']} |",
        "",
        "A `rag ask` pays for starting Python, importing what answering needs, loading the embedder "
        "and the index every time (jieba's dictionaries are memory-mapped tries, `rag.lexicon`; the first "
        "`rag ask` in a home compiles them once, which the first answer includes); a `rag serve` that is "
        "already running answers in tens of milliseconds (Query latency above).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object; leave BENCHMARKS.md alone"
    )
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rag-firstrun-") as tmp:
        result = measure_first_run(Path(tmp), baseline=True, runs=3)
    if args.json:
        print(json.dumps(result))
    else:
        publish(result, render, SECTION, args.out, False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
