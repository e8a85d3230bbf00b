"""Writing the local index directory (layout in ``rag.store``): a complete new version beside
the current one, swapped in by replacing the symlink (an atomic rename), so a crash or kill -9
during a write leaves the previous index loadable; writers hold ``index/<name>.lock``. And
``LocalStore``, the ``IndexStore`` of ``retrieval.backend = "local"``."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss

from rag.backends.local import VectorIndexKind, build_vector_index, choose_vector_index
from rag.errors import IndexLockedError
from rag.sentence_vectors import SentenceVectors
from rag.store import (
    MANIFEST,
    Index,
    IndexRows,
    current_version,
    index_exists,
    load_index,
    new_manifest,
    read_manifest,
)

log = logging.getLogger(__name__)


def write_index(
    path: Path, rows: IndexRows, *, vector_index: VectorIndexKind = "auto", appending_to: Index | None = None
) -> Path:
    """Write a complete new version beside ``path`` and atomically point ``path`` at it;
    ``vector_index`` picks the FAISS index type (``choose_vector_index``).

    ``appending_to`` (an update that only adds briefings) is the current index: the new
    version keeps its rows and documents as they are, followed by ``rows`` (the new ones only). Its vector index is extended in place (``build_vector_index``) and its
    records are copied, not written again; BM25 is rebuilt over all rows."""
    chunks, tokens, vectors, documents = rows.chunks, rows.tokens, rows.vectors, rows.documents
    version = _new_version(path)
    version.mkdir()

    base = appending_to
    total = len(chunks) + (len(base.chunks) if base is not None else 0)
    kind = choose_vector_index(vector_index, total)
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
    if total:
        import bm25s  # only to write: searching reads its files itself (rag.backends.bm25)

        bm25 = bm25s.BM25()
        bm25.index([*(base.tokens if base is not None else []), *tokens], show_progress=False)
        bm25.save(str(version / "bm25"), show_progress=False)
    spans = _write_sentences(version, rows, base)
    manifest = new_manifest(rows, total=total, vector_index=kind, appending_to=base, sentence_spans=spans)
    # The manifest is written last, once the rest is on disk: a version without one is
    # incomplete and never loaded.
    _fsync_files(version)
    _write_json_durably(version / MANIFEST, manifest)
    _swap_symlink(path, version)
    _remove_old_versions(path, keep=version)
    log.info("index %s now points at %s (%d chunks)", path, version.name, len(chunks))
    return version


def _write_sentences(version: Path, rows: IndexRows, base: Index | None) -> dict[str, tuple[int, int]]:
    """Write the sentence vectors (``base``'s, whose spans its manifest entries keep, then the
    new documents'); each new document's rows (none when ``rows`` has no sentence vectors)."""
    earlier = [base.sentences] if base is not None and base.sentences is not None else []
    new = list(rows.sentences) if rows.sentences is not None else []
    if not earlier and rows.sentences is None:
        return {}
    offset = len(earlier[0]) if earlier else 0
    spans = {}
    if rows.sentences is not None:
        for doc, vectors in zip(rows.documents, rows.sentences, strict=True):
            spans[doc.doc_id] = (offset, offset + len(vectors))
            offset += len(vectors)
    SentenceVectors.concat([*earlier, *new], rows.vectors.shape[1]).save(version)
    return spans


def install_copy(path: Path, source: Path) -> Path:
    """Make a copy of the complete index directory ``source`` the current version of ``path``
    (written beside it, then swapped in like any version); the caller holds the write lock."""
    version = _new_version(path)
    shutil.copytree(source, version)
    _fsync_files(version)
    _swap_symlink(path, version)
    _remove_old_versions(path, keep=version)
    return version


def _new_version(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return path.parent / f"{path.name}@{stamp}-{os.getpid()}"


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


class LocalStore:
    """The ``IndexStore`` of ``retrieval.backend = "local"``: the files of this module under
    ``index/<name>``, written and read by one machine."""

    keeps_sentences = True  # stores the vectors of answer sentences (``rag.sentence_vectors``)

    def __init__(self, path: Path) -> None:
        self.path = path

    def exists(self) -> bool:
        return index_exists(self.path)

    def manifest(self) -> dict[str, Any] | None:
        return read_manifest(self.path)

    def version(self) -> str | None:
        current = current_version(self.path)
        return str(current) if current is not None else None

    def load(self, embedder_spec: str | None = None, *, with_tokens: bool = False) -> Index:
        return load_index(self.path, embedder_spec, with_tokens=with_tokens)

    def write(
        self, rows: IndexRows, *, vector_index: VectorIndexKind = "auto", appending_to: Index | None = None
    ) -> None:
        write_index(self.path, rows, vector_index=vector_index, appending_to=appending_to)

    def remove(self, index: Index, doc_ids: Sequence[str]) -> bool:
        return False  # a new version without them: FAISS and bm25s are rebuilt over the rest

    def lock(self) -> AbstractContextManager[None]:
        return write_lock(self.path)

    def describe(self) -> str:
        return f"local（{self.path}）"
