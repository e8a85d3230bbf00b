"""Where the dense and keyword candidates come from: one small interface, one backend per engine.

Retrieval (``rag.retrieve``) only asks a ``SearchBackend`` for the best rows of each side and
fuses them; answering never sees the backend. ``local`` keeps FAISS and bm25s in memory beside
the index files; ``milvus`` keeps vectors, BM25, chunk records, documents and the manifest in
Milvus, so API servers on many machines share one corpus. An ``IndexStore`` is where an index
is written and loaded from; ``open_store`` picks it from ``retrieval.backend``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from rag.backends.local import VectorIndexKind
    from rag.config import Settings
    from rag.store import Index, IndexRows


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

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows``, in that order (re-indexing reuses them)."""
        ...


class IndexStore(Protocol):
    """Where an index is kept: how it is written (one writer at a time), loaded, and how a
    reader tells that a newer version was written (by any process, on any machine).
    ``keeps_sentences``: whether it stores the vectors of answer sentences (``IndexRows.sentences``);
    without them the answerer embeds the sentences of each answer's passages."""

    keeps_sentences: bool

    def exists(self) -> bool: ...

    def manifest(self) -> dict[str, Any] | None:
        """The current version's manifest; None when there is none (or it cannot be read)."""
        ...

    def version(self) -> str | None:
        """Names the current version (compare with ``Index.version``); None: no index."""
        ...

    def load(self, embedder_spec: str | None = None, *, with_tokens: bool = False) -> Index: ...

    def write(
        self, rows: IndexRows, *, vector_index: VectorIndexKind = "auto", appending_to: Index | None = None
    ) -> None:
        """Write a version of ``rows`` and make it current; ``appending_to`` (the current
        index, for an update that only adds briefings): these rows follow its rows."""
        ...

    def remove(self, index: Index, doc_ids: Sequence[str]) -> bool:
        """Take ``doc_ids`` out of the current version ``index`` in place; False when this
        store rewrites a version instead (the caller then writes the remaining rows)."""
        ...

    def lock(self) -> AbstractContextManager[None]:
        """Held while writing; a second writer gets ``IndexLockedError`` at once."""
        ...

    def describe(self) -> str:
        """Where, for messages and /api/health: ``local（…）`` or ``milvus（…）``."""
        ...


def open_store(settings: Settings) -> IndexStore:
    """The store ``retrieval.backend`` selects."""
    if settings.retrieval.backend == "milvus":
        from rag.backends.milvus import MilvusStore

        return MilvusStore(settings)
    from rag.store_write import LocalStore

    return LocalStore(settings.index_dir)
