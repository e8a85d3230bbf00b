"""Benchmark suite: indexing throughput, query latency, memory and retrieval quality vs a peer recipe.

    python bench/run.py --quick --json   # < 5 min; one JSON object as the last line of stdout
    python bench/run.py                  # full: more repetitions, the HTTP layer, load, the scale, growth, long-PDF and thread runs; writes BENCHMARKS.md
    python bench/run.py --quick --serve  # quick, plus a quick HTTP-layer measurement (bench/serve.py)

Everything is measured in one process with the same embedder object, on a copy of ``data/``
in a temporary project home with default settings. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from firstrun import SECTION as FIRST_RUN_SECTION
from firstrun import measure_first_run
from firstrun import render as render_first_run
from grow import SECTION as GROW_SECTION
from grow import measure as measure_grow
from grow import render_section as render_grow
from load import SECTION as LOAD_SECTION
from load import LoadPlan, measure_load, render_load_section
from longpdf import SECTION as LONG_PDF_SECTION
from longpdf import measure as measure_long_pdf
from longpdf import render_section as render_long_pdf
from measure import (
    EMBEDDER,
    REPO,
    Passes,
    log,
    measure_indexing,
    measure_latency,
    project_home,
    timed,
    warm_up,
    warn_about_rag_settings,
)
from quality import CONFIGS, build_peer, evidence_reachable, our_searches, score_search
from report import cpu_pressure_s, machine_info, render_markdown
from scale import SECTION as SCALE_SECTION
from scale import find_section, measure_scale, render_scale_section, replace_section
from serve import FULL as SERVE_FULL
from serve import QUICK as SERVE_QUICK
from serve import ServePlan, measure_serve
from threads import SECTION as THREADS_SECTION
from threads import measure as measure_threads
from threads import render_section as render_threads

from rag.answerers import get_answerer
from rag.embedders import get_embedder
from rag.evaluate import EvalItem, load_eval_set, score_run
from rag.metadata import names_by_original
from rag.pipeline import Pipeline
from rag.store import load_index

BUSY_PRESSURE_PCT = 5.0


@dataclass(frozen=True)
class Plan:
    index_runs: int  # cold builds, each followed by an embed-only pass
    reindex_runs: int
    search: Passes
    ask: Passes
    serve: ServePlan | None = None  # the HTTP layer (bench/serve.py), on the same Pipeline
    load: LoadPlan | None = None  # many clients at once (bench/load.py), on the same Pipeline
    unshipped_first_run: bool = False  # also time a first answer that embeds the corpus (bench/firstrun.py)


QUICK = Plan(index_runs=1, reindex_runs=3, search=Passes(3, 3, 0), ask=Passes(1, 1, 0))
# Under CPU contention a query can take 100× longer (see BENCHMARKS.md); the budgets keep a
# full run near 15 minutes on a busy machine while still taking 15 search passes on an idle one.
# The HTTP layer adds about 4 minutes, the load steps about 13.
FULL = Plan(
    index_runs=3,
    reindex_runs=5,
    search=Passes(3, 15, 90),
    ask=Passes(1, 3, 90),
    serve=SERVE_FULL,
    load=LoadPlan(),
    unshipped_first_run=True,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, no BENCHMARKS.md")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line (last line)")
    parser.add_argument(
        "--serve", action="store_true", help="quick mode: also measure the HTTP layer (full mode always does)"
    )
    parser.add_argument(
        "--eval-set",
        type=Path,
        default=REPO / "eval" / "sets" / "dev.jsonl",
        help="question set, JSONL (format: ../shared/eval/README.md)",
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "BENCHMARKS.md", help="report written by a full run"
    )
    parser.add_argument(
        "--skip-load",
        action="store_true",
        help="full mode: keep the Load section of --out instead of rerunning it (about 13 min)",
    )
    parser.add_argument(
        "--skip-scale",
        action="store_true",
        help="full mode: keep the Scale, Updating a large index, Long PDF and Threads sections of --out "
        "instead of rerunning them (about 90 min)",
    )
    return parser.parse_args(argv)


def answer_metrics(items: list[EvalItem], run: list[dict[str, Any]]) -> dict[str, Any]:
    overall = score_run(items, run)["overall"]
    return {
        k: overall[k] for k in ("keyword_coverage", "false_refusal_rate", "refusal_accuracy") if k in overall
    }


def benchmark(plan: Plan, items: list[EvalItem], home: Path) -> dict[str, Any]:
    settings = project_home(home)
    embedder = get_embedder(EMBEDDER)
    warm_up(embedder)

    log(f"indexing: {plan.index_runs} cold build(s) + embed-only pass(es)")
    indexing = measure_indexing(settings, embedder, plan.index_runs, plan.reindex_runs)
    index = load_index(settings.index_dir, embedder.spec)
    pipeline = Pipeline(settings, embedder, index, get_answerer(settings.answerer, settings, embedder))

    log(f"latency: {plan.search.min}–{plan.search.max} search and {plan.ask.min}–{plan.ask.max} ask passes")
    latency, ask_run = measure_latency(pipeline, items, plan.search, plan.ask)
    serve = {"serve": measure_serve(pipeline, plan.serve)} if plan.serve else {}
    if plan.load:
        log("load: many clients at once (bench/load.py)")
    load = {"load": measure_load(pipeline, plan.load)} if plan.load else {}

    log("quality: ours and ablations")
    names = names_by_original(settings.data_dir)
    quality = {name: score_search(items, search, names) for name, search in our_searches(pipeline).items()}
    log("quality: building the peer baseline (LangChain splitter + dense)")
    peer, peer_timing = build_peer(settings.data_dir, embedder)
    quality["peer"] = score_search(items, peer.search, names)
    peer_chars = sum(map(len, peer.chunks))
    first_run = measure_first_run(home / "first-run", baseline=plan.unshipped_first_run)

    return {
        "retrieval_defaults": settings.retrieval.model_dump(),
        "documents": len(index.documents),
        **indexing.summary(),
        "peer_chunks": len(peer.chunks),
        "peer_embed_chars": peer_chars,
        "peer_index_s": round(peer_timing.wall_s, 2),
        "peer_index_cpu_s": round(peer_timing.cpu_s, 2),
        "peer_index_chars_per_s": round(peer_chars / peer_timing.wall_s, 1),
        "questions": len(items),
        **latency.summary(),
        **first_run,
        **{
            f"{name}_{k}": quality[name]["overall"][k]
            for name in ("ours", "peer")
            for k in ("recall@5", "mrr@10")
        },
        "answers": answer_metrics(items, ask_run),
        "evidence_reachable": {
            "answerable": sum(item.answerable for item in items),
            "peer": evidence_reachable(items, peer.raw),
            "ours": evidence_reachable(items, [doc.text for doc in index.documents.values()]),
        },
        "quality": {name: quality[name] for name in CONFIGS},
        **serve,
        **load,
    }


def write_report(results: dict[str, Any], machine: dict[str, Any], args: argparse.Namespace) -> None:
    """BENCHMARKS.md: this run's sections, and the sections measured on their own kept."""
    markdown = render_markdown(results, machine)
    previous = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    if args.skip_scale:
        for heading in (SCALE_SECTION, GROW_SECTION, LONG_PDF_SECTION, THREADS_SECTION):
            if kept := find_section(previous, heading):
                markdown = replace_section(markdown, kept, heading)
    else:
        log("scale: synthetic 100k and 1M chunks (bench/scale.py)")
        markdown = replace_section(markdown, render_scale_section(measure_scale()))
        log("updating a large index: 100k chunks (bench/grow.py)")
        markdown = replace_section(markdown, render_grow(measure_grow()), GROW_SECTION)
        log("long PDF: 1,000 pages (bench/longpdf.py)")
        markdown = replace_section(markdown, render_long_pdf(measure_long_pdf(1000)), LONG_PDF_SECTION)
        log("threads: 1 thread vs every core (bench/threads.py)")
        markdown = replace_section(markdown, render_threads(measure_threads()), THREADS_SECTION)
    for heading in (
        "## Readers",
        "## Milvus",
    ):  # measured on their own: bench/readers.py, bench/milvus.py
        if kept := find_section(previous, heading):
            markdown = replace_section(markdown, kept, heading)
    first_run = {k: results[k] for k in results if k.startswith(("first_answer", "cli_ask"))}
    markdown = replace_section(markdown, render_first_run(first_run), FIRST_RUN_SECTION)
    if "load" in results:
        context = (
            "Measured in the same run as the figures above, on the same Pipeline object. "
            "Rerun with `python bench/load.py --write` to update this section only."
        )
        markdown = replace_section(
            markdown, render_load_section(results["load"], machine, context), LOAD_SECTION
        )
    elif kept := find_section(previous, LOAD_SECTION):
        markdown = replace_section(markdown, kept, LOAD_SECTION)
    args.out.write_text(markdown, encoding="utf-8")
    log(f"wrote {args.out}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.skip_load:
        plan = replace(plan, load=None)
    if args.quick and args.serve:
        plan = replace(plan, serve=SERVE_QUICK)
    warn_about_rag_settings()
    machine = machine_info(REPO)
    items = load_eval_set(args.eval_set)
    pressure_start = cpu_pressure_s()
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        results, total = timed(lambda: benchmark(plan, items, Path(tmp)))
    pressure_end = cpu_pressure_s()
    # The HTTP layer's 16-client bursts and the load steps make this process's own threads wait
    # for the cores: leave them out, so the figure still says whether *other* processes competed.
    bursts_s = results.get("serve", {}).get("bursts_s", 0.0) + results.get("load", {}).get("steps_s", 0.0)
    bursts_pressure_s = results.get("serve", {}).get("bursts_cpu_pressure_s", 0.0) + results.get(
        "load", {}
    ).get("steps_cpu_pressure_s", 0.0)
    results = {
        "mode": "quick" if args.quick else "full",
        **results,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "cpu_pressure_pct": (
            round(100 * (pressure_end - pressure_start - bursts_pressure_s) / (total.wall_s - bursts_s), 1)
            if pressure_start is not None and pressure_end is not None
            else None
        ),
        "elapsed_s": round(total.wall_s, 1),
        "finished_at": f"{datetime.now():%Y-%m-%d %H:%M}",
    }
    log(f"done in {total.wall_s:.0f} s")
    if (results["cpu_pressure_pct"] or 0) > BUSY_PRESSURE_PCT:
        log(
            f"warning: other processes competed for the CPU ({results['cpu_pressure_pct']}% pressure); timings are noisy"
        )
    if not args.quick:
        write_report(results, machine, args)
    if args.json:
        print(json.dumps({**results, "machine": machine}, ensure_ascii=False))
    else:
        print(render_markdown(results, machine))
    return 0


if __name__ == "__main__":
    sys.exit(main())
