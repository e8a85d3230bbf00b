"""The local search backend: FAISS and the BM25 matrix in memory, over the files of ``index/``.

The local backend keeps FAISS and the keyword index bm25s wrote (``rag.backends.bm25``) in memory. Its vector index follows the corpus size
(``choose_vector_index``): exact inner-product search (``IndexFlatIP``) up to
``FLAT_MAX_CHUNKS`` chunks, where one query costs well under 10 ms on a laptop core, and HNSW
(``IndexHNSWFlat``, M = 32) beyond, whose cost grows with log n; measured in BENCHMARKS.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import faiss
import numpy as np

from rag.backends.bm25 import KeywordIndex

VectorIndexKind = Literal["auto", "flat", "hnsw"]
FLAT_MAX_CHUNKS = 20_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
# A row filter (``--doc``) selecting at most this many rows is searched exactly, row by row:
# HNSW graph search with most nodes filtered out loses recall.
EXACT_FILTER_ROWS = 50_000


def choose_vector_index(setting: VectorIndexKind, chunks: int) -> Literal["flat", "hnsw"]:
    """The vector index to build: ``setting`` unless it is ``auto``, then by corpus size."""
    if setting != "auto":
        return setting
    return "flat" if chunks <= FLAT_MAX_CHUNKS else "hnsw"


def vector_index_kind(index: faiss.Index) -> Literal["flat", "hnsw"]:
    return "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"


def build_vector_index(
    vectors: np.ndarray, kind: Literal["flat", "hnsw"], base: faiss.Index | None = None
) -> faiss.Index:
    """A FAISS inner-product index of ``kind`` over the L2-normalised ``vectors``.

    ``base``, when given, already holds the vectors of the rows before ``vectors``: if it is
    of ``kind`` the new vectors are added to it (in place: an HNSW graph grows by the new rows
    instead of being rebuilt, which at 1M chunks takes tens of minutes); otherwise its vectors
    are read back and everything is built anew."""
    index: faiss.Index
    if base is not None and vector_index_kind(base) == kind:
        index = base
    else:
        if base is not None:
            vectors = np.concatenate([base.reconstruct_n(0, base.ntotal), vectors])
        dim = int(vectors.shape[1])
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        else:
            hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index = hnsw
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


class LocalBackend:
    """FAISS (flat or HNSW) and BM25 over the rows of one loaded index."""

    def __init__(self, vectors: faiss.Index, bm25: KeywordIndex | None, ef_search: int = 256) -> None:
        self.index = vectors
        self.bm25 = bm25
        self.ef_search = ef_search

    def dense(
        self, vector: np.ndarray, k: int, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        n = self.index.ntotal
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        if rows is not None and len(rows) <= EXACT_FILTER_ROWS:
            scores = self.index.reconstruct_batch(rows.astype(np.int64)) @ query[0]
            return _top(rows, scores, k)
        params = None
        if isinstance(self.index, faiss.IndexHNSW):
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # missing from faiss's stubs
            params.efSearch = max(self.ef_search, min(k, n))
        if rows is not None:
            params = params or faiss.SearchParameters()
            selector = faiss.IDSelectorBatch(rows.astype(np.int64))
            params.sel = selector
        found, ids = self.index.search(query, min(k, n), params=params)
        valid = ids[0] >= 0
        return ids[0][valid].astype(np.int64), found[0][valid]

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros((0, self.index.d), dtype=np.float32)
        return np.asarray(self.index.reconstruct_batch(rows.astype(np.int64)), dtype=np.float32)

    def keyword(
        self, tokens: Sequence[str], k: int, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if not tokens or self.bm25 is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = np.asarray(self.bm25.scores(tokens), dtype=np.float32)
        candidates = rows if rows is not None else np.arange(len(scores))
        positive = candidates[scores[candidates] > 0]
        return _top(positive, scores[positive], k)


def _top(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best ``rows`` by ``scores``, best first (ties by row)."""
    if len(rows) > k:
        keep = np.argpartition(-scores, k - 1)[:k]
        rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))
    return rows[order].astype(np.int64), scores[order].astype(np.float32)
