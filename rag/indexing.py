"""Build and update the index from the briefings in ``data/``.

Incremental by default: a document whose file content, metadata and chunking settings are
unchanged keeps its chunks and vectors; only new or changed documents are parsed and
embedded. When briefings are only added, their rows go after the existing ones and the
vector index is extended rather than rebuilt (see ``build_vector_index``). A file that cannot
be read is reported and skipped; the rest is indexed.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.answerers.candidates import document_sentences
from rag.backends import IndexStore, open_store
from rag.chunking import CHUNKER_VERSION, chunk_document
from rag.config import Settings
from rag.embedders import Embedder
from rag.errors import DocumentError, DocumentExistsError, RagError
from rag.files import process_alive
from rag.ingest import content_hash, list_sources, load_document
from rag.metadata import METADATA_FILE, load_metadata
from rag.readers import PageProgress, unsupported_type
from rag.sentence_vectors import SentenceVectors
from rag.store import FORMAT_VERSION, Index, IndexRows
from rag.text import document_tokens
from rag.types import Chunk, Document

log = logging.getLogger(__name__)

# progress(stage, done, total); stages: "parse" (files), "pages" (of the PDF being read), "embed"
# (chunks) and "sentences" (the sentences answers quote, embedded ahead of the questions)
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
    embedded_sentences: int = 0
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
            "embedded_sentences": self.embedded_sentences,
        }


@dataclass
class _Entry:
    doc: Document
    chunks: list[Chunk]
    tokens: list[list[str]]
    vectors: np.ndarray | None = None  # None until embedded (or read back from the previous index)
    previous_rows: list[int] | None = None  # a reused document's rows in the previous index
    sentences: SentenceVectors | None = None  # its answer sentences' vectors, None until embedded


def page_progress(progress: IndexProgress | None) -> PageProgress | None:
    """``progress`` as ``load_document`` reports a PDF's pages."""
    return _stage(progress, "pages")


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
    """Bring the index (``retrieval.backend``'s store) in line with ``data/``; ``rebuild``
    re-embeds everything."""
    with open_store(settings).lock():
        clear_leftovers(settings.data_dir)
        return update_locked(settings, embedder, rebuild=rebuild, progress=progress)


def update_locked(
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool,
    progress: IndexProgress | None,
    parsed: dict[str, Document] | None = None,
) -> IndexReport:
    """``build_index`` for a caller that holds the write lock (``rag.corpus``); ``parsed``:
    documents already read from these files (by ``add_files``), by file name."""
    sources = list_sources(settings.data_dir)
    metadata = load_metadata(settings.data_dir)
    version = chunker_version(settings)
    report = IndexReport()
    report.failed.update(unsupported_files(settings.data_dir))
    digests = _digests(sources, report)
    store = open_store(settings)
    sentences = store.keeps_sentences and settings.answer.sentence_vectors
    manifest = None if rebuild else store.manifest()
    if manifest is not None and _up_to_date(manifest, digests, metadata, version, embedder.spec, sentences):
        report.unchanged, report.documents, report.chunks = (
            list(digests),
            len(digests),
            int(manifest["chunks"]),
        )
        return report

    previous = None
    if not rebuild and store.exists():
        previous = store.load(embedder.spec, with_tokens=True)
    reusable = (
        previous if previous is not None and previous.manifest.get("chunker_version") == version else None
    )
    entries: list[_Entry] = []
    for number, path in enumerate(sources, start=1):
        if path.name in digests:
            old = previous.documents.get(path.name) if previous is not None else None
            doc = (parsed or {}).get(path.name)
            entry = _entry(
                settings,
                path,
                digests[path.name],
                metadata.get(path.name, {}),
                old,
                reusable,
                doc,
                report,
                progress,
            )
            if entry is not None:
                entries.append(entry)
        if progress:
            progress("parse", number, len(sources))
    if previous is not None:
        present = {entry.doc.doc_id for entry in entries} | set(report.failed)
        report.removed = sorted(set(previous.documents) - present)

    report.documents = len(entries)
    report.chunks = sum(len(entry.chunks) for entry in entries)
    without_sentences = sentences and any(entry.sentences is None for entry in entries)
    if previous is not None and not (report.added or report.updated or report.removed or without_sentences):
        return report
    _embed_missing(entries, embedder, progress, report, sentences)
    _write(settings, store, embedder, entries, previous, version, sentences)
    report.written = True
    return report


def copy_local_index(settings: Settings, embedder: Embedder) -> int:
    """Seed an empty Milvus store with the local index's rows, vectors included, so moving to
    Milvus does not embed the corpus again; the chunks copied (0: nothing to copy)."""
    from rag.store_write import LocalStore

    source, target = LocalStore(settings.index_dir), open_store(settings)
    if settings.retrieval.backend == "local" or not source.exists():
        return 0
    with target.lock():
        if target.exists():
            return 0
        index = source.load(embedder.spec, with_tokens=True)
        rows = IndexRows(
            chunks=index.chunks,
            tokens=index.tokens,
            vectors=index.read_vectors(range(len(index.chunks))),
            documents=list(index.documents.values()),
            embedder_spec=embedder.spec,
            chunker_version=str(index.manifest["chunker_version"]),
        )
        target.write(rows)
    return len(index.chunks)


def _digests(sources: Sequence[Path], report: IndexReport) -> dict[str, str]:
    """Each readable source's content hash, by name; an unreadable one is reported failed."""
    digests: dict[str, str] = {}
    for path in sources:
        try:
            digests[path.name] = content_hash(path)
        except OSError as e:
            report.failed[path.name] = f"{path.name}：无法读取文件：{e.strerror or e}"
    return digests


def _entry(
    settings: Settings,
    path: Path,
    digest: str,
    meta: dict[str, str],
    old: Document | None,
    reusable: Index | None,
    doc: Document | None,
    report: IndexReport,
    progress: IndexProgress | None,
) -> _Entry | None:
    """One briefing's entry: reused from ``reusable`` (the previous index, when its chunks are
    still valid) if unchanged, else read (``doc`` when already read), chunked and tokenised;
    None, reported failed, when it cannot be read."""
    if reusable is not None and old is not None and _same(old, digest, meta):
        report.unchanged.append(path.name)
        return _reuse(reusable, old)
    try:
        if doc is None or doc.content_hash != digest:
            doc = load_document(path, meta, digest, page_progress(progress))
    except DocumentError as e:
        log.warning("skipping %s: %s", path.name, e.message)
        report.failed[path.name] = e.message
        return None
    chunks = chunk_document(doc, settings.chunking)
    (report.updated if old is not None else report.added).append(path.name)
    return _Entry(doc, chunks, [document_tokens(c.embed_text) for c in chunks])


def _write(
    settings: Settings,
    store: IndexStore,
    embedder: Embedder,
    entries: list[_Entry],
    previous: Index | None,
    version: str,
    sentences: bool,
) -> None:
    """Write the new index version: only the new rows after the previous ones when the update
    only adds briefings (and, with ``sentences``, the kept ones have theirs stored), else every
    row (the reused ones read back from the previous index); an update that only removes
    briefings is done in place where the store can (Milvus)."""
    new = [entry for entry in entries if entry.previous_rows is None]
    if previous is not None and not new:
        removed = sorted(set(previous.documents) - {entry.doc.doc_id for entry in entries})
        if removed and store.remove(previous, removed):
            return
    reused = [entry for entry in entries if entry.previous_rows is not None]
    appending = (
        previous is not None
        and len(reused) == len(previous.documents)
        and (not sentences or all(previous.stored_sentences(e.doc.doc_id) is not None for e in reused))
    )
    if not appending:
        for entry in entries:
            if entry.previous_rows is not None and previous is not None:
                entry.vectors = previous.read_vectors(entry.previous_rows)
        new = entries
    rows = IndexRows(
        chunks=[chunk for entry in new for chunk in entry.chunks],
        tokens=[chunk_tokens for entry in new for chunk_tokens in entry.tokens],
        vectors=np.concatenate(
            [e.vectors for e in new if e.vectors is not None] or [np.zeros((0, embedder.dim))]
        ),
        documents=[entry.doc for entry in new],
        embedder_spec=embedder.spec,
        chunker_version=version,
        sentences=[e.sentences for e in new if e.sentences is not None] if sentences else None,
    )
    store.write(
        rows, vector_index=settings.retrieval.vector_index, appending_to=previous if appending else None
    )


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
        if not match or process_alive(int(match["part"] or match["upload"])):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


_LEFTOVER = re.compile(r"\..+\.part-(?P<part>\d+)|\.upload-(?P<upload>\d+)-.+")


def _up_to_date(
    manifest: dict[str, Any],
    digests: dict[str, str],
    metadata: dict[str, dict[str, str]],
    version: str,
    embedder: str,
    sentences: bool,
) -> bool:
    """Whether the index holds exactly these files as they are (content, metadata, chunking,
    embedder, and the vectors of their answer sentences when ``sentences``), judged from its
    manifest alone: re-indexing an unchanged large corpus then does not load it."""
    indexed = manifest.get("documents", {})
    if (
        manifest.get("format_version") != FORMAT_VERSION
        or manifest.get("chunker_version") != version
        or manifest.get("embedder") != embedder
        or set(indexed) != set(digests)
        or (sentences and any("sentences" not in entry for entry in indexed.values()))
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
        doc,
        [previous.chunks[r] for r in rows],
        [previous.tokens[r] for r in rows],
        previous_rows=rows,
        sentences=previous.stored_sentences(doc.doc_id),
    )


def _embed_missing(
    entries: Sequence[_Entry],
    embedder: Embedder,
    progress: IndexProgress | None,
    report: IndexReport,
    sentences: bool,
) -> None:
    """Embed the chunks of new and changed briefings and, when ``sentences``, the answer
    sentences of every briefing that has none stored."""
    pending = [entry for entry in entries if entry.previous_rows is None]
    texts = [chunk.embed_text for entry in pending for chunk in entry.chunks]
    report.embedded_chunks = len(texts)
    vectors = embedder.embed_documents(texts, progress=_stage(progress, "embed"))
    offset = 0
    for entry in pending:
        entry.vectors = vectors[offset : offset + len(entry.chunks)]
        offset += len(entry.chunks)
    if not sentences:
        return
    unembedded = [entry for entry in entries if entry.sentences is None]
    by_entry = [document_sentences(entry.doc, entry.chunks) for entry in unembedded]
    texts = [text for entry_texts in by_entry for text in entry_texts]
    report.embedded_sentences = len(texts)
    vectors = embedder.embed_documents(texts, progress=_stage(progress, "sentences"))
    offset = 0
    for entry, entry_texts in zip(unembedded, by_entry, strict=True):
        entry.sentences = SentenceVectors.of(entry_texts, vectors[offset : offset + len(entry_texts)])
        offset += len(entry_texts)


def _stage(progress: IndexProgress | None, stage: str) -> Callable[[int, int], None] | None:
    return (lambda done, total: progress(stage, done, total)) if progress else None
