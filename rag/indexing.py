"""Build and update the index from the briefings in ``data/``.

Incremental by default: a document whose file content, metadata and chunking settings are
unchanged keeps its chunks and vectors; only new or changed documents are parsed and
embedded. When briefings are only added, their rows go after the existing ones and the
vector index is extended rather than rebuilt (see ``build_vector_index``). A file that cannot
be read is reported and skipped; the rest is indexed.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.chunking import CHUNKER_VERSION, chunk_document
from rag.config import Settings
from rag.embedders import Embedder
from rag.errors import BadInputError, DocumentError, DocumentExistsError, RagError, UnknownDocumentError
from rag.ingest import content_hash, list_sources, load_document
from rag.metadata import METADATA_FILE, check_fields, load_metadata, save_metadata
from rag.readers import SUPPORTED_SUFFIXES, PageProgress, unsupported_type
from rag.store import FORMAT_VERSION, Index, index_exists, load_index, read_manifest, write_index, write_lock
from rag.text import document_tokens
from rag.types import Chunk, Document

log = logging.getLogger(__name__)

# progress(stage, done, total); stages: "parse" (files), "pages" (of the PDF being read) and "embed" (chunks)
IndexProgress = Callable[[str, int, int], None]
REMOVED_DIR = ".removed"


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    name_taken: list[str] = field(default_factory=list)  # of ``failed``: a briefing of that name exists
    documents: int = 0
    chunks: int = 0
    embedded_chunks: int = 0
    written: bool = False

    def errors(self) -> dict[str, RagError]:
        """Each failed file's error: ``DocumentExistsError`` for a name taken, else ``DocumentError``."""
        return {
            name: (DocumentExistsError if name in self.name_taken else DocumentError)(message)
            for name, message in self.failed.items()
        }

    def record(self) -> dict[str, Any]:
        """What a client needs to know about an index update (JSON-ready)."""
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "failed": self.failed,
            "documents": self.documents,
            "chunks": self.chunks,
            "embedded_chunks": self.embedded_chunks,
        }


@dataclass
class _Entry:
    doc: Document
    chunks: list[Chunk]
    tokens: list[list[str]]
    vectors: np.ndarray | None = None  # None until embedded (or read back from the previous index)
    previous_rows: list[int] | None = None  # a reused document's rows in the previous index


def _page_progress(progress: IndexProgress | None) -> PageProgress | None:
    """``progress`` as ``load_document`` reports a PDF's pages."""
    return (lambda done, total: progress("pages", done, total)) if progress else None


def chunker_version(settings: Settings) -> str:
    c = settings.chunking
    return f"{CHUNKER_VERSION}:{c.max_chars}/{c.min_chars}/{c.overlap_chars}"


def build_index(
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: IndexProgress | None = None,
) -> IndexReport:
    """Bring ``index/<name>`` in line with ``data/``; ``rebuild`` re-embeds everything."""
    with write_lock(settings.index_dir):
        clear_leftovers(settings.data_dir)
        return _build_locked(settings, embedder, rebuild=rebuild, progress=progress)


def _build_locked(
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool,
    progress: IndexProgress | None,
    parsed: dict[str, Document] | None = None,
) -> IndexReport:
    """``parsed``: documents already read from these files (by ``add_files``), by file name."""
    sources = list_sources(settings.data_dir)
    metadata = load_metadata(settings.data_dir)
    version = chunker_version(settings)
    report = IndexReport()
    report.failed.update(unsupported_files(settings.data_dir))
    digests: dict[str, str] = {}
    for path in sources:
        try:
            digests[path.name] = content_hash(path)
        except OSError as e:
            report.failed[path.name] = f"{path.name}：无法读取文件：{e.strerror or e}"
    manifest = None if rebuild else read_manifest(settings.index_dir)
    if manifest is not None and _up_to_date(manifest, digests, metadata, version, embedder.spec):
        report.unchanged, report.documents, report.chunks = (
            list(digests),
            len(digests),
            int(manifest["chunks"]),
        )
        return report

    previous = None
    if not rebuild and index_exists(settings.index_dir):
        previous = load_index(settings.index_dir, embedder.spec, with_tokens=True)
    reusable = previous is not None and previous.manifest.get("chunker_version") == version
    entries: list[_Entry] = []
    for number, path in enumerate(sources, start=1):
        if path.name not in digests:
            continue
        meta, digest = metadata.get(path.name, {}), digests[path.name]
        old = previous.documents.get(path.name) if previous is not None else None
        if reusable and previous is not None and old is not None and _same(old, digest, meta):
            entries.append(_reuse(previous, old))
            report.unchanged.append(path.name)
        else:
            doc = (parsed or {}).get(path.name)
            try:
                if doc is None or doc.content_hash != digest:
                    doc = load_document(path, meta, digest, _page_progress(progress))
            except DocumentError as e:
                log.warning("skipping %s: %s", path.name, e.message)
                report.failed[path.name] = e.message
                continue
            chunks = chunk_document(doc, settings.chunking)
            entries.append(_Entry(doc, chunks, [document_tokens(c.embed_text) for c in chunks]))
            (report.updated if old is not None else report.added).append(path.name)
        if progress:
            progress("parse", number, len(sources))
    if previous is not None:
        present = {entry.doc.doc_id for entry in entries} | set(report.failed)
        report.removed = sorted(set(previous.documents) - present)

    report.documents = len(entries)
    report.chunks = sum(len(entry.chunks) for entry in entries)
    if previous is not None and not (report.added or report.updated or report.removed):
        return report

    _embed_missing(entries, embedder, progress, report)
    new = [entry for entry in entries if entry.previous_rows is None]
    # Only additions: the previous rows stay as they are and the new ones follow them.
    appending = previous is not None and len(entries) - len(new) == len(previous.documents)
    if not appending:
        for entry in entries:
            if entry.previous_rows is not None and previous is not None:
                entry.vectors = _read_vectors(previous, entry.previous_rows)
        new = entries
    write_index(
        settings.index_dir,
        chunks=[chunk for entry in new for chunk in entry.chunks],
        tokens=[chunk_tokens for entry in new for chunk_tokens in entry.tokens],
        vectors=np.concatenate(
            [e.vectors for e in new if e.vectors is not None] or [np.zeros((0, embedder.dim))]
        ),
        documents=[entry.doc for entry in new],
        embedder_spec=embedder.spec,
        chunker_version=version,
        vector_index=settings.retrieval.vector_index,
        appending_to=previous if appending else None,
    )
    report.written = True
    return report


def unsupported_files(data_dir: Path) -> dict[str, str]:
    """Files in ``data/`` that are not briefings, by name, with why (hidden files, folders and
    the metadata file are not listed)."""
    if not data_dir.is_dir():
        return {}
    found = {}
    for path in sorted(data_dir.iterdir()):
        if path.is_file() and not path.name.startswith(".") and path.name != METADATA_FILE:
            reason = unsupported_type(path.name)
            if reason:
                found[path.name] = reason
    return found


def clear_leftovers(data_dir: Path) -> None:
    """Remove what a killed ``rag add`` or upload left in ``data/``: partial copies
    (``.<name>.part-<pid>``) and staging folders (``.upload-<pid>-…``) whose process is gone.
    They are hidden, so they were never indexed."""
    if not data_dir.is_dir():
        return
    for path in data_dir.iterdir():
        match = _LEFTOVER.fullmatch(path.name)
        if not match or _process_alive(int(match["part"] or match["upload"])):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


_LEFTOVER = re.compile(r"\..+\.part-(?P<part>\d+)|\.upload-(?P<upload>\d+)-.+")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _up_to_date(
    manifest: dict[str, Any],
    digests: dict[str, str],
    metadata: dict[str, dict[str, str]],
    version: str,
    embedder: str,
) -> bool:
    """Whether the index holds exactly these files as they are (content, metadata, chunking,
    embedder), judged from its manifest alone: re-indexing an unchanged large corpus then
    does not load it."""
    indexed = manifest.get("documents", {})
    if (
        manifest.get("format_version") != FORMAT_VERSION
        or manifest.get("chunker_version") != version
        or manifest.get("embedder") != embedder
        or set(indexed) != set(digests)
    ):
        return False
    return all(
        _unchanged(entry.get("hash"), entry.get("meta"), digests[name], metadata.get(name, {}))
        for name, entry in indexed.items()
    )


def _same(old: Document, digest: str, meta: dict[str, str]) -> bool:
    return _unchanged(old.content_hash, old.meta, digest, meta)


def _unchanged(indexed_hash: str | None, indexed_meta: object, digest: str, meta: dict[str, str]) -> bool:
    """An indexed document still matches its file (``digest``) and its ``briefings.toml`` entry
    (a title set or cleared there changes it, as does any other field)."""
    return indexed_hash == digest and indexed_meta == meta


def _reuse(previous: Index, doc: Document) -> _Entry:
    rows = previous.doc_rows(doc.doc_id)
    return _Entry(
        doc, [previous.chunks[r] for r in rows], [previous.tokens[r] for r in rows], previous_rows=rows
    )


def _read_vectors(previous: Index, rows: list[int]) -> np.ndarray:
    if not rows:
        return np.zeros((0, previous.vectors.d), dtype=np.float32)
    return np.asarray(previous.vectors.reconstruct_batch(np.array(rows, dtype=np.int64)), dtype=np.float32)


def _embed_missing(
    entries: Sequence[_Entry], embedder: Embedder, progress: IndexProgress | None, report: IndexReport
) -> None:
    pending = [entry for entry in entries if entry.previous_rows is None]
    texts = [chunk.embed_text for entry in pending for chunk in entry.chunks]
    report.embedded_chunks = len(texts)
    vectors = embedder.embed_documents(
        texts, progress=(lambda done, total: progress("embed", done, total)) if progress else None
    )
    offset = 0
    for entry in pending:
        entry.vectors = vectors[offset : offset + len(entry.chunks)]
        offset += len(entry.chunks)


def add_files(
    settings: Settings,
    embedder: Embedder,
    files: Sequence[Path],
    progress: IndexProgress | None = None,
    *,
    replace: bool = False,
    meta: dict[str, str] | None = None,
) -> IndexReport:
    """Copy briefings into ``data/`` (after checking they can be read) and update the index;
    each file is parsed once, by the check. A briefing of the same name already in ``data/`` is
    replaced only when ``replace`` is set; otherwise the file is refused (``name_taken``) and the
    earlier version stays. ``meta`` (title, publisher, date, see ``rag.metadata``) is recorded
    for every file added; a title only for one file at a time. The CLI (``rag add``) and the
    upload route both come here."""
    meta = check_fields(dict(meta or {}))
    if meta.get("title") and len(files) > 1:
        raise BadInputError("标题只能为单个文件设置：一次加入多个文件时请不要指定标题")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    failed: dict[str, str] = {}
    taken: list[str] = []
    parsed: dict[str, Document] = {}
    with write_lock(settings.index_dir):
        clear_leftovers(settings.data_dir)
        metadata = load_metadata(settings.data_dir)
        for path in files:
            if not path.is_file():
                failed[path.name] = f"{path}：文件不存在"
                continue
            target = settings.data_dir / path.name
            if not replace and target.exists() and path.resolve() != target.resolve():
                failed[path.name] = (
                    f"{path.name}：已有同名简报（要替换它，命令行加 --replace，接口加 replace=true）"
                )
                taken.append(path.name)
                continue
            fields = {k: v for k, v in (metadata.get(path.name, {}) | meta).items() if v}
            try:
                parsed[path.name] = load_document(path, fields, on_page=_page_progress(progress))
            except DocumentError as e:
                failed[path.name] = e.message
                continue
            if path.resolve() != (settings.data_dir / path.name).resolve():
                _copy_atomically(path, settings.data_dir / path.name)
            if meta:
                save_metadata(settings.data_dir, path.name, meta)
        report = _build_locked(settings, embedder, rebuild=False, progress=progress, parsed=parsed)
    report.failed.update(failed)
    report.name_taken = taken
    return report


def _copy_atomically(source: Path, target: Path) -> None:
    """Copy under a hidden temporary name, then rename: ``data/`` never holds half a file."""
    partial = target.with_name(f".{target.name}.part-{os.getpid()}")
    try:
        shutil.copy2(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def set_metadata(
    settings: Settings,
    embedder: Embedder,
    doc_id: str,
    fields: dict[str, str | None],
    progress: IndexProgress | None = None,
) -> IndexReport:
    """Set a briefing's title, publisher or date ("" clears one, None leaves it) in
    ``data/briefings.toml`` and re-index it: its passages carry the title, so they are
    chunked and embedded again."""
    checked = check_fields(fields)
    _known_source(settings, doc_id)
    with write_lock(settings.index_dir):
        if checked:
            save_metadata(settings.data_dir, doc_id, checked)
        return _build_locked(settings, embedder, rebuild=False, progress=progress)


def _known_source(settings: Settings, doc_id: str) -> Path:
    """The briefing file called ``doc_id`` in ``data/``; ``UnknownDocumentError`` when there is none."""
    source = settings.data_dir / doc_id
    try:
        known_file = source.is_file() and source.parent == settings.data_dir
    except OSError:  # a name the file system cannot hold (too long) names no briefing
        known_file = False
    if not known_file or source.suffix.lower() not in SUPPORTED_SUFFIXES:
        known = ", ".join(p.name for p in list_sources(settings.data_dir))
        raise UnknownDocumentError(f"未找到文档 {doc_id!r}。现有文档：{known or '（无）'}")
    return source


def remove_document(
    settings: Settings, embedder: Embedder, doc_id: str, progress: IndexProgress | None = None
) -> IndexReport:
    """Take a briefing out of the corpus (its file moves to ``data/.removed/``) and the index."""
    source = _known_source(settings, doc_id)
    with write_lock(settings.index_dir):
        trash = settings.data_dir / REMOVED_DIR
        trash.mkdir(exist_ok=True)
        removed = trash / source.name
        source.rename(removed)
        try:
            return _build_locked(settings, embedder, rebuild=False, progress=progress)
        except BaseException:
            # The index still holds the briefing: put its file back so the two agree.
            removed.rename(source)
            raise
