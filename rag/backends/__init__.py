"""Where the dense and keyword candidates come from: one small interface, one backend per engine.

Retrieval (``rag.retrieve``) only asks a ``SearchBackend`` for the best rows of each side and
fuses them; answering never sees the backend. ``local`` keeps FAISS and bm25s in memory beside
the index files; an engine built to scale out implements the same two methods over chunk rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class SearchBackend(Protocol):
    """The best rows of each side for a query. ``rows`` (sorted row numbers), when given,
    restricts the search to them. Both return ``(rows, scores)``, best first."""

    def dense(
        self, vector: np.ndarray, k: int, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows by cosine similarity to the L2-normalised query ``vector``."""
        ...

    def keyword(
        self, tokens: Sequence[str], k: int, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows by BM25 score for the query ``tokens``; rows scoring 0 are left out."""
        ...
