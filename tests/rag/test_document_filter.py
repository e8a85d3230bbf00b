"""Searching within chosen documents ranks their passages as a search of all documents would."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from rag.config import RetrievalSettings
from rag.retrieve import Retriever
from rag.types import Chunk
from tests.fixtures.corpus import HashEmbedder

# Dense cosines and BM25 scores of six passages: rows 0-2 of a regulation whose articles are all
# close to the question (as in one regulation), rows 3-5 of other briefings. Row 2 is the article
# asked for: the best BM25 score, a middling cosine.
DENSE = np.array([0.95, 0.94, 0.92, 0.70, 0.65, 0.60], dtype=np.float32)
BM25 = np.array([3.0, 2.5, 9.0, 0.5, 0.4, 0.3], dtype=np.float32)


class TableBackend:
    """A search backend over fixed score tables (the fusion is what is tested)."""

    @staticmethod
    def _best(scores: np.ndarray, k: int, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        allowed = np.arange(len(scores)) if rows is None else rows
        order = allowed[np.argsort(-scores[allowed], kind="stable")][:k]
        return order, scores[order]

    def dense(
        self, vector: np.ndarray, k: int, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._best(DENSE, k, rows)

    def keyword(
        self, tokens: object, k: int, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._best(BM25, k, rows)

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError


TITLES = {"条例.md": "深圳经济特区人工智能产业促进条例", "简报.txt": "北京市促进科技成果转化条例"}


def _retriever() -> Retriever:
    chunks = [
        Chunk(f"c{row}", doc, TITLES[doc], (), f"第{row}条", 0, 1, 1, 1)
        for row, doc in enumerate(["条例.md"] * 3 + ["简报.txt"] * 3)
    ]
    rows_by_doc: dict[str, list[int]] = {}
    for row, chunk in enumerate(chunks):
        rows_by_doc.setdefault(chunk.doc_id, []).append(row)
    index = SimpleNamespace(
        chunks=chunks,
        documents={doc: SimpleNamespace(doc_id=doc, title=title) for doc, title in TITLES.items()},
        doc_rows=lambda doc: rows_by_doc.get(doc, []),
    )
    return Retriever(index, HashEmbedder(), RetrievalSettings(), backend=TableBackend())  # type: ignore[arg-type]


def test_a_question_giving_a_documents_whole_title_is_searched_in_that_document() -> None:
    retriever = _retriever()
    hits = retriever.search("北京市促进科技成果转化条例对此有什么规定？", 3)
    assert {hit.chunk.doc_id for hit in hits} == {"简报.txt"}
    # 省/市 and 《》 may be written differently; a part of a title names no document
    assert retriever.named_documents("《北京促进科技成果转化条例》对此有什么规定？") == ["简报.txt"]
    assert retriever.named_documents("科技成果转化条例对此有什么规定？") == []


def test_a_document_filter_scales_scores_as_among_all_documents() -> None:
    retriever = _retriever()
    everything = retriever.search("第二条规定了什么？", 6)
    within = retriever.search("第二条规定了什么？", 3, docs=["条例.md"])
    # Scaled among the regulation's own articles, row 2's cosine would be the lowest (0) and its
    # best BM25 score would not carry it past rows 0 and 1.
    assert within[0].chunk.chunk_id == "c2"
    assert [(h.chunk.chunk_id, h.score) for h in within] == [
        (h.chunk.chunk_id, h.score) for h in everything if h.chunk.doc_id == "条例.md"
    ]
