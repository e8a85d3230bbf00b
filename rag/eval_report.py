"""Human-facing outputs of ``rag eval``: the Markdown report, its chart and the comparison of two runs.

The report lists the items that failed worst. An item's *failures* fall in four tiers; items
are ordered by their most serious tier, then by their mean score (keyword coverage, citation
recall/precision and faithfulness, whichever the item has; lower first), then by set order:

0. refusal: an unanswerable item answered (or refused while still citing), an answerable one refused;
1. retrieval: no relevant passage among the ``k`` passages the answerer was given;
2. grounding: a sentence its citations do not support (or that cites nothing), an irrelevant
   citation, a claim the passages do not support (needs a judge);
3. keywords: answer keywords missing from the answer (refused answers are not checked).

``compare_reports`` classifies each item of two runs as 变好, 变差 or 不变 by the most serious
tier whose changes do not cancel out (the same tiers; grounding by the sum of the three
metric changes, keywords by the coverage change).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import EvalSetError
from rag.evaluate import HEADLINE, K_VALUES, EvalItem, missing_keywords, read_run

METRIC_HELP = {
    "recall@k": "可回答题中，交给回答器的前 k 段落含有证据的比例",
    "mrr@10": "前 10 段落中首个含证据段落名次的倒数，取平均（未命中记 0）",
    "keyword_coverage": "答案覆盖标准答案关键词的比例（可回答题平均）",
    "citation_precision": "引用中确实支持其所在句子的比例（ALCE）",
    "citation_recall": "答案句子能被其所引段落共同支持的比例（ALCE）",
    "faithfulness": "答案中的陈述能由给定段落支持的比例（RAGAS）",
    "refusal_accuracy": "不可回答题被正确拒答且未附引用的比例",
    "false_refusal_rate": "可回答题被误拒答的比例（越低越好）",
}
COMPARED = (*HEADLINE, *(f"recall@{k}" for k in K_VALUES))
LOWER_IS_BETTER = frozenset({"false_refusal_rate"})
FINGERPRINT = (
    "eval_set", "eval_set_sha256", "embedder", "answerer", "judge", "judge_rule", "k",
    "index_manifest_hash", "index_created_at", "git_commit", "created_at",
)
ANSWER_PREVIEW = 200
_GROUNDING = ("citation_recall", "citation_precision", "faithfulness")


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _cell(text: Any) -> str:
    """A Markdown table cell: pipes escaped, line breaks flattened."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _quote(text: str) -> list[str]:
    return [f"> {line}" if line.strip() else ">" for line in (text.strip() or "（空）").splitlines()]


def _item_count(report: Mapping[str, Any]) -> int:
    """The number of items: ``report.json`` keeps the per-item list under ``items``."""
    items = report.get("items")
    return len(items) if isinstance(items, list) else int(items or 0)


def _answer_k(record: Mapping[str, Any], config: Mapping[str, Any]) -> int:
    return int(record.get("k") or config.get("k") or len(record.get("passages", [])))


def citation_line(citation: Mapping[str, Any]) -> str:
    """``[n] 《title》 section page``."""
    parts = [f"[{citation.get('n')}]", f"《{citation.get('title') or citation.get('doc') or ''}》"]
    parts += [str(citation[key]) for key in ("section", "page") if citation.get(key)]
    return " ".join(parts)


def item_failures(item: EvalItem, detail: Mapping[str, Any], record: Mapping[str, Any], k: int) -> list[tuple[int, str]]:
    """Why an item failed: (tier, reason in Chinese) pairs, tiers as in the module docstring."""
    out: list[tuple[int, str]] = []
    refused = bool(detail.get("refused"))
    if not item.answerable and not refused:
        out.append((0, "应拒答但作答"))
    elif not item.answerable and record.get("citations"):
        out.append((0, "拒答但仍附引用"))
    elif item.answerable and refused:
        out.append((0, f"误拒答（理由：{record.get('refusal_reason') or '未给出'}）"))
    if item.answerable:
        rank = detail.get("rank")
        if rank is None:
            out.append((1, f"前 {k} 段落未命中证据（前 {len(record.get('passages', []))} 段均未命中）"))
        elif rank > k:
            out.append((1, f"前 {k} 段落未命中证据（首个命中在第 {rank} 名）"))
        if not refused and (missing := missing_keywords(item, str(record.get("answer", "")))):
            out.append((3, "缺少关键词：" + "、".join(missing)))
    sentences = detail.get("sentences") or []
    for sentence in sentences:
        if not sentence.get("supported"):
            cited = "".join(f"[{n}]" for n in sentence.get("cited", []))
            out.append((2, f"句子无依据{'（未引用）' if not cited else ''}：“{sentence['sentence']}”{cited}"))
        for n in sentence.get("irrelevant", []):
            out.append((2, f"无关引用 [{n}]：“{sentence['sentence']}”"))
    out += [(2, f"与段落不符的陈述：“{claim}”") for claim in detail.get("unsupported_claims", [])]
    return sorted(out, key=lambda failure: failure[0])


def _quality(detail: Mapping[str, Any]) -> float:
    scores = [float(detail[key]) for key in ("keyword_coverage", *_GROUNDING) if detail.get(key) is not None]
    return sum(scores) / len(scores) if scores else 1.0


@dataclass(frozen=True)
class FailedItem:
    item: EvalItem
    record: Mapping[str, Any]
    failures: list[tuple[int, str]]
    quality: float
    order: int

    @property
    def badness(self) -> tuple[int, float, int]:
        """Sort key, worst first: most serious tier, then lowest mean score, then set order."""
        return min(tier for tier, _ in self.failures), self.quality, self.order


def worst_items(
    report: Mapping[str, Any], items: Sequence[EvalItem], run: Sequence[Mapping[str, Any]], worst: int = 15
) -> list[FailedItem]:
    """The ``worst`` items with at least one failure, worst first."""
    details = {d["id"]: d for d in report.get("items", []) if isinstance(d, Mapping)}
    records = {r["id"]: r for r in run}
    config = report.get("config", {})
    failed = []
    for order, item in enumerate(items):
        if item.id not in details or item.id not in records:
            continue
        record = records[item.id]
        found = item_failures(item, details[item.id], record, _answer_k(record, config))
        if found:
            failed.append(FailedItem(item, record, found, _quality(details[item.id]), order))
    return sorted(failed, key=lambda f: f.badness)[:worst]


def _fingerprint(config: Mapping[str, Any]) -> list[str]:
    keys = [key for key in FINGERPRINT if key in config] + [key for key in config if key not in FINGERPRINT]
    lines = []
    for key in keys:
        value = config[key]
        shown = json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, dict | list) else _fmt(value)
        lines.append(f"- {key}：`{shown}`")
    return lines


def _failed_item_lines(number: int, failed: FailedItem) -> list[str]:
    item, record = failed.item, failed.record
    lines = [f"### {number}. {item.id}（{item.type}）", "", f"**提问**：{item.question}", ""]
    if record.get("refused"):
        reason = record.get("refusal_reason") or "未给出"
        lines += [f"**拒答**（理由：{reason}）：", "", *_quote(str(record.get("answer", ""))), ""]
    else:
        lines += ["**回答**：", "", *_quote(str(record.get("answer", ""))), ""]
    citations = record.get("citations") or []
    if citations:
        lines += ["**引用**：", "", *(f"- {citation_line(c)}" for c in citations), ""]
    lines += ["**失败原因**：", "", *(f"- {reason}" for _, reason in failed.failures), ""]
    return lines


def render_report(
    report: dict[str, Any], items: Sequence[EvalItem], run: Sequence[dict[str, Any]], worst: int = 15
) -> str:
    """``report.md``: fingerprint, overall metrics, metrics by type and briefing, chart, worst items."""
    config = report.get("config", {})
    lines = ["# 评测报告", "", "## 配置指纹", "", *_fingerprint(config), ""]
    lines += ["## 总体指标", "", f"条目数：{_item_count(report)}", ""]
    lines += _table(["指标", "值", "说明"], ([key, _fmt(report.get(key)), METRIC_HELP[key]] for key in HEADLINE))
    recalls = "，".join(f"recall@{k} = {_fmt(report.get(f'recall@{k}'))}" for k in K_VALUES)
    lines += ["", f"检索召回：{recalls}", ""]
    header = ["items", *HEADLINE]
    overall_row = ["全部", _item_count(report), *(_fmt(report.get(key)) for key in HEADLINE)]
    for title, label, groups in (("按题型", "题型", report.get("by_type", {})), ("按简报", "简报", report.get("by_doc", {}))):
        rows = [[name, *(_fmt(metrics.get(key)) for key in header)] for name, metrics in groups.items()]
        lines += [f"## {title}", "", *_table([label, *header], [overall_row, *rows]), ""]
    lines += ["## 图表", "", "![各题型指标](chart.png)", ""]
    failed = worst_items(report, items, run, worst)
    lines += ["## 最差条目", ""]
    if not failed:
        lines += ["无", ""]
    else:
        lines += [
            "排序：先看拒答错误（应拒答但作答、误拒答），再看前 k 段落未命中证据，"
            "再看引用与忠实度问题，最后看缺少关键词；同级按得分从低到高。",
            "",
        ]
        for number, item in enumerate(failed, start=1):
            lines += _failed_item_lines(number, item)
    return "\n".join(lines).rstrip() + "\n"


def render_chart(report: dict[str, Any], path: Path) -> None:
    """``chart.png``: the headline metrics, overall and by question type, as grouped bars."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series = {"overall": dict(report), **report.get("by_type", {})}
    metrics = [key for key in HEADLINE if any(values.get(key) is not None for values in series.values())]
    figure = Figure(figsize=(max(8.0, 1.3 * len(metrics) + 2), 5), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    width = 0.8 / max(len(series), 1)
    for index, (name, values) in enumerate(series.items()):
        heights = [float("nan") if values.get(key) is None else float(values[key]) for key in metrics]
        positions = [m + (index - (len(series) - 1) / 2) * width for m in range(len(metrics))]
        axes.bar(positions, heights, width, label=name)
    labels = [f"{key}\n(lower is better)" if key in LOWER_IS_BETTER else key for key in metrics]
    axes.set_xticks(range(len(metrics)), labels, rotation=25, ha="right")
    axes.set_ylim(0, 1)
    axes.set_ylabel("score")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(title="question type", fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    eval_set = report.get("config", {}).get("eval_set")
    axes.set_title(f"briefing-rag eval: {Path(eval_set).stem if eval_set else 'unknown set'}")
    figure.savefig(path, format="png", bbox_inches="tight")


# --- comparison -------------------------------------------------------------------------------


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

    def with_status(self, status: str) -> list[ItemChange]:
        return [change for change in self.items if change.status == status]


def load_result(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``report.json`` and ``run.jsonl`` of a run directory (or of the directory of a report.json)."""
    report_path = path / "report.json" if path.is_dir() else path
    run_path = report_path.parent / "run.jsonl"
    for needed in (report_path, run_path):
        if not needed.is_file():
            raise EvalSetError(f"找不到评测结果文件：{needed}（需要 rag eval 的输出目录或其中的 report.json）")
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise EvalSetError(f"{report_path} 不是有效的 JSON：{e}") from e
    if not isinstance(report, dict) or not isinstance(report.get("items"), list):
        raise EvalSetError(f"{report_path} 不是 rag eval 写出的报告（缺少逐条结果 items）")
    try:
        run = read_run(run_path)
    except UnicodeDecodeError as e:
        raise EvalSetError(f"{run_path} 不是有效的 JSON：{e}") from e
    return report, run


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


def _hit(detail: Mapping[str, Any], k: int) -> bool:
    return detail.get("rank") is not None and int(detail["rank"]) <= k


def _rank(detail: Mapping[str, Any]) -> str:
    return "未命中" if detail.get("rank") is None else f"第 {detail['rank']} 名"


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ANSWER_PREVIEW else text[:ANSWER_PREVIEW] + "…"


def item_change(
    da: Mapping[str, Any], db: Mapping[str, Any], ra: Mapping[str, Any], rb: Mapping[str, Any], ka: int, kb: int
) -> tuple[str, list[str]]:
    """The status of one item between runs and what changed (see the module docstring)."""
    tiers: list[tuple[float, list[str]]] = []  # (net direction, descriptions) per tier
    refusal: list[str] = []
    direction = 0.0
    if da["answerable"]:
        if da["refused"] != db["refused"]:
            direction = 1.0 if da["refused"] else -1.0
            refusal.append("不再误拒答" if da["refused"] else f"变为误拒答（理由：{rb.get('refusal_reason') or '未给出'}）")
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
    for keys in (_GROUNDING, ("keyword_coverage",)):
        described, net = [], 0.0
        for key in keys:
            a, b = da.get(key), db.get(key)
            if a is not None and b is not None and a != b:
                net += b - a
                described.append(f"{key} {'↑' if b > a else '↓'} {a:.3f} → {b:.3f}")
        tiers.append((net, described))
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
        key for key in dict.fromkeys([*flat_a, *flat_b]) if key != "created_at" and flat_a.get(key) != flat_b.get(key)
    ]
    types_a, types_b = report_a.get("by_type", {}), report_b.get("by_type", {})
    by_type = {t: _deltas(types_a.get(t, {}), types_b.get(t, {})) for t in dict.fromkeys([*types_a, *types_b])}
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
        status, changed = item_change(da, db, ra, rb, _answer_k(ra, config_a), _answer_k(rb, config_b))
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
    )


def _delta_row(delta: MetricDelta) -> list[str]:
    name = delta.key + ("（越低越好）" if delta.key in LOWER_IS_BETTER else "")
    shown = "–" if delta.delta is None else f"{delta.delta:+.3f}"
    return [name, _fmt(delta.a), _fmt(delta.b), shown]


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
        lines += _table(["配置项", "A", "B"], ([key, _fmt(flat_a.get(key)), _fmt(flat_b.get(key))] for key in c.config_diff))
    else:
        lines.append("无（除运行时间外配置相同）")
    lines += ["", "## 指标变化", "", *_table(["指标", "A", "B", "Δ"], map(_delta_row, c.overall)), ""]
    lines += ["## 按题型变化", ""]
    rows = [
        [name, *_delta_row(delta)]
        for name, deltas in c.by_type.items()
        for delta in deltas
        if delta.key in HEADLINE and (delta.a is not None or delta.b is not None)
    ]
    lines += [*_table(["题型", "指标", "A", "B", "Δ"], rows), ""]
    lines += _change_lines("变差的条目", c.with_status("变差"))
    lines += _change_lines("变好的条目", c.with_status("变好"))
    if c.only_a or c.only_b:
        lines += ["## 仅在一方的条目", ""]
        lines += [f"- 仅在 A：{'、'.join(c.only_a) or '无'}", f"- 仅在 B：{'、'.join(c.only_b) or '无'}", ""]
    return "\n".join(lines).rstrip() + "\n"
