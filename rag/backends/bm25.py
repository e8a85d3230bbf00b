"""BM25 search over the keyword index bm25s writes, without importing bm25s to search.

Indexing builds the keyword index with bm25s, which stores its eager score matrix: for each
token (a column, CSC), the BM25 score of every row that contains it. Searching only adds up
the columns of the question's tokens. Done here with the same arrays, the same float type and
the same numpy operations in the same order as bm25s's own numpy path
(``BM25.get_scores``), the scores are bit for bit bm25s's, and answering a question does not
import bm25s and SciPy (0.2 s of every ``rag ask``). ``tests/rag/test_local_backend.py``
compares the two.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# bm25s's variants whose scores are all in the matrix; BM25L and BM25+ also score the tokens
# a row lacks, which this does not implement (indexing uses bm25s's default, lucene).
EAGER_METHODS = frozenset({"lucene", "robertson", "atire"})


@dataclass(frozen=True)
class KeywordIndex:
    vocab: dict[str, int]
    data: np.ndarray  # the scores, column after column
    indices: np.ndarray  # each score's row
    indptr: np.ndarray  # where each token's column starts in ``data``
    num_docs: int

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        """The index bm25s saved in ``folder`` (arrays memory-mapped)."""
        params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
        if params.get("method") not in EAGER_METHODS:
            raise ValueError(f"不支持的 BM25 变体：{params.get('method')}")
        vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        arrays = {
            name: np.load(folder / f"{name}.csc.index.npy", mmap_mode="r")
            for name in ("data", "indices", "indptr")
        }
        if arrays["data"].dtype != np.dtype(params["dtype"]):
            raise ValueError(f"BM25 分数类型为 {arrays['data'].dtype}，参数文件写的是 {params['dtype']}")
        return cls(vocab, arrays["data"], arrays["indices"], arrays["indptr"], int(params["num_docs"]))

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """Every row's BM25 score for ``tokens`` (a token given twice counts twice)."""
        scores = np.zeros(self.num_docs, dtype=self.data.dtype)
        for token in (self.vocab[t] for t in tokens if t in self.vocab):
            start, end = self.indptr[token], self.indptr[token + 1]
            np.add.at(scores, self.indices[start:end], self.data[start:end])
        return scores
