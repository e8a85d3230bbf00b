"""Changing the corpus: adding, describing and removing the briefings in ``data/``, each
followed by an index update under the index's write lock. The CLI (``rag add``, ``describe``,
``remove``) and the server (upload, edit, delete) both call these, so they share one policy:
a name already taken is refused unless replacing is asked for, with the same error.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from rag.backends import open_store
from rag.config import Settings
from rag.embedders import Embedder
from rag.errors import BadInputError, DocumentError, UnknownDocumentError
from rag.indexing import (
    REMOVED_DIR,
    IndexProgress,
    IndexReport,
    clear_leftovers,
    page_progress,
    update_locked,
)
from rag.ingest import list_sources, load_document
from rag.metadata import check_fields, load_metadata, save_metadata
from rag.readers import SUPPORTED_SUFFIXES
from rag.types import Document


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
    with open_store(settings).lock():
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
                parsed[path.name] = load_document(path, fields, on_page=page_progress(progress))
            except DocumentError as e:
                failed[path.name] = e.message
                continue
            if path.resolve() != (settings.data_dir / path.name).resolve():
                _copy_atomically(path, settings.data_dir / path.name)
            if meta:
                save_metadata(settings.data_dir, path.name, meta)
        report = update_locked(settings, embedder, rebuild=False, progress=progress, parsed=parsed)
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
    with open_store(settings).lock():
        if checked:
            save_metadata(settings.data_dir, doc_id, checked)
        return update_locked(settings, embedder, rebuild=False, progress=progress)


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
    with open_store(settings).lock():
        trash = settings.data_dir / REMOVED_DIR
        trash.mkdir(exist_ok=True)
        removed = trash / source.name
        source.rename(removed)
        try:
            return update_locked(settings, embedder, rebuild=False, progress=progress)
        except BaseException:
            # The index still holds the briefing: put its file back so the two agree.
            removed.rename(source)
            raise
