"""Human-facing outputs of ``rag eval``: the Markdown report and its chart (the comparison of
two runs is ``rag.eval_compare``, re-exported here).

The report lists the items that failed worst. An item's *failures* fall in four tiers; items
are ordered by their most serious tier, then by their mean score (keyword coverage, the
support-based and evidence-based scores, whichever the item has; lower first), then by set order:

0. refusal: an unanswerable item answered (or refused while still citing), an answerable one refused;
1. retrieval: no relevant passage among the ``k`` passages the answerer was given;
2. grounding: a sentence its citations do not support (or that cites nothing), an irrelevant
   citation, a claim the passages do not support (needs a judge); a cited passage without
   evidence, a sentence none of whose cited passages holds evidence, a follow-up answered
   without evidence;
3. form: answer keywords missing from the answer, fragments among its sentences (refused
   answers are not checked).

Measures trivially 1 for the run's answerer (``trivial`` in ``report.json``) carry a note.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rag.eval_compare import (
    Comparison,
    ItemChange,
    MetricDelta,
    answer_k,
    compare_reports,
    item_change,
    load_result,
    render_comparison,
)
from rag.eval_format import (
    EVIDENCE,
    GROUNDING,
    METRIC_HELP,
    METRIC_NAMES,
    fmt,
    metric_label,
    report_trivial_note,
    table,
    trivial_set,
    type_label,
)
from rag.evaluate import HEADLINE, K_VALUES, EvalItem, missing_keywords

__all__ = [
    "Comparison",
    "FailedItem",
    "ItemChange",
    "METRIC_HELP",
    "MetricDelta",
    "citation_line",
    "compare_reports",
    "item_change",
    "item_failures",
    "load_result",
    "render_comparison",
    "render_report",
    "worst_items",
]

FINGERPRINT = (
    "eval_set",
    "eval_set_sha256",
    "embedder",
    "answerer",
    "judge",
    "judge_rule",
    "k",
    "index_manifest_hash",
    "index_created_at",
    "git_commit",
    "created_at",
)


def _quote(text: str) -> list[str]:
    return [f"> {line}" if line.strip() else ">" for line in (text.strip() or "（空）").splitlines()]


def _item_count(report: Mapping[str, Any]) -> int:
    """The number of items: ``report.json`` keeps the per-item list under ``items``."""
    items = report.get("items")
    return len(items) if isinstance(items, list) else int(items or 0)


def citation_line(citation: Mapping[str, Any]) -> str:
    """``[n] 《title》 section page``."""
    parts = [f"[{citation.get('n')}]", f"《{citation.get('title') or citation.get('doc') or ''}》"]
    parts += [str(citation[key]) for key in ("section", "page") if citation.get(key)]
    return " ".join(parts)


def item_failures(
    item: EvalItem, detail: Mapping[str, Any], record: Mapping[str, Any], k: int
) -> list[tuple[int, str]]:
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
    out += _evidence_failures(detail, record)
    out += [(3, f"残句：“{fragment}”") for fragment in detail.get("fragments", [])]
    return sorted(out, key=lambda failure: failure[0])


def _evidence_failures(detail: Mapping[str, Any], record: Mapping[str, Any]) -> list[tuple[int, str]]:
    """Grounding failures found with the evidence spans (no judge needed)."""
    out = [(2, f"所引段落 [{n}] 不含证据") for n in detail.get("cited_without_evidence", [])]
    out += [
        (2, f"句子所引段落均不含证据：“{sentence}”")
        for sentence in detail.get("sentences_without_evidence", [])
    ]
    if detail.get("followup_correct") is False and not detail.get("refused"):
        out.append((2, f"追问作答但未引用含证据的段落（检索语句：{record.get('query') or '未记录'}）"))
    return out


def _quality(detail: Mapping[str, Any]) -> float:
    keys = ("keyword_coverage", *GROUNDING, *EVIDENCE)
    scores = [float(detail[key]) for key in keys if detail.get(key) is not None]
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
        found = item_failures(item, details[item.id], record, answer_k(record, config))
        if found:
            failed.append(FailedItem(item, record, found, _quality(details[item.id]), order))
    return sorted(failed, key=lambda f: f.badness)[:worst]


def _fingerprint(config: Mapping[str, Any]) -> list[str]:
    keys = [key for key in FINGERPRINT if key in config] + [key for key in config if key not in FINGERPRINT]
    lines = []
    for key in keys:
        value = config[key]
        shown = (
            json.dumps(value, ensure_ascii=False, sort_keys=True)
            if isinstance(value, dict | list)
            else fmt(value)
        )
        lines.append(f"- {key}：`{shown}`")
    return lines


def _failed_item_lines(number: int, failed: FailedItem) -> list[str]:
    item, record = failed.item, failed.record
    lines = [f"### {number}. {item.id}（{type_label(item.type)}）", ""]
    if item.history:
        lines += ["**对话历史**：", ""]
        lines += [f"- {'用户' if turn.role == 'user' else '助手'}：{turn.content}" for turn in item.history]
        lines.append("")
    lines += [f"**提问**：{item.question}", ""]
    if record.get("query") and record.get("query") != item.question:
        lines += [f"**检索语句**（改写后）：{record['query']}", ""]
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
    """``report.md``: the conclusion counted in questions, overall metrics, metrics by type and
    briefing, chart, worst items, and last the configuration fingerprint."""
    config = report.get("config", {})
    lines = ["# 评测报告", "", "## 结论", "", *summary_lines(report), ""]
    lines += ["## 总体指标", "", f"条目数：{_item_count(report)}", ""]
    trivial, note = trivial_set(report), report_trivial_note(report)
    lines += table(
        ["指标", "值", "说明"],
        (
            [metric_label(key), fmt(report.get(key)) + (note if key in trivial else ""), METRIC_HELP[key]]
            for key in HEADLINE
        ),
    )
    recalls = "，".join(f"recall@{k} = {fmt(report.get(f'recall@{k}'))}" for k in K_VALUES)
    lines += ["", f"检索召回：{recalls}", ""]
    if trivial:
        lines += [
            f"注：{'、'.join(key for key in HEADLINE if key in trivial)} {note.strip('（）')}；"
            "看 cited_evidence_precision、sentence_evidence_rate 与 keyword_coverage。",
            "",
        ]
    header = ["items", *HEADLINE]
    columns = ["题数", *(METRIC_NAMES[key] + ("*" if key in trivial else "") for key in HEADLINE)]
    overall_row = ["全部", _item_count(report), *(fmt(report.get(key)) for key in HEADLINE)]
    for title, label, groups, name_of in (
        ("按题型", "题型", report.get("by_type", {}), type_label),
        ("按简报", "简报", report.get("by_doc", {}), str),
    ):
        rows = [
            [name_of(name), *(fmt(metrics.get(key)) for key in header)] for name, metrics in groups.items()
        ]
        lines += [f"## {title}", "", *table([label, *columns], [overall_row, *rows]), ""]
        if trivial:
            lines += [f"\\* {note.strip('（）')}", ""]
    lines += ["## 图表", "", "![各题型指标](chart.png)", ""]
    failed = worst_items(report, items, run, worst)
    lines += ["## 最差条目", ""]
    if not failed:
        lines += ["无", ""]
    else:
        lines += [
            "排序：先看拒答错误（应拒答但作答、误拒答），再看前 k 段落未命中证据，"
            "再看引用、证据与忠实度问题，最后看缺少关键词与残句；同级按得分从低到高。",
            "",
        ]
        for number, item in enumerate(failed, start=1):
            lines += _failed_item_lines(number, item)
    lines += [
        "## 配置指纹",
        "",
        "复现这次评测所需的全部设置（评测集与索引的哈希、模型、代码版本）：",
        "",
        *_fingerprint(config),
        "",
    ]
    return "\n".join(lines).rstrip() + "\n"


def item_verdict(detail: Mapping[str, Any]) -> str:
    """One item's outcome in the words of the conclusion (``summary_lines``), for a list of items."""
    if not detail.get("answerable"):
        return "正确拒答" if detail.get("refused") else "本应拒答却作答"
    if detail.get("refused"):
        return "误拒"
    coverage = detail.get("keyword_coverage")
    facts = "" if coverage is None else "，含全部关键事实" if coverage == 1.0 else "，缺少关键事实"
    evidence = "，引用了不含证据的段落" if detail.get("cited_without_evidence") else ""
    return f"作答{facts}{evidence}"


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """What a researcher wants to know first, counted in questions."""
    items = report.get("items")
    if not isinstance(items, list):
        return []
    answerable = [i for i in items if i.get("answerable")]
    unanswerable = [i for i in items if not i.get("answerable")]
    answered = [i for i in answerable if not i.get("refused")]
    with_facts = [i for i in answered if i.get("keyword_coverage") == 1.0]
    missing = [i for i in answered if i.get("keyword_coverage") is not None and i["keyword_coverage"] < 1.0]
    unchecked = len(answered) - len(with_facts) - len(missing)
    refused = [i for i in unanswerable if i.get("refused")]
    no_evidence = [i for i in answered if i.get("cited_without_evidence")]
    lines = []
    if answerable:
        facts = f"{len(with_facts)} 道作答且包含全部关键事实，{len(missing)} 道作答但缺少关键事实"
        facts += f"，{unchecked} 道作答（未设关键事实）" if unchecked else ""
        lines.append(
            f"- **可回答的 {len(answerable)} 道题**：{facts}，{len(answerable) - len(answered)} 道被误拒。"
        )
    if unanswerable:
        lines.append(
            f"- **不可回答的 {len(unanswerable)} 道题**（离题、近似而无答案等）：{len(refused)} 道正确拒答，"
            f"{len(unanswerable) - len(refused)} 道本应拒答却作答。"
        )
    if answered:
        lines.append(
            f"- **引用了不含证据的段落**：作答的 {len(answered)} 道题中，{len(no_evidence)} 道所引段落里有不含证据片段的。"
        )
    lines.append("- 每道题的问题、回答、引用与失败原因见下文“最差条目”；各项指标的定义见“总体指标”。")
    return lines
