"""Formatting shared by ``report.md``, ``rag eval compare`` and the CLI's metric table:
metric explanations, numbers, Markdown tables, and the note on measures trivially 1."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rag.eval_metrics import trivial_note

METRIC_HELP = {
    "recall@k": "可回答题中，交给回答器的前 k 段落含有证据的比例",
    "mrr@10": "前 10 段落中首个含证据段落名次的倒数，取平均（未命中记 0）",
    "keyword_coverage": "答案覆盖标准答案关键词的比例（可回答题平均）",
    "citation_precision": "引用中确实支持其所在句子的比例（ALCE，依赖支持判定）",
    "citation_recall": "答案句子能被其所引段落共同支持的比例（ALCE，依赖支持判定）",
    "faithfulness": "答案中的陈述能由给定段落支持的比例（RAGAS，依赖支持判定）",
    "cited_evidence_precision": "可回答题的答案所引段落中含有证据片段的比例（逐答案平均；不依赖判定）",
    "sentence_evidence_rate": "答案句子中至少一个所引段落含有证据片段的比例（逐答案平均；不依赖判定）",
    "fragment_rate": "答案句子中残句的比例：不足 8 个字（汉字、字母、数字），或没有动词（越低越好）",
    "followup_accuracy": "带对话历史的可回答追问中，作答且引用了含证据段落的比例",
    "refusal_accuracy": "不可回答题（含闲聊、近似无关、无法解析的追问）被正确拒答且未附引用的比例",
    "false_refusal_rate": "可回答题被误拒答的比例（越低越好）",
}
# What a researcher calls each measure and question type (the id follows in parentheses).
METRIC_NAMES = {
    "recall@k": "证据检索命中率",
    "mrr@10": "首个证据段落名次倒数",
    "keyword_coverage": "关键事实覆盖率",
    "citation_precision": "引用精确率",
    "citation_recall": "引用召回率",
    "faithfulness": "忠实度",
    "cited_evidence_precision": "被引段落含证据的比例",
    "sentence_evidence_rate": "答案句有证据的比例",
    "fragment_rate": "残句率",
    "followup_accuracy": "追问答对率",
    "refusal_accuracy": "拒答准确率",
    "false_refusal_rate": "误拒率",
}
TYPE_NAMES = {
    "fact": "事实",
    "number": "数字",
    "paraphrase": "换种说法",
    "keyword": "关键词",
    "list": "列举",
    "traditional": "繁体",
    "english": "英文",
    "article": "法条",
    "followup": "追问",
    "unanswerable": "不可回答",
    "offtopic": "离题",
    "nearmiss": "近似而无答案",
    "followup_unresolved": "指代不明的追问",
    "unknown": "未分类",
}


def metric_label(key: str) -> str:
    """“关键事实覆盖率（keyword_coverage）”: the Chinese name, then the id."""
    return f"{METRIC_NAMES[key]}（{key}）" if key in METRIC_NAMES else key


def type_label(kind: str) -> str:
    return TYPE_NAMES.get(kind, kind)


# Grounding measures of one item, compared and averaged together.
GROUNDING = ("citation_recall", "citation_precision", "faithfulness")
EVIDENCE = ("cited_evidence_precision", "sentence_evidence_rate")


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def cell(text: Any) -> str:
    """A Markdown table cell: pipes escaped, line breaks flattened."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


def report_answerers(report: Mapping[str, Any]) -> list[str]:
    """The answerers of a report's run (``answerers``; the configured one for older reports)."""
    names = report.get("answerers")
    if isinstance(names, list) and names:
        return [str(name) for name in names]
    answerer = report.get("config", {}).get("answerer")
    return [str(answerer)] if answerer else []


def trivial_set(report: Mapping[str, Any]) -> frozenset[str]:
    """The measures ``report.json`` marks as trivially 1 for its answerer (``trivial``)."""
    trivial = report.get("trivial")
    return frozenset(str(key) for key in trivial) if isinstance(trivial, list) else frozenset()


def report_trivial_note(report: Mapping[str, Any]) -> str:
    """“（对 extractive 恒为 1：原句引用自身，不构成检验）”, or "" when nothing is trivial."""
    return trivial_note(report_answerers(report)) if trivial_set(report) else ""
