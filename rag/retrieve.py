"""Hybrid retrieval: dense (FAISS, cosine) and keyword (BM25 over jieba tokens), fused.

Scores: every ``Hit.score`` is in [0, 1], higher is more relevant.
- ``fusion = "weighted"`` (default): ``w·dense_rel + (1−w)·keyword_rel`` with ``w = 0.5``.
  ``keyword_rel`` is the BM25 score divided by the query's best BM25 score; ``dense_rel``
  rescales the cosine so the query's median chunk is 0 and its best chunk is 1 (clipped),
  because e5 cosines all crowd into 0.75–0.95 and would otherwise barely move the sum.
- ``fusion = "rrf"``: reciprocal-rank fusion, ``Σ 1/(rrf_k + rank)`` over the two rankings,
  divided by its maximum ``2/(rrf_k + 1)``; 1.0 means ranked first by both.

Each side contributes its best ``candidates`` rows (1000 by default, so the bundled corpus is
searched exhaustively) from the ``SearchBackend``; fusion runs over their union, the dense
median is taken over the dense candidates, and a row found by one side only scores nothing on
the other.
``Hit.dense`` is the raw cosine similarity and ``Hit.keyword`` is ``keyword_rel``, whatever
the fusion. The choice is measured in README (“检索融合”).

Questions are converted from Traditional to Simplified Chinese before both sides, so a
question in either script reaches the same passages. English questions rely mostly on the
multilingual dense side; BM25 gets their pinyin names and the translations of their words
(``rag.glossary``) that the best dense passages use.

A question that gives a document's whole title (“北京市促进科技成果转化条例要求哪些单位……”)
is searched in that document only, as if it were chosen with ``docs``: the user has said
where the answer must come from, and another regulation's article on the same subject is not
an answer (``named_documents``).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import cached_property

import numpy as np

from rag.backends import SearchBackend
from rag.config import RetrievalSettings
from rag.embedders import Embedder
from rag.errors import UnknownDocumentError
from rag.glossary import english_terms, is_cross_lingual
from rag.store import Index
from rag.text import normalize_for_match, query_tokens, to_simplified
from rag.types import Hit

# The best dense passages in which an English word's translations are looked for.
TRANSLATION_POOL = 10
# A title this short (“条例”, “简报”) names a kind of document, not one document.
_MIN_TITLE_CHARS = 6
# What a question may write differently in a title: 《》, and 省/市 after a place (北京市 → 北京).
_TITLE_VARIANTS = re.compile(r"[《》〈〉省市]")


class Retriever:
    """Fuses the dense and keyword candidates a ``SearchBackend`` returns (see the module docstring)."""

    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        settings: RetrievalSettings,
        backend: SearchBackend | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.backend = backend or index.search_backend(settings.hnsw_ef_search)

    def search(self, question: str, k: int | None = None, docs: Collection[str] | None = None) -> list[Hit]:
        """The ``k`` best chunks for ``question``, optionally only from the documents ``docs``."""
        k = k or self.settings.k
        if not self.index.chunks:
            return []
        query = to_simplified(question)
        rows = self._doc_rows(docs or self.named_documents(query))
        pool = max(k, self.settings.candidates)
        vector = self.embedder.embed_query(query)
        dense_rows, dense = self.backend.dense(vector, pool, rows)
        keywords = self._keywords(query, dense_rows)
        keyword_rows, keyword = self.backend.keyword(keywords, pool, rows)
        candidates = np.union1d(dense_rows, keyword_rows)
        if not len(candidates):
            return []
        # Scores are scaled as over the whole index, so that a passage ranks within the chosen
        # documents as it would among all: within one regulation every article is close to
        # the question, and its median would push the article asked for down.
        dense_scale, keyword_scale = dense, keyword
        if rows is not None:
            dense_scale = self.backend.dense(vector, pool, None)[1]
            keyword_scale = self.backend.keyword(keywords, pool, None)[1]
        # A candidate of one side only counts as scoring nothing on the other side.
        dense_all = _spread(candidates, dense_rows, dense, fill=-1.0)
        best_keyword = float(keyword_scale.max()) if len(keyword_scale) and keyword_scale.max() > 0 else 1.0
        keyword_rel = np.minimum(_spread(candidates, keyword_rows, keyword, fill=0.0) / best_keyword, 1.0)
        fused = self._fuse(dense_all, keyword_rel, dense_scale)
        order = np.argsort(-fused, kind="stable")[:k]
        return [
            Hit(
                chunk=self.index.chunks[int(candidates[i])],
                score=float(fused[i]),
                rank=rank,
                dense=float(dense_all[i]),
                keyword=float(keyword_rel[i]),
            )
            for rank, i in enumerate(order, start=1)
        ]

    def _keywords(self, query: str, dense_rows: np.ndarray) -> list[str]:
        """The BM25 query: the question's words; for an English question, its pinyin names and,
        for each of its words (``rag.glossary``), its one translation, or the one translation
        of several that the best dense passages use (“protection” → 保护, of 保护、庇佑、掩护……).
        A word whose translations the passages use several of adds none: all of a common word's
        translations would crowd out the passage the question is about."""
        tokens = query_tokens(query)
        if not is_cross_lingual(query):
            return tokens
        pooled = "".join(self.index.chunks[int(row)].text for row in dense_rows[:TRANSLATION_POOL])
        for term in english_terms(query):
            used = [word for word in term if len(term) == 1 or word in pooled]
            if len(used) == 1 and used[0] not in tokens:
                tokens.append(used[0])
        return tokens

    def named_documents(self, question: str) -> list[str]:
        """The documents whose whole title ``question`` gives (see the module docstring)."""
        asked = _title_key(question)
        return [doc_id for title, doc_id in self._titles if title in asked]

    @cached_property
    def _titles(self) -> list[tuple[str, str]]:
        keys = ((_title_key(doc.title), doc.doc_id) for doc in self.index.documents.values())
        return [(title, doc_id) for title, doc_id in keys if len(title) >= _MIN_TITLE_CHARS]

    def _doc_rows(self, docs: Collection[str] | None) -> np.ndarray | None:
        if not docs:
            return None
        unknown = set(docs) - set(self.index.documents)
        if unknown:
            raise UnknownDocumentError(f"未知文档：{'、'.join(sorted(unknown))}（可用 rag list 查看）")
        return np.array(sorted(row for doc in docs for row in self.index.doc_rows(doc)), dtype=np.int64)

    def _fuse(self, dense: np.ndarray, keyword_rel: np.ndarray, dense_scale: np.ndarray) -> np.ndarray:
        """Fused scores; ``dense_scale`` are the dense scores whose median and best set the scale."""
        s = self.settings
        if s.fusion == "weighted":
            dense_rel = np.zeros_like(dense)
            if len(dense_scale):
                median, best_dense = float(np.median(dense_scale)), float(dense_scale.max())
                dense_rel = np.clip((dense - median) / max(best_dense - median, 1e-6), 0.0, 1.0)
            weighted: np.ndarray = s.dense_weight * dense_rel + (1 - s.dense_weight) * keyword_rel
            return weighted
        fused = np.zeros_like(dense)
        for scores, floor in ((dense, -1.0), (keyword_rel, 0.0)):
            ranked = [i for i in np.argsort(-scores, kind="stable") if scores[i] > floor]
            for rank, i in enumerate(ranked, start=1):
                fused[i] += 1.0 / (s.rrf_k + rank)
        return fused / (2.0 / (s.rrf_k + 1))


def _title_key(text: str) -> str:
    """``text`` as titles are compared: simplified, without spaces, quote marks, 《》 and 省/市."""
    return _TITLE_VARIANTS.sub("", to_simplified(normalize_for_match(text)))


def _spread(candidates: np.ndarray, rows: np.ndarray, scores: np.ndarray, fill: float) -> np.ndarray:
    """``scores`` of ``rows`` laid out over ``candidates`` (sorted), ``fill`` elsewhere."""
    out = np.full(len(candidates), fill, dtype=np.float32)
    out[np.searchsorted(candidates, rows)] = scores
    return out
