"""``rag eval compare``: two runs side by side.

``compare_reports`` classifies each item of two runs as 变好, 变差 or 不变 by the most serious
tier whose changes do not cancel out: refusal, then retrieval, then grounding (the sum of the
changes of the support-based and evidence-based scores), then form (keyword coverage, and the
share of fragments, which counts the other way). Measures trivially 1 for a run's answerer
(``trivial`` in ``report.json``) are marked in the metric tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import EvalSetError
from rag.eval_format import EVIDENCE, GROUNDING, fmt, report_answerers, table, trivial_set
from rag.eval_run import read_run
from rag.evaluate import HEADLINE, K_VALUES, LOWER_IS_BETTER

COMPARED = (*HEADLINE, *(f"recall@{k}" for k in K_VALUES))
ANSWER_PREVIEW = 200


def answer_k(record: Mapping[str, Any], config: Mapping[str, Any]) -> int:
    return int(record.get("k") or config.get("k") or len(record.get("passages", [])))


@dataclass(frozen=True)
class MetricDelta:
    key: str
    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else round(self.b - self.a, 4) or 0.0  # no -0.0


@dataclass
class ItemChange:
    """One item in both runs: 变好, 变差 or 不变, with what changed (``+``/``-`` reasons)."""

    id: str
    type: str
    question: str
    status: str
    changes: list[str]
    answer_a: str
    answer_b: str


@dataclass
class Comparison:
    path_a: Path
    path_b: Path
    config_a: dict[str, Any]
    config_b: dict[str, Any]
    config_diff: list[str]
    overall: list[MetricDelta]
    by_type: dict[str, list[MetricDelta]]
    items: list[ItemChange]
    only_a: list[str]
    only_b: list[str]
    trivial_a: frozenset[str] = field(default_factory=frozenset)
    trivial_b: frozenset[str] = field(default_factory=frozenset)
    answerers_a: list[str] = field(default_factory=list)
    answerers_b: list[str] = field(default_factory=list)

    def with_status(self, status: str) -> list[ItemChange]:
        return [change for change in self.items if change.status == status]


def load_result(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``report.json`` and ``run.jsonl`` of a run directory (or of the directory of a report.json)."""
    report_path = path / "report.json" if path.is_dir() else path
    run_path = report_path.parent / "run.jsonl"
    for needed in (report_path, run_path):
        if not needed.is_file():
            raise EvalSetError(_missing(needed))
    report = load_report(report_path)
    try:
        run = read_run(run_path)
    except UnicodeDecodeError as e:
        raise EvalSetError(f"{run_path} 不是有效的 JSON：{e}") from e
    return report, run


def load_report(report_path: Path) -> dict[str, Any]:
    """A run's ``report.json`` alone (what a list of runs or a report page needs)."""
    if not report_path.is_file():
        raise EvalSetError(_missing(report_path))
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise EvalSetError(f"{report_path} 不是有效的 JSON：{e}") from e
    if not isinstance(report, dict) or not isinstance(report.get("items"), list):
        raise EvalSetError(f"{report_path} 不是 rag eval 写出的报告（缺少逐条结果 items）")
    return report


def _missing(path: Path) -> str:
    return f"找不到评测结果文件：{path}（需要 rag eval 的输出目录或其中的 report.json）"


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _deltas(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[MetricDelta]:
    return [MetricDelta(key, a.get(key), b.get(key)) for key in COMPARED]


def _fragment_share(detail: Mapping[str, Any]) -> float | None:
    count = detail.get("sentence_count")
    return len(detail.get("fragments") or []) / count if count else None


def _hit(detail: Mapping[str, Any], k: int) -> bool:
    return detail.get("rank") is not None and int(detail["rank"]) <= k


def _rank(detail: Mapping[str, Any]) -> str:
    return "未命中" if detail.get("rank") is None else f"第 {detail['rank']} 名"


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ANSWER_PREVIEW else text[:ANSWER_PREVIEW] + "…"


def item_change(
    da: Mapping[str, Any],
    db: Mapping[str, Any],
    ra: Mapping[str, Any],
    rb: Mapping[str, Any],
    ka: int,
    kb: int,
) -> tuple[str, list[str]]:
    """The status of one item between runs and what changed (see the module docstring)."""
    tiers: list[tuple[float, list[str]]] = []  # (net direction, descriptions) per tier
    refusal: list[str] = []
    direction = 0.0
    if da["answerable"]:
        if da["refused"] != db["refused"]:
            direction = 1.0 if da["refused"] else -1.0
            refusal.append(
                "不再误拒答"
                if da["refused"]
                else f"变为误拒答（理由：{rb.get('refusal_reason') or '未给出'}）"
            )
    else:
        correct_a = bool(da["refused"]) and not ra.get("citations")
        correct_b = bool(db["refused"]) and not rb.get("citations")
        if correct_a != correct_b:
            direction = 1.0 if correct_b else -1.0
            refusal.append("变为正确拒答" if correct_b else "不再正确拒答（应拒答）")
    tiers.append((direction, refusal))
    retrieval: list[str] = []
    direction = 0.0
    if "rank" in da and "rank" in db and _hit(da, ka) != _hit(db, kb):
        direction = 1.0 if _hit(db, kb) else -1.0
        verb = "进入" if direction > 0 else "跌出"
        retrieval.append(f"证据{verb}前 k 段落（{_rank(da)} → {_rank(db)}）")
    tiers.append((direction, retrieval))
    for keys in ((*GROUNDING, *EVIDENCE), ("keyword_coverage",)):
        described, net = [], 0.0
        for key in keys:
            a, b = da.get(key), db.get(key)
            if a is not None and b is not None and a != b:
                net += b - a
                described.append(f"{key} {'↑' if b > a else '↓'} {a:.3f} → {b:.3f}")
        tiers.append((net, described))
    share_a, share_b = _fragment_share(da), _fragment_share(db)
    if share_a is not None and share_b is not None and share_a != share_b:
        net, described = tiers.pop()
        described.append(f"残句 {len(da['fragments'])} → {len(db['fragments'])}")
        tiers.append((net + share_a - share_b, described))
    changes = [text for _, described in tiers for text in described]
    for net, _ in tiers:
        if net:
            return ("变好" if net > 0 else "变差"), changes
    return "不变", changes


def compare_reports(a: Path, b: Path) -> Comparison:
    """Compare two ``rag eval`` results (run directories or their ``report.json``): configuration,
    metrics overall and by type, and each item present in both."""
    report_a, run_a = load_result(a)
    report_b, run_b = load_result(b)
    config_a, config_b = report_a.get("config", {}), report_b.get("config", {})
    flat_a, flat_b = _flatten(config_a), _flatten(config_b)
    config_diff = [
        key
        for key in dict.fromkeys([*flat_a, *flat_b])
        if key != "created_at" and flat_a.get(key) != flat_b.get(key)
    ]
    types_a, types_b = report_a.get("by_type", {}), report_b.get("by_type", {})
    by_type = {
        t: _deltas(types_a.get(t, {}), types_b.get(t, {})) for t in dict.fromkeys([*types_a, *types_b])
    }
    details_a = {d["id"]: d for d in report_a["items"]}
    details_b = {d["id"]: d for d in report_b["items"]}
    records_a = {r["id"]: r for r in run_a}
    records_b = {r["id"]: r for r in run_b}
    changes = []
    for item_id, da in details_a.items():
        if item_id not in details_b:
            continue
        db = details_b[item_id]
        ra, rb = records_a.get(item_id, {}), records_b.get(item_id, {})
        status, changed = item_change(da, db, ra, rb, answer_k(ra, config_a), answer_k(rb, config_b))
        changes.append(
            ItemChange(
                id=item_id,
                type=str(db.get("type", da.get("type", "unknown"))),
                question=str(rb.get("question") or ra.get("question") or ""),
                status=status,
                changes=changed,
                answer_a=_preview(str(ra.get("answer", ""))),
                answer_b=_preview(str(rb.get("answer", ""))),
            )
        )
    return Comparison(
        path_a=a,
        path_b=b,
        config_a=config_a,
        config_b=config_b,
        config_diff=config_diff,
        overall=_deltas(report_a, report_b),
        by_type=by_type,
        items=changes,
        only_a=[i for i in details_a if i not in details_b],
        only_b=[i for i in details_b if i not in details_a],
        trivial_a=trivial_set(report_a),
        trivial_b=trivial_set(report_b),
        answerers_a=report_answerers(report_a),
        answerers_b=report_answerers(report_b),
    )


def trivial_mark(key: str, comparison: Comparison) -> str:
    """“（A、B 对 extractive 恒为 1，不构成检验）” when ``key`` cannot fail for a run's answerer."""
    runs = [
        (label, answerers)
        for label, trivial, answerers in (
            ("A", comparison.trivial_a, comparison.answerers_a),
            ("B", comparison.trivial_b, comparison.answerers_b),
        )
        if key in trivial
    ]
    if not runs:
        return ""
    parts = [f"{label} 对 {'、'.join(answerers)}" for label, answerers in runs]
    if len(runs) == 2 and runs[0][1] == runs[1][1]:
        parts = [f"A、B 对 {'、'.join(runs[0][1])}"]
    return f"（{'；'.join(parts)} 恒为 1，不构成检验）"


def _delta_row(delta: MetricDelta, comparison: Comparison) -> list[str]:
    name = (
        delta.key
        + ("（越低越好）" if delta.key in LOWER_IS_BETTER else "")
        + trivial_mark(delta.key, comparison)
    )
    shown = "–" if delta.delta is None else f"{delta.delta:+.3f}"
    return [name, fmt(delta.a), fmt(delta.b), shown]


def _change_lines(title: str, changes: list[ItemChange]) -> list[str]:
    lines = [f"## {title}（{len(changes)}）", ""]
    if not changes:
        return [*lines, "无", ""]
    for change in changes:
        lines += [
            f"### {change.id}（{change.type}）{change.question}",
            "",
            "- 变化：" + "；".join(change.changes),
            f"- A：{change.answer_a or '（空）'}",
            f"- B：{change.answer_b or '（空）'}",
            "",
        ]
    return lines


def render_comparison(comparison: Comparison) -> str:
    """Markdown: configuration differences, metric changes overall and by type, then the items
    that got worse and those that got better."""
    c = comparison
    flat_a, flat_b = _flatten(c.config_a), _flatten(c.config_b)
    lines = [
        "# 评测对比",
        "",
        f"- A：{c.path_a}（{c.config_a.get('created_at', '时间未知')}）",
        f"- B：{c.path_b}（{c.config_b.get('created_at', '时间未知')}）",
        f"- 共同条目 {len(c.items)} 条：变好 {len(c.with_status('变好'))}，变差 {len(c.with_status('变差'))}，"
        f"不变 {len(c.with_status('不变'))}",
        "",
        "## 配置差异",
        "",
    ]
    if c.config_diff:
        lines += table(
            ["配置项", "A", "B"], ([key, fmt(flat_a.get(key)), fmt(flat_b.get(key))] for key in c.config_diff)
        )
    else:
        lines.append("无（除运行时间外配置相同）")
    lines += [
        "",
        "## 指标变化",
        "",
        *table(["指标", "A", "B", "Δ"], (_delta_row(d, c) for d in c.overall)),
        "",
    ]
    lines += ["## 按题型变化", ""]
    rows = [
        [name, *_delta_row(delta, c)]
        for name, deltas in c.by_type.items()
        for delta in deltas
        if delta.key in HEADLINE and (delta.a is not None or delta.b is not None)
    ]
    lines += [*table(["题型", "指标", "A", "B", "Δ"], rows), ""]
    lines += _change_lines("变差的条目", c.with_status("变差"))
    lines += _change_lines("变好的条目", c.with_status("变好"))
    if c.only_a or c.only_b:
        lines += ["## 仅在一方的条目", ""]
        lines += [f"- 仅在 A：{'、'.join(c.only_a) or '无'}", f"- 仅在 B：{'、'.join(c.only_b) or '无'}", ""]
    return "\n".join(lines).rstrip() + "\n"
