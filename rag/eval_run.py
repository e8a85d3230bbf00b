"""Running an eval set: every item answered through ``Pipeline.ask`` (as users get it), the
run scored (``rag.evaluate.score_run``) and the report written. ``rag eval run`` and the
baselines test both call ``evaluate_set``, so they measure the same thing."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.conversation import Turn
from rag.errors import EvalSetError
from rag.eval_set import EvalItem, load_eval_set
from rag.evaluate import RUN_PASSAGES, RunRecord, build_report, score_run
from rag.judges import SupportJudge, get_judge
from rag.metadata import names_by_original

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

# ``ask(question, history)``: the top passages retrieved for the answer's query, and the answer
# record (``rag.render.answer_record``) of the question asked after the conversation ``history``.
Ask = Callable[[str, Sequence[Turn]], tuple[list[dict[str, Any]], dict[str, Any]]]
# progress(stage, done, total); stages: "作答" (answering) and "评分" (scoring)
EvalProgress = Callable[[str, int, int], None]


@dataclass
class Evaluation:
    items: list[EvalItem]
    run: list[RunRecord]
    report: dict[str, Any]  # the content of report.json (``build_report``)


def runs_dir(home: Path) -> Path:
    """Where ``rag eval`` and the page's 评测 tab keep their runs."""
    return home / "eval" / "runs"


def new_run_dir(home: Path, eval_set: Path) -> Path:
    """A fresh run directory named after the time and the set: ``eval/runs/20261206-071500-dev``."""
    base = runs_dir(home) / f"{datetime.now():%Y%m%d-%H%M%S}-{eval_set.stem}"
    target, suffix = base, 1
    while target.exists():
        suffix += 1
        target = base.with_name(f"{base.name}-{suffix}")
    return target


def write_outputs(evaluation: Evaluation, target: Path) -> None:
    """``run.jsonl``, ``report.json``, ``report.md`` and ``chart.png`` of a run, in ``target``."""
    from rag.eval_chart import render_chart
    from rag.eval_report import render_report

    target.mkdir(parents=True, exist_ok=True)
    write_run(target / "run.jsonl", evaluation.run)
    report = evaluation.report
    (target / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    (target / "report.md").write_text(
        render_report(report, evaluation.items, evaluation.run), encoding="utf-8"
    )
    render_chart(report, target / "chart.png")


def evaluate_set(
    pipeline: Pipeline,
    eval_set: Path,
    k: int | None = None,
    answerer: str | None = None,
    judge: str = "offline",
    progress: EvalProgress | None = None,
) -> Evaluation:
    """Answer every item of ``eval_set`` with ``k`` passages (default ``answer.passages``) and
    ``answerer`` (default: the configured one), score the run with ``judge``, build the report."""
    settings = pipeline.settings
    items = load_eval_set(eval_set)
    spec = answerer or settings.answerer
    answer_k = k or settings.answer.passages
    support_judge = get_judge(judge, settings, pipeline.embedder)
    run = run_eval(
        ask_pipeline(pipeline, answer_k, spec),
        items,
        answer_k,
        (lambda d, t: progress("作答", d, t)) if progress else None,
    )
    metrics = score_run(
        items,
        run,
        support_judge,
        names_by_original(settings.data_dir),
        (lambda d, t: progress("评分", d, t)) if progress else None,
    )
    report = build_report(metrics, run_config(pipeline, eval_set, answer_k, spec, support_judge))
    return Evaluation(items, run, report)


def run_eval(
    ask: Ask,
    items: Sequence[EvalItem],
    k: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[RunRecord]:
    """Run records for every item: the conversation, the standalone ``query``, the top passages
    retrieved for it (the first ``k`` are what the answerer was given), the passages the answer
    holds (``answer_passages``; its ``[n]`` markers number these), the answer with its
    citations, whether and why it was refused.

    ``ask(question, history)`` returns the top passages and the answer record.
    """
    run = []
    for number, item in enumerate(items, start=1):
        passages, answer = ask(item.question, item.turns())
        run.append(
            {
                "id": item.id,
                "question": item.question,
                "history": [turn.model_dump() for turn in item.history],
                "query": answer.get("query") or item.question,
                "k": k,
                "passages": passages,
                "answer_passages": answer.get("passages", passages[:k]),
                "answer": answer["answer"],
                "citations": answer["citations"],
                "refused": answer["refused"],
                "refusal_reason": answer["refusal_reason"],
                "notices": answer["notices"],
                "answerer": answer["answerer"],
            }
        )
        if progress:
            progress(number, len(items))
    return run


def ask_pipeline(pipeline: Pipeline, k: int, answerer: str | None = None) -> Ask:
    """The ``ask`` of ``run_eval`` for a pipeline: ``Pipeline.ask`` answers with ``k`` passages
    (the configured answerer, or the one ``answerer`` names) after the conversation, as users
    get it; then the top ``max(10, k)`` passages for the answer's query are kept for the
    retrieval metrics."""
    from rag.render import answer_record

    pipeline.answerer_for(answerer)  # built once, now: a misconfigured answerer fails before the run

    def ask(question: str, history: Sequence[Turn]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        answer = pipeline.ask(question, k, history=history, answerer=answerer)
        hits = pipeline.search(answer.query or question, max(RUN_PASSAGES, k))
        return [hit.record() for hit in hits], answer_record(answer)

    return ask


def run_config(
    pipeline: Pipeline, eval_set: Path, k: int, answerer: str, judge: SupportJudge
) -> dict[str, Any]:
    """The configuration fingerprint every report carries."""
    manifest = {key: value for key, value in pipeline.index.manifest.items() if key != "created_at"}
    settings = pipeline.settings
    return {
        "eval_set": str(eval_set),
        "eval_set_sha256": hashlib.sha256(eval_set.read_bytes()).hexdigest()[:12],
        "embedder": settings.embedder,
        "answerer": answerer,
        "judge": judge.name,
        "judge_rule": judge.rule,
        "k": k,
        "index_manifest_hash": hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:12],
        "index_created_at": pipeline.index.manifest.get("created_at"),
        "git_commit": git_commit(settings.home),
        "created_at": datetime.now().isoformat(timespec="seconds"),
        "answer": settings.answer.model_dump(),
        "retrieval": settings.retrieval.model_dump(),
        "chunking": settings.chunking.model_dump(),
    }


def git_commit(path: Path) -> str:
    """The short commit of the checkout at ``path`` (``+dirty`` with uncommitted changes)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=path,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = head.stdout.strip()
    if not commit:
        return "unknown"
    return commit + ("+dirty" if dirty.stdout.strip() else "")


def write_run(path: Path, run: Sequence[RunRecord]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for record in run:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_run(path: Path) -> list[RunRecord]:
    """The records of a ``run.jsonl``; a malformed line is an error naming its line number."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise EvalSetError(f"{path} 第 {number} 行不是有效的 JSON：{e}") from e
    return records
