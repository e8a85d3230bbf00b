"""Evaluation: run a question set through the pipeline, then score the run.

Set format: ``../shared/eval/README.md`` (one JSON object per line with ``id``, ``question``,
``answerable``, ``evidence_any``, ``answer_keywords``, ``source``, ``type``).

A passage is *relevant* when its normalised text (no whitespace, no quote marks) contains
any normalised evidence span. Metrics:
- ``recall@k``: share of answerable items with a relevant passage in the top k;
- ``mrr@10``: mean of 1/rank of the first relevant passage in the top 10 (0 if none);
- ``keyword_coverage``: share of an item's answer keywords found in its normalised answer
  (``[n]`` markers removed), averaged over answerable items;
- ``refusal_accuracy``: share of unanswerable items refused with no citation;
- ``false_refusal_rate``: share of answerable items refused.
Scoring reads only the run records and the set, so a run can be rescored without models.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.errors import EvalSetError
from rag.text import normalize_for_match

K_VALUES = (1, 3, 5, 10)
RUN_PASSAGES = 10
_MARKER = re.compile(r"\[\^?\d+(?:[,，]\s*\d+)*\]|【\d+】")

RunRecord = dict[str, Any]
Metrics = dict[str, Any]


class EvalItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    question: str = Field(min_length=1)
    answerable: bool
    evidence_any: list[str] = []
    answer_keywords: list[str] = []
    source: str | None = None
    type: str = "unknown"


def load_eval_set(path: Path) -> list[EvalItem]:
    """Read a JSONL set; a malformed line is an error naming its line number."""
    if not path.is_file():
        raise EvalSetError(f"找不到评测集：{path}")
    items: list[EvalItem] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if isinstance(data, dict) and isinstance(data.get("id"), int):
                data["id"] = str(data["id"])
            item = EvalItem.model_validate(data)
        except (json.JSONDecodeError, ValidationError) as e:
            raise EvalSetError(f"{path.name} 第 {number} 行格式错误：{e}") from e
        if item.id in seen:
            raise EvalSetError(f"{path.name} 第 {number} 行：id {item.id!r} 重复")
        if item.answerable and not item.evidence_any:
            raise EvalSetError(f"{path.name} 第 {number} 行：可回答的条目需要 evidence_any")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise EvalSetError(f"评测集为空：{path}")
    return items


@dataclass
class _Tally:
    ranks: list[int | None] = field(default_factory=list)
    coverage: list[float] = field(default_factory=list)
    false_refusals: list[bool] = field(default_factory=list)
    correct_refusals: list[bool] = field(default_factory=list)

    def metrics(self) -> Metrics:
        out: Metrics = {"items": len(self.ranks) + len(self.correct_refusals)}
        if self.ranks:
            for k in K_VALUES:
                out[f"recall@{k}"] = _mean(r is not None and r <= k for r in self.ranks)
            out["mrr@10"] = _mean(1.0 / r if r is not None and r <= 10 else 0.0 for r in self.ranks)
            out["keyword_coverage"] = _mean(self.coverage)
            out["false_refusal_rate"] = _mean(self.false_refusals)
        if self.correct_refusals:
            out["refusal_accuracy"] = _mean(self.correct_refusals)
        return out


def _mean(values: Iterable[float | bool]) -> float:
    values = [float(v) for v in values]
    return round(sum(values) / len(values), 4) if values else 0.0


def first_relevant_rank(item: EvalItem, passages: Sequence[Mapping[str, Any]]) -> int | None:
    spans = [normalize_for_match(span) for span in item.evidence_any if span.strip()]
    for passage in passages:
        text = normalize_for_match(str(passage["text"]))
        if any(span in text for span in spans):
            return int(passage["rank"])
    return None


def keyword_coverage(item: EvalItem, answer: str) -> float:
    if not item.answer_keywords:
        return 1.0
    text = normalize_for_match(_MARKER.sub("", answer))
    return sum(normalize_for_match(k) in text for k in item.answer_keywords) / len(item.answer_keywords)


def score_run(
    items: Sequence[EvalItem], run: Sequence[RunRecord], doc_names: Mapping[str, str] | None = None
) -> Metrics:
    """All metrics, overall, by question type and by briefing, from the run records and the set.

    ``doc_names`` maps an item's ``source`` (the original file name) to the briefing's name
    in ``data/``; unmapped sources are reported under their own name.
    """
    doc_names = doc_names or {}
    by_id = {record["id"]: record for record in run}
    missing = [item.id for item in items if item.id not in by_id]
    if missing:
        raise EvalSetError(f"运行结果缺少条目：{', '.join(missing[:5])}")
    overall = _Tally()
    by_type: defaultdict[str, _Tally] = defaultdict(_Tally)
    by_doc: defaultdict[str, _Tally] = defaultdict(_Tally)
    per_item: list[dict[str, Any]] = []
    for item in items:
        record = by_id[item.id]
        refused = bool(record["refused"])
        detail: dict[str, Any] = {"id": item.id, "type": item.type, "refused": refused}
        doc = doc_names.get(item.source or "", item.source or "（无来源）")
        for tally in (overall, by_type[item.type], by_doc[doc]):
            if item.answerable:
                rank = first_relevant_rank(item, record["passages"])
                coverage = keyword_coverage(item, record["answer"])
                tally.ranks.append(rank)
                tally.coverage.append(coverage)
                tally.false_refusals.append(refused)
                detail.update(rank=rank, keyword_coverage=round(coverage, 4))
            else:
                tally.correct_refusals.append(refused and not record["citations"])
        per_item.append(detail)
    return {
        "overall": overall.metrics(),
        "by_type": {t: by_type[t].metrics() for t in sorted(by_type)},
        "by_doc": {d: by_doc[d].metrics() for d in sorted(by_doc)},
        "items": per_item,
    }


def run_eval(
    ask: Callable[[str], tuple[list[dict[str, Any]], dict[str, Any]]],
    items: Sequence[EvalItem],
    progress: Callable[[int, int], None] | None = None,
) -> list[RunRecord]:
    """Run records (id, question, passages, answer, citations, refused) for every item.

    ``ask(question)`` returns the top passages and the answer record, as the pipeline gives them.
    """
    run = []
    for number, item in enumerate(items, start=1):
        passages, answer = ask(item.question)
        run.append(
            {
                "id": item.id,
                "question": item.question,
                "passages": passages,
                "answer": answer["answer"],
                "citations": answer["citations"],
                "refused": answer["refused"],
            }
        )
        if progress:
            progress(number, len(items))
    return run


def write_run(path: Path, run: Sequence[RunRecord]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for record in run:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def render_report(metrics: Metrics, config: Mapping[str, Any], items: Sequence[EvalItem], run: Sequence[RunRecord]) -> str:
    """A Markdown report: configuration, overall and per-type tables, the failed items."""
    lines = ["# 评测报告", "", "## 配置", ""]
    lines += [f"- {key}: `{value}`" for key, value in config.items()]
    columns = [f"recall@{k}" for k in K_VALUES] + [
        "mrr@10", "keyword_coverage", "false_refusal_rate", "refusal_accuracy",
    ]
    lines += ["", "## 指标", ""]
    rows = [("全部", metrics["overall"])] + list(metrics["by_type"].items())
    header = ["| {} | 条目 | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 2)]
    lines += [header[0].format("类型"), header[1]]
    lines += [_row(name, values, columns) for name, values in rows]
    lines += ["", "## 按简报", "", header[0].format("简报"), header[1]]
    lines += [_row(name, values, columns) for name, values in metrics["by_doc"].items()]
    by_id = {record["id"]: record for record in run}
    failures = []
    for item, detail in zip(items, metrics["items"], strict=True):
        record = by_id[item.id]
        if item.answerable:
            reasons = []
            if detail["rank"] is None or detail["rank"] > 5:
                reasons.append(f"前5段落未命中证据（首个命中名次：{detail['rank'] or '无'}）")
            if detail["refused"]:
                reasons.append("误拒答")
            elif detail["keyword_coverage"] < 1:
                reasons.append(f"关键词覆盖 {detail['keyword_coverage']:.2f}")
        else:
            reasons = [] if detail["refused"] else ["应拒答但作答"]
        if reasons:
            failures.append(f"- **{item.id}**（{item.type}）{item.question} — {'；'.join(reasons)}\n  - 回答：{record['answer']}")
    lines += ["", f"## 未达标条目（{len(failures)}）", ""] + (failures or ["无"])
    return "\n".join(lines) + "\n"


def _row(name: str, values: Mapping[str, Any], columns: Sequence[str]) -> str:
    cells = [f"{values[c]:.3f}" if c in values else "–" for c in columns]
    return f"| {name} | {values['items']} | " + " | ".join(cells) + " |"
