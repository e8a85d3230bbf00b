"""Vectors of the sentences an extractive answer may quote, embedded once at index time.

The extractive answerer scores every sentence of the retrieved passages against the question
(its ``semantic`` signal, ``rag.answerers.relevance``). Embedding those sentences for every
question was nine tenths of an answer's time, so indexing embeds them once, beside the chunk
vectors, with the same embedder and the same texts the answerer offers
(``rag.answerers.candidates.passage_sentences``): answers are the same, only faster.

Each index version stores them in two files, rows grouped by document::

    sentence_keys.npy      uint64: each row's key, a 64-bit BLAKE2b digest of the sentence
    sentence_vectors.npy   float32, rows × dim, L2-normalised (memory-mapped when read)

and each document's ``[start, end)`` rows under ``sentences`` in its manifest entry, so an
update keeps an unchanged briefing's rows without working them out again. An index written
before these files existed still answers: the answerer embeds what it cannot look up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

KEYS_FILE = "sentence_keys.npy"
VECTORS_FILE = "sentence_vectors.npy"


def sentence_key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class SentenceVectors:
    """Sentence vectors by key; ``vectors`` may be memory-mapped."""

    keys: np.ndarray  # uint64, one per row
    vectors: np.ndarray  # float32, rows × dim

    @classmethod
    def empty(cls, dim: int) -> SentenceVectors:
        return cls(np.zeros(0, dtype=np.uint64), np.zeros((0, dim), dtype=np.float32))

    @classmethod
    def of(cls, texts: Sequence[str], vectors: np.ndarray) -> SentenceVectors:
        keys = np.fromiter((sentence_key(t) for t in texts), dtype=np.uint64, count=len(texts))
        return cls(keys, np.asarray(vectors, dtype=np.float32))

    @classmethod
    def concat(cls, parts: Iterable[SentenceVectors], dim: int) -> SentenceVectors:
        parts = list(parts)
        if not parts:
            return cls.empty(dim)
        return cls(
            np.concatenate([p.keys for p in parts]),
            np.concatenate([np.asarray(p.vectors) for p in parts]).astype(np.float32, copy=False),
        )

    def __len__(self) -> int:
        return len(self.keys)

    def rows(self, start: int, end: int) -> SentenceVectors:
        return SentenceVectors(self.keys[start:end], self.vectors[start:end])

    @cached_property
    def _sorted(self) -> tuple[np.ndarray, np.ndarray]:
        """The row order that sorts the keys, and the sorted keys."""
        order = np.argsort(self.keys, kind="stable")
        return order, self.keys[order]

    def lookup(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(found, vectors)``: which of ``texts`` are stored, and their vectors (zeros where not)."""
        wanted = np.fromiter((sentence_key(t) for t in texts), dtype=np.uint64, count=len(texts))
        out = np.zeros((len(texts), self.vectors.shape[1]), dtype=np.float32)
        if not len(self.keys) or not len(texts):
            return np.zeros(len(texts), dtype=bool), out
        order, sorted_keys = self._sorted
        at = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
        found = sorted_keys[at] == wanted
        out[found] = self.vectors[order[at[found]]]
        return found, out

    def save(self, directory: Path) -> None:
        np.save(directory / KEYS_FILE, self.keys.astype(np.uint64, copy=False))
        np.save(directory / VECTORS_FILE, np.asarray(self.vectors, dtype=np.float32))

    @classmethod
    def load(cls, directory: Path) -> SentenceVectors | None:
        """The stored vectors, memory-mapped; None for a version written without them."""
        if not (directory / KEYS_FILE).is_file():
            return None
        keys = np.load(directory / KEYS_FILE)
        vectors = np.load(directory / VECTORS_FILE, mmap_mode="r")
        if keys.dtype != np.uint64 or vectors.ndim != 2 or len(keys) != len(vectors):
            raise ValueError(f"{KEYS_FILE} 与 {VECTORS_FILE} 行数不一致")
        return cls(keys, vectors)
