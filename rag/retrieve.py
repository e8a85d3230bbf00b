"""Hybrid retrieval: dense (FAISS, cosine) and keyword (BM25 over jieba tokens), fused.

Scores: every ``Hit.score`` is in [0, 1], higher is more relevant.
- ``fusion = "weighted"`` (default): ``w·dense_rel + (1−w)·keyword_rel`` with ``w = 0.5``.
  ``keyword_rel`` is the BM25 score divided by the query's best BM25 score; ``dense_rel``
  rescales the cosine so the query's median chunk is 0 and its best chunk is 1 (clipped),
  because e5 cosines all crowd into 0.75–0.95 and would otherwise barely move the sum.
- ``fusion = "rrf"``: reciprocal-rank fusion, ``Σ 1/(rrf_k + rank)`` over the two rankings,
  divided by its maximum ``2/(rrf_k + 1)``; 1.0 means ranked first by both.
``Hit.dense`` is the raw cosine similarity and ``Hit.keyword`` is ``keyword_rel``, whatever
the fusion. The choice is measured in README (“检索融合”).

Questions are converted from Traditional to Simplified Chinese before both sides, so a
question in either script reaches the same passages; English questions rely on the
multilingual dense side (BM25 finds nothing to match and simply abstains).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from rag.config import RetrievalSettings
from rag.embedders import Embedder
from rag.errors import UnknownDocumentError
from rag.store import Index
from rag.text import query_tokens, to_simplified
from rag.types import Hit


class Retriever:
    def __init__(self, index: Index, embedder: Embedder, settings: RetrievalSettings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings

    def search(self, question: str, k: int | None = None, docs: Collection[str] | None = None) -> list[Hit]:
        """The ``k`` best chunks for ``question``, optionally only from the documents ``docs``."""
        k = k or self.settings.k
        n = len(self.index.chunks)
        if n == 0:
            return []
        mask = self._doc_mask(docs)
        query = to_simplified(question)
        dense = self._dense_scores(query)
        keyword = self._keyword_scores(query)
        fused = self._fuse(dense, keyword, mask)
        order = [int(i) for i in np.argsort(-fused, kind="stable") if mask[i]][:k]
        best_keyword = _best(keyword, mask)
        return [
            Hit(
                chunk=self.index.chunks[row],
                score=float(fused[row]),
                rank=rank,
                dense=float(dense[row]),
                keyword=float(keyword[row] / best_keyword),
            )
            for rank, row in enumerate(order, start=1)
        ]

    def _doc_mask(self, docs: Collection[str] | None) -> np.ndarray:
        mask = np.ones(len(self.index.chunks), dtype=bool)
        if docs:
            unknown = set(docs) - set(self.index.documents)
            if unknown:
                raise UnknownDocumentError(f"未知文档：{'、'.join(sorted(unknown))}（可用 rag list 查看）")
            mask = np.array([chunk.doc_id in docs for chunk in self.index.chunks])
        return mask

    def _dense_scores(self, query: str) -> np.ndarray:
        vector = self.embedder.embed_query(query).reshape(1, -1)
        n = len(self.index.chunks)
        scores = np.full(n, -1.0, dtype=np.float32)
        found, rows = self.index.vectors.search(vector, n)
        valid = rows[0] >= 0
        scores[rows[0][valid]] = found[0][valid]
        return scores

    def _keyword_scores(self, query: str) -> np.ndarray:
        tokens = query_tokens(query)
        if not tokens or self.index.bm25 is None:
            return np.zeros(len(self.index.chunks), dtype=np.float32)
        return np.asarray(self.index.bm25.get_scores(tokens), dtype=np.float32)

    def _fuse(self, dense: np.ndarray, keyword: np.ndarray, mask: np.ndarray) -> np.ndarray:
        s = self.settings
        if s.fusion == "weighted":
            best_keyword = _best(keyword, mask)
            median, best_dense = float(np.median(dense[mask])), float(dense[mask].max())
            dense_rel = np.clip((dense - median) / max(best_dense - median, 1e-6), 0.0, 1.0)
            weighted: np.ndarray = s.dense_weight * dense_rel + (1 - s.dense_weight) * keyword / best_keyword
            return weighted
        fused = np.zeros_like(dense)
        for scores in (dense, keyword):
            candidates = [i for i in np.argsort(-scores, kind="stable") if mask[i] and scores[i] > 0]
            for rank, row in enumerate(candidates[: s.candidates], start=1):
                fused[row] += 1.0 / (s.rrf_k + rank)
        return fused / (2.0 / (s.rrf_k + 1))


def _best(scores: np.ndarray, mask: np.ndarray) -> float:
    """The best score among the searched chunks, as a divisor (1.0 when nothing scored)."""
    best = float(scores[mask].max()) if mask.any() else 0.0
    return best if best > 0 else 1.0
