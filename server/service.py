"""What the app holds between requests: the pipeline, and the index writes made through the API.

Writes (upload, delete, rebuild) go through ``rag.corpus`` and ``rag.indexing`` under the index's write lock and
write a new index version beside the current one; only when it is complete is the pipeline
switched to it (``Pipeline.reload``), so queries running meanwhile keep the old index.
A rebuild runs in a background thread and reports its progress; a second write while one is
running is refused with ``IndexLockedError`` (HTTP 409). A version written by another process
(``rag index`` beside a running server) is noticed on the next request and loaded in the
background (``notice_new_index``).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.backends import open_store
from rag.config import Settings
from rag.corpus import add_files, remove_document, set_metadata
from rag.errors import BadInputError, IndexLockedError, RagError
from rag.indexing import IndexReport, build_index
from rag.pipeline import Pipeline
from rag.readers import unsupported_type
from server.evaluation import Evaluations
from server.jobs import run_job

log = logging.getLogger(__name__)
MILVUS_CHECK_S = 1.0
MAX_NAME_BYTES = 255  # a file name's limit on Linux and macOS file systems


@dataclass
class RebuildJob:
    state: str = "idle"  # idle | running | done | failed
    stage: str | None = None
    done: int = 0
    total: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    report: dict[str, Any] | None = None
    error: dict[str, str] | None = None

    def record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Service:
    pipeline: Pipeline
    job: RebuildJob = field(default_factory=RebuildJob)

    def __post_init__(self) -> None:
        self.evaluations = Evaluations(self.pipeline)
        self._writing = threading.Lock()
        self._watching = threading.Lock()
        self._reloader: threading.Thread | None = None
        self._unloadable: str | None = None
        self._checked_at = 0.0

    def notice_new_index(self) -> None:
        """Start loading an index version written by another process (``rag index``/``add``/
        ``remove`` beside the server, or another machine's on Milvus) in the background;
        requests keep the loaded index until the new one is ready. Cheap when nothing changed:
        one ``readlink`` locally; on Milvus one query, at most once every ``MILVUS_CHECK_S``."""
        now = time.monotonic()
        remote = self.settings.retrieval.backend != "local"
        if self._writing.locked() or (remote and now - self._checked_at < MILVUS_CHECK_S):
            return
        self._checked_at = now
        try:
            current = open_store(self.settings).version()
        except RagError as e:  # the engine is away: keep serving what is loaded
            log.warning("cannot check for a new index version: %s", e.message)
            return
        if current in (None, self.pipeline.index.version, self._unloadable):
            return
        with self._watching:
            if self._reloader is not None and self._reloader.is_alive():
                return
            self._reloader = threading.Thread(
                target=self._reload, args=(current,), name="index-reload", daemon=True
            )
            self._reloader.start()

    def _reload(self, version: str) -> None:
        try:
            self.pipeline.reload()
            log.info("switched to index version %s", self.pipeline.index.version)
        except RagError as e:
            # Keep serving the loaded index; try again only when yet another version appears.
            log.warning("cannot load index version %s: %s", version, e.message)
            self._unloadable = version

    @property
    def settings(self) -> Settings:
        return self.pipeline.settings

    def documents(self) -> list[dict[str, Any]]:
        return self.pipeline.index.document_summaries()

    def add(
        self, uploads: Sequence[tuple[str, Path]], replace: bool, meta: dict[str, str] | None = None
    ) -> IndexReport:
        """Index uploaded files (``(name, temporary path)`` pairs) and switch to the new index."""
        data_dir = self.settings.data_dir
        staging = Path(tempfile.mkdtemp(prefix=f".upload-{os.getpid()}-", dir=_ensure(data_dir)))
        try:
            accepted = []
            for name, path in uploads:
                target = staging / name
                shutil.move(path, target)
                accepted.append(target)
            with self._write():
                report = add_files(
                    self.settings, self.pipeline.embedder, accepted, replace=replace, meta=meta
                )
                if report.written:
                    self.pipeline.reload()
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return report

    def describe(self, doc_id: str, fields: dict[str, str | None]) -> IndexReport:
        """Set a briefing's title, publisher or date and switch to the re-indexed corpus."""
        with self._write():
            report = set_metadata(self.settings, self.pipeline.embedder, doc_id, fields)
            if report.written:
                self.pipeline.reload()
        return report

    def remove(self, doc_id: str) -> IndexReport:
        with self._write():
            report = remove_document(self.settings, self.pipeline.embedder, doc_id)
            self.pipeline.reload()
        return report

    def start_rebuild(self) -> RebuildJob:
        if not self._writing.acquire(blocking=False):
            raise IndexLockedError("索引正在更新，请等当前任务完成后再试")
        self.job = RebuildJob(state="running", started_at=time.time())
        threading.Thread(target=self._rebuild, name="index-rebuild", daemon=True).start()
        return self.job

    def _rebuild(self) -> None:
        job = self.job

        def progress(stage: str, done: int, total: int) -> None:
            job.stage, job.done, job.total = stage, done, total

        def work() -> None:
            report = build_index(self.settings, self.pipeline.embedder, rebuild=True, progress=progress)
            self.pipeline.reload()
            job.report = report.record()

        run_job(job, work, "重建索引", self._writing.release)

    @contextmanager
    def _write(self) -> Iterator[None]:
        if not self._writing.acquire(blocking=False):
            raise IndexLockedError("索引正在更新，请等当前任务完成后再试")
        try:
            yield
        finally:
            self._writing.release()


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_upload_name(name: str | None) -> str:
    """A plain file name with a supported suffix; anything with a path in it is refused."""
    name = (name or "").strip()
    if (
        not name
        or name in {".", ".."}
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or name.startswith(".")
    ):
        raise BadInputError(f"文件名不合法：{name!r}（不能为空、以点开头或包含路径）")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise BadInputError(
            f"文件名过长（{len(name.encode('utf-8'))} 字节，上限 {MAX_NAME_BYTES}）：{name[:40]}…"
        )
    if why := unsupported_type(name):
        raise BadInputError(why)
    return name
