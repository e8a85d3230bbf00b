"""The index directory: FAISS vectors, row-aligned chunk records, BM25 and a manifest.

Layout (``index/<name>`` is a symlink to the current version directory)::

    index/<name> -> <name>@<stamp>/
        manifest.json     format, embedder spec, dim, chunker version, documents and hashes
        vectors.faiss     FAISS index over L2-normalised vectors (inner product = cosine):
                          exact IndexFlatIP, or HNSW for large corpora (see rag.backends.local)
        chunks.jsonl      one chunk record per FAISS row, with its BM25 tokens
        documents.jsonl   cleaned text and source anchors of every document
        bm25/             bm25s index over the same rows

A new version is written completely beside the current one and swapped in by replacing the
symlink (an atomic rename), so a crash or kill -9 during a write leaves the previous index
loadable. Writers hold an exclusive lock on ``index/<name>.lock``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import bm25s
import faiss
import numpy as np

from rag.backends.local import VectorIndexKind, build_vector_index, choose_vector_index
from rag.errors import EmbedderMismatchError, IndexCorruptError, IndexLockedError, IndexMissingError
from rag.text import to_simplified
from rag.types import Chunk, Document

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


@dataclass
class Index:
    """A loaded index: everything retrieval and answering need, row-aligned. ``path`` is the
    version directory it was read from (see ``current_version``)."""

    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: faiss.Index
    bm25: bm25s.BM25 | None
    documents: dict[str, Document]

    @property
    def embedder(self) -> str:
        return str(self.manifest["embedder"])

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
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexCorruptError(
            f"索引格式版本不符（{manifest.get('format_version')}），请运行 rag index --rebuild"
        )
    if embedder_spec is not None and manifest.get("embedder") != embedder_spec:
        raise EmbedderMismatchError(
            f"索引由嵌入模型 {manifest.get('embedder')!r} 构建，当前配置为 {embedder_spec!r}。"
            "请改回原模型，或运行 rag index --rebuild 用当前模型重建索引"
        )
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
        bm25 = bm25s.BM25.load(str(path / "bm25"), show_progress=False) if chunks else None
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as e:
        raise _corrupt(path, e) from e
    keyword_rows = int(bm25.scores["num_docs"]) if bm25 is not None else 0
    if not vectors.ntotal == len(chunks) == keyword_rows == manifest.get("chunks"):
        raise IndexCorruptError(
            f"索引不一致：{vectors.ntotal} 个向量、{len(chunks)} 条分块记录、{keyword_rows} 条关键词记录，"
            "请运行 rag index --rebuild"
        )
    # By file name, as data/ lists them (an added briefing's record follows the earlier ones).
    index = Index(
        path, manifest, chunks, vectors, bm25, {d.doc_id: d for d in sorted(documents, key=_doc_id)}
    )
    if with_tokens:
        vars(index)["tokens"] = tokens  # fills the cached property
    return index


def _doc_id(doc: Document) -> str:
    return doc.doc_id


def _corrupt(path: Path, reason: object) -> IndexCorruptError:
    return IndexCorruptError(f"索引文件损坏：{path}（{reason}），请运行 rag index --rebuild")


def write_index(
    path: Path,
    *,
    chunks: Sequence[Chunk],
    tokens: Sequence[list[str]],
    vectors: np.ndarray,
    documents: Sequence[Document],
    embedder_spec: str,
    chunker_version: str,
    vector_index: VectorIndexKind = "auto",
    appending_to: Index | None = None,
) -> Path:
    """Write a complete new version beside ``path`` and atomically point ``path`` at it;
    ``vector_index`` picks the FAISS index type (``choose_vector_index``).

    ``appending_to`` (an update that only adds briefings) is the current index: the new
    version keeps its rows and documents as they are, followed by ``chunks`` and ``documents``
    (the new ones only). Its vector index is extended in place (``build_vector_index``) and its
    records are copied, not written again; BM25 is rebuilt over all rows."""
    if len(chunks) != len(tokens) or len(chunks) != vectors.shape[0]:
        raise ValueError("chunks, tokens and vectors must be row-aligned")
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    version = path.parent / f"{path.name}@{stamp}-{os.getpid()}"
    version.mkdir()

    base = appending_to
    rows = len(chunks) + (len(base.chunks) if base is not None else 0)
    kind = choose_vector_index(vector_index, rows)
    vector_store = build_vector_index(vectors, kind, base.vectors if base is not None else None)
    faiss.write_index(vector_store, str(version / "vectors.faiss"))
    for name in ("chunks.jsonl", "documents.jsonl"):
        if base is not None:
            shutil.copyfile(base.path / name, version / name)
        else:
            (version / name).touch()
    with (version / "chunks.jsonl").open("a", encoding="utf-8") as f:
        for chunk, chunk_tokens in zip(chunks, tokens, strict=True):
            f.write(json.dumps({**chunk.record(), "tokens": chunk_tokens}, ensure_ascii=False) + "\n")
    with (version / "documents.jsonl").open("a", encoding="utf-8") as f:
        for doc in documents:
            f.write(json.dumps(doc.record(), ensure_ascii=False) + "\n")
    if rows:
        bm25 = bm25s.BM25()
        bm25.index([*(base.tokens if base is not None else []), *tokens], show_progress=False)
        bm25.save(str(version / "bm25"), show_progress=False)
    kept = base.manifest["documents"] if base is not None else {}
    manifest = {
        "format_version": FORMAT_VERSION,
        "embedder": embedder_spec,
        "dim": int(vectors.shape[1]),
        "normalized": True,
        "metric": "inner_product",
        "vector_index": kind,
        "chunker_version": chunker_version,
        "chunks": rows,
        "documents": {
            **kept,
            **{
                doc.doc_id: {"hash": doc.content_hash, "title": doc.title, "meta": doc.meta}
                for doc in documents
            },
        },
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # The manifest is written last, once the rest is on disk: a version without one is
    # incomplete and never loaded.
    _fsync_files(version)
    _write_json_durably(version / MANIFEST, manifest)
    _swap_symlink(path, version)
    _remove_old_versions(path, keep=version)
    log.info("index %s now points at %s (%d chunks)", path, version.name, len(chunks))
    return version


def _write_json_durably(path: Path, data: dict[str, Any]) -> None:
    with path.open("w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=2)
        f.flush()
        os.fsync(f.fileno())


def _fsync_files(directory: Path) -> None:
    for file in directory.rglob("*"):
        if file.is_file():
            with file.open("rb") as f:
                os.fsync(f.fileno())


def _swap_symlink(path: Path, target: Path) -> None:
    if path.exists() and not path.is_symlink():
        # An index directory from elsewhere: keep it aside rather than delete it.
        path.rename(path.with_name(f"{path.name}.legacy-{int(time.time())}"))
    link = path.with_name(f".{path.name}.link-{os.getpid()}")
    if link.is_symlink():
        link.unlink()
    link.symlink_to(target.name)
    os.replace(link, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _remove_old_versions(path: Path, keep: Path | None) -> None:
    """Delete every version but ``keep``, and what a killed writer left: incomplete versions
    and its temporary symlink."""
    for old in path.parent.glob(f"{path.name}@*"):
        if old != keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    for link in path.parent.glob(f".{path.name}.link-*"):
        link.unlink(missing_ok=True)


@contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """Serialise writers of one index; a second writer gets a clear error instead of waiting.
    The writer that gets the lock first clears what a killed writer left behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f"{path.name}.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise IndexLockedError(f"另一个进程正在写入索引 {path.name}，请等它完成后再试") from e
        try:
            _remove_old_versions(path, keep=current_version(path))  # left by a killed writer
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
