"""The page's 评测 tab: eval sets in ``eval/sets/``, runs in ``eval/runs/`` (the same places as
``rag eval``), one run at a time in a background thread with its progress, reports read back
by run name, and the comparison of two runs."""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rag.errors import BadInputError, EvalRunningError, RagError, UnknownRunError
from rag.eval_compare import compare_reports, load_report, load_result, render_comparison
from rag.eval_format import metric_label, type_label
from rag.eval_report import item_verdict, summary_lines
from rag.eval_run import evaluate_set, new_run_dir, runs_dir, write_outputs
from rag.evaluate import HEADLINE, load_eval_set
from rag.pipeline import Pipeline
from server.jobs import run_job

log = logging.getLogger(__name__)
RUN_FILES = {
    "report.md": "text/markdown; charset=utf-8",
    "chart.png": "image/png",
    "run.jsonl": "application/jsonl",
}
_SAFE_NAME = re.compile(r"[\w\u3400-\u9fff][\w\u3400-\u9fff.\-]*")


@dataclass
class EvalJob:
    state: str = "idle"  # idle | running | done | failed
    eval_set: str | None = None
    run: str | None = None  # the run's name under eval/runs/, once written
    stage: str | None = None  # 作答 (answering) or 评分 (scoring)
    done: int = 0
    total: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    error: dict[str, str] | None = None

    def record(self) -> dict[str, Any]:
        return asdict(self)


class Evaluations:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.job = EvalJob()
        self._running = threading.Lock()

    @property
    def sets_dir(self) -> Path:
        return self.pipeline.settings.home / "eval" / "sets"

    @property
    def runs_dir(self) -> Path:
        return runs_dir(self.pipeline.settings.home)

    def sets(self) -> list[dict[str, Any]]:
        """The sets in eval/sets/ with their item counts."""
        found = []
        for path in sorted(self.sets_dir.glob("*.jsonl")) if self.sets_dir.is_dir() else []:
            lines = [line for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
            found.append({"name": path.name, "items": len(lines)})
        return found

    def save_set(self, name: str, content: bytes) -> str:
        """Check an uploaded set and keep it in eval/sets/ (a new name when one is taken); its name."""
        stem = Path(name).stem
        if not name.endswith(".jsonl") or not _SAFE_NAME.fullmatch(stem):
            raise BadInputError("评测集须为 .jsonl 文件，文件名只含字母、数字、汉字、点和连字符")
        self.sets_dir.mkdir(parents=True, exist_ok=True)
        target, number = self.sets_dir / name, 1
        while target.exists() and target.read_bytes() != content:
            number += 1
            target = self.sets_dir / f"{stem}-{number}.jsonl"
        partial = target.with_name(f".{target.name}.part")
        partial.write_bytes(content)
        try:
            load_eval_set(partial)  # a malformed set is refused, with the line and the problem
        except RagError:
            partial.unlink()
            raise
        partial.replace(target)
        return target.name

    def start(self, set_name: str) -> EvalJob:
        """Run eval/sets/``set_name`` in the background; ``EvalRunningError`` while one runs."""
        eval_set = self._set_path(set_name)
        load_eval_set(eval_set)
        if not self._running.acquire(blocking=False):
            raise EvalRunningError("已有评测在运行，请等它完成后再开始新的评测")
        self.job = EvalJob(state="running", eval_set=set_name, started_at=time.time())
        threading.Thread(target=self._run, args=(eval_set,), name="eval-run", daemon=True).start()
        return self.job

    def _run(self, eval_set: Path) -> None:
        job = self.job

        def progress(stage: str, done: int, total: int) -> None:
            job.stage, job.done, job.total = stage, done, total

        def work() -> None:
            evaluation = evaluate_set(self.pipeline, eval_set, progress=progress)
            target = new_run_dir(self.pipeline.settings.home, eval_set)
            write_outputs(evaluation, target)
            job.run = target.name

        run_job(job, work, "评测", self._running.release)

    def runs(self) -> list[dict[str, Any]]:
        """Finished runs, newest first, with their set, item count and headline measures."""
        found = []
        for path in (
            sorted(self.runs_dir.glob("*/report.json"), reverse=True) if self.runs_dir.is_dir() else []
        ):
            try:
                report = load_report(path)
            except RagError:
                continue  # a run still being written, or a damaged one
            config = report.get("config", {})
            found.append(
                {
                    "run": path.parent.name,
                    "eval_set": Path(str(config.get("eval_set", ""))).name,
                    "created_at": config.get("created_at"),
                    "items": len(report.get("items") or []),
                    "metrics": {key: report.get(key) for key in HEADLINE},
                }
            )
        return found

    def report(self, run: str) -> dict[str, Any]:
        """A run's report.json, with the conclusion the report opens with, each item's verdict in
        the same words, and the Chinese names of its measures and question types."""
        report = load_report(self.run_path(run) / "report.json")
        labels = {key: metric_label(key) for key in HEADLINE}
        types = {kind: type_label(kind) for kind in report.get("by_type", {})}
        items = [{**detail, "verdict": item_verdict(detail)} for detail in report["items"]]
        return {
            "run": run,
            "summary": summary_lines(report),
            "labels": labels,
            "type_labels": types,
            **report,
            "items": items,
        }

    def item(self, run: str, item_id: str) -> dict[str, Any]:
        """One item of a run: what was asked, the answer and its passages, and how it scored."""
        report, records = load_result(self.run_path(run))
        record = next((r for r in records if str(r.get("id")) == item_id), None)
        if record is None:
            raise UnknownRunError(f"评测结果 {run!r} 中没有条目 {item_id!r}")
        detail: dict[str, Any] = next((d for d in report.get("items", []) if str(d.get("id")) == item_id), {})
        return {"record": record, "scores": detail}

    def compare(self, a: str, b: str) -> str:
        return render_comparison(compare_reports(self.run_path(a), self.run_path(b)))

    def run_path(self, run: str) -> Path:
        path = self.runs_dir / run
        if not _SAFE_NAME.fullmatch(run) or not (path / "report.json").is_file():
            raise UnknownRunError(f"找不到评测结果 {run!r}（见 GET /api/eval/runs）")
        return path

    def _set_path(self, name: str) -> Path:
        path = self.sets_dir / name
        if not name.endswith(".jsonl") or not _SAFE_NAME.fullmatch(Path(name).stem) or not path.is_file():
            raise UnknownRunError(f"找不到评测集 {name!r}（见 GET /api/eval/sets）")
        return path
