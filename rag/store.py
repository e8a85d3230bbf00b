"""The index directory: FAISS vectors, row-aligned chunk records, BM25 and a manifest.

Layout (``index/<name>`` is a symlink to the current version directory)::

    index/<name> -> <name>@<stamp>/
        manifest.json     format, embedder spec, dim, chunker version, documents and hashes
        vectors.faiss     FAISS index over L2-normalised vectors (inner product = cosine):
                          exact IndexFlatIP, or HNSW for large corpora (see rag.backends.local)
        chunks.jsonl      one chunk record per FAISS row, with its BM25 tokens
        documents.jsonl   cleaned text and source anchors of every document
        bm25/             bm25s index over the same rows
        sentence_*.npy    vectors of the sentences answers quote (``rag.sentence_vectors``)

A new version is written completely beside the current one and swapped in by replacing the
symlink (an atomic rename), so a crash or kill -9 during a write leaves the previous index
loadable. Writers hold an exclusive lock on ``index/<name>.lock``. Reading is here, writing
in ``rag.store_write``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.backends import SearchBackend
from rag.backends.bm25 import KeywordIndex
from rag.backends.local import LocalBackend
from rag.errors import EmbedderMismatchError, IndexCorruptError, IndexMissingError
from rag.sentence_vectors import SentenceVectors
from rag.text import to_simplified
from rag.types import Chunk, Document

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class IndexRows:
    """What a write adds to an index: row-aligned chunks, their BM25 tokens and vectors, the
    documents they come from, and what made them (embedder, chunker). ``sentences``, when
    given, holds each document's answer sentence vectors, in the order of ``documents``."""

    chunks: Sequence[Chunk]
    tokens: Sequence[list[str]]
    vectors: np.ndarray
    documents: Sequence[Document]
    embedder_spec: str
    chunker_version: str
    sentences: Sequence[SentenceVectors] | None = None

    def __post_init__(self) -> None:
        if len(self.chunks) != len(self.tokens) or len(self.chunks) != self.vectors.shape[0]:
            raise ValueError("chunks, tokens and vectors must be row-aligned")
        if self.sentences is not None and len(self.sentences) != len(self.documents):
            raise ValueError("one set of sentence vectors per document")


@dataclass
class Index:
    """A loaded index: everything retrieval and answering need, row-aligned. ``path`` is the
    version directory it was read from (see ``current_version``)."""

    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: faiss.Index | None  # None when an engine (``backend``) holds them
    bm25: KeywordIndex | None
    documents: dict[str, Document]
    backend: SearchBackend | None = None  # the engine searching this index; None: FAISS and bm25s here
    version: str = ""  # which version this is (``IndexStore.version`` names the current one)
    sentences: SentenceVectors | None = None  # None: written without them (answers embed them)

    def stored_sentences(self, doc_id: str) -> SentenceVectors | None:
        """The stored sentence vectors of ``doc_id`` (an update keeps them); None when not stored."""
        span = self.manifest["documents"].get(doc_id, {}).get("sentences")
        if self.sentences is None or span is None:
            return None
        return self.sentences.rows(*span)

    @property
    def embedder(self) -> str:
        return str(self.manifest["embedder"])

    def search_backend(self, ef_search: int = 256) -> SearchBackend:
        if self.backend is not None:
            return self.backend
        assert self.vectors is not None, "a local index always has its FAISS vectors"
        return LocalBackend(self.vectors, self.bm25, ef_search)

    def read_vectors(self, rows: Sequence[int]) -> np.ndarray:
        """The stored vectors of ``rows`` (re-indexing reuses them instead of embedding again)."""
        return self.search_backend().vectors(np.asarray(rows, dtype=np.int64))

    def document_summaries(self) -> list[dict[str, Any]]:
        """One row per briefing: file name, title, publisher, date, kind and chunk count."""
        counts: dict[str, int] = {}
        for chunk in self.chunks:
            counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
        return [
            {
                "doc": doc.doc_id,
                "title": doc.title,
                "publisher": doc.info("publisher"),
                "date": doc.info("date"),
                "kind": doc.kind,
                "chunks": counts.get(doc.doc_id, 0),
            }
            for doc in self.documents.values()
        ]

    @cached_property
    def tokens(self) -> list[list[str]]:
        """Each row's BM25 tokens, read from disk when first needed (re-indexing reuses them).
        They are not kept otherwise: a few hundred strings per chunk, more than all the rest."""
        try:
            with (self.path / "chunks.jsonl").open(encoding="utf-8") as f:
                tokens = [json.loads(line)["tokens"] for line in f]
        except (OSError, ValueError, KeyError) as e:
            raise _corrupt(self.path, e) from e
        if len(tokens) != len(self.chunks):
            raise _corrupt(self.path, f"{len(tokens)} 行分块记录，应为 {len(self.chunks)} 行")
        return tokens

    @cached_property
    def searchable_text(self) -> str:
        """All titles and texts, in Simplified and lower case, to ask whether a word occurs
        anywhere in the briefings (``rag.answerers.relevance.corpus_coverage``)."""
        return to_simplified("\n".join(f"{doc.title}\n{doc.text}" for doc in self.documents.values())).lower()

    def doc_rows(self, doc_id: str) -> list[int]:
        """The rows of ``doc_id``'s chunks, in order."""
        return self._rows_by_doc.get(doc_id, [])

    @cached_property
    def _rows_by_doc(self) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = {}
        for row, chunk in enumerate(self.chunks):
            rows.setdefault(chunk.doc_id, []).append(row)
        return rows


def index_exists(path: Path) -> bool:
    return (path / MANIFEST).is_file()


LOAD_ATTEMPTS = 3


def current_version(path: Path) -> Path | None:
    """The complete version directory ``path`` points at now (``path`` itself for an index
    directory that is not a symlink); ``None`` when there is no index."""
    for _ in range(LOAD_ATTEMPTS):
        version = path.resolve()
        if index_exists(version):
            return version
        if path.resolve() == version:
            return None
        # A writer swapped in a new version and deleted this one after it was resolved.
    return None


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest of the version ``path`` points at; ``None`` when there is no index or its
    manifest cannot be read (``load_index`` then says why)."""
    version = current_version(path)
    if version is None:
        return None
    try:
        manifest: dict[str, Any] = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest


def load_index(path: Path, embedder_spec: str | None = None, *, with_tokens: bool = False) -> Index:
    """Load the index at ``path``; refuse one built by another embedder than ``embedder_spec``.
    ``with_tokens`` keeps each row's BM25 tokens (``Index.tokens``) from the same read, for a
    re-index that needs them.

    Every file is read from the one version directory ``path`` points at when loading starts,
    so a writer swapping in a new version meanwhile is never seen half-way: the result is the
    old index or (when the old version was cleaned up under the reader) the new one."""
    for attempt in range(1, LOAD_ATTEMPTS + 1):
        version = current_version(path)
        if version is None:
            raise IndexMissingError(f"索引不存在：{path}。请先运行 rag index")
        try:
            return _load_version(version, embedder_spec, with_tokens)
        except IndexCorruptError:
            if attempt == LOAD_ATTEMPTS or current_version(path) == version:
                raise
            log.info("index %s was replaced while loading; loading the new version", path)
    raise AssertionError("unreachable")


def _load_version(path: Path, embedder_spec: str | None, with_tokens: bool = False) -> Index:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise IndexCorruptError(f"索引清单损坏：{path / MANIFEST}（{e}），请运行 rag index --rebuild") from e
    check_manifest(manifest, embedder_spec)
    try:
        vectors = faiss.read_index(str(path / "vectors.faiss"))
        chunks, tokens = [], []
        with (path / "chunks.jsonl").open(encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                row_tokens = record.pop("tokens")
                if with_tokens:
                    tokens.append(row_tokens)
                chunks.append(Chunk.from_record(record))
        # Line by line on "\n" only: a briefing's text may hold U+2028 or U+0085, which
        # str.splitlines() would take for line ends (json.dumps keeps them raw).
        with (path / "documents.jsonl").open(encoding="utf-8", newline="\n") as f:
            documents = [Document.from_record(json.loads(line)) for line in f]
        bm25 = KeywordIndex.load(path / "bm25") if chunks else None
        sentences = SentenceVectors.load(path)
        spans = [doc.get("sentences", [0, 0]) for doc in manifest["documents"].values()]
        if sentences is not None and max((end for _, end in spans), default=0) > len(sentences):
            raise ValueError(f"清单所列句向量超出 {len(sentences)} 行")
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as e:
        raise _corrupt(path, e) from e
    keyword_rows = bm25.num_docs if bm25 is not None else 0
    if not vectors.ntotal == len(chunks) == keyword_rows == manifest.get("chunks"):
        raise IndexCorruptError(
            f"索引不一致：{vectors.ntotal} 个向量、{len(chunks)} 条分块记录、{keyword_rows} 条关键词记录，"
            "请运行 rag index --rebuild"
        )
    # By file name, as data/ lists them (an added briefing's record follows the earlier ones).
    index = Index(
        path, manifest, chunks, vectors, bm25, by_name(documents), version=str(path), sentences=sentences
    )
    if with_tokens:
        vars(index)["tokens"] = tokens  # fills the cached property
    return index


def check_manifest(manifest: dict[str, Any], embedder_spec: str | None) -> None:
    """Refuse an index of another format, or built by another embedder than ``embedder_spec``."""
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexCorruptError(
            f"索引格式版本不符（{manifest.get('format_version')}），请运行 rag index --rebuild"
        )
    if embedder_spec is not None and manifest.get("embedder") != embedder_spec:
        raise EmbedderMismatchError(
            f"索引由嵌入模型 {manifest.get('embedder')!r} 构建，当前配置为 {embedder_spec!r}。"
            "请改回原模型，或运行 rag index --rebuild 用当前模型重建索引"
        )


def by_name(documents: Sequence[Document]) -> dict[str, Document]:
    """Documents by file name, as data/ lists them (an added briefing's record follows the earlier ones)."""
    return {d.doc_id: d for d in sorted(documents, key=lambda doc: doc.doc_id)}


def new_manifest(
    rows: IndexRows,
    *,
    total: int,
    vector_index: str,
    appending_to: Index | None = None,
    sentence_spans: dict[str, tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """What a version of ``total`` rows says about itself, ``rows`` the ones written now
    (after those of ``appending_to``, an update that only adds briefings); ``sentence_spans``:
    each new document's rows of sentence vectors."""
    spans = sentence_spans or {}
    kept = appending_to.manifest["documents"] if appending_to is not None else {}
    return {
        "format_version": FORMAT_VERSION,
        "embedder": rows.embedder_spec,
        "dim": int(rows.vectors.shape[1]),
        "normalized": True,
        "metric": "inner_product",
        "vector_index": vector_index,
        "chunker_version": rows.chunker_version,
        "chunks": total,
        "documents": {
            **kept,
            **{
                doc.doc_id: {
                    "hash": doc.content_hash,
                    "title": doc.title,
                    "meta": doc.meta,
                    **({"sentences": list(spans[doc.doc_id])} if doc.doc_id in spans else {}),
                }
                for doc in rows.documents
            },
        },
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _corrupt(path: Path, reason: object) -> IndexCorruptError:
    return IndexCorruptError(f"索引文件损坏：{path}（{reason}），请运行 rag index --rebuild")
