"""Evidence-based measures, fragments and follow-ups: each must be able to fail."""

from __future__ import annotations

from functools import partial

import pytest

from rag.citations import REFUSAL
from rag.eval_metrics import evidence_scores, fragments, is_fragment, trivial_measures
from rag.evaluate import build_report, score_run
from tests.fixtures.eval import make_item, make_record
from tests.fixtures.judges import SubstringJudge

EVIDENCE = "长春高新区各类孵化载体已发展到144个"
# An answerable number question whose evidence is EVIDENCE.
number_item = partial(make_item, evidence=[EVIDENCE], keywords=["144个"], source="004.txt", type="number")


# Passages, and answer sentences quoting them (markers go before the final stop, as answerers write them).
GOOD = "长春高新区各类孵化载体已发展到144个，民营孵化载体超过七成。"
OTHER = "威海高新区建有山东省级以上双创孵化载体15家。"
QUOTE_GOOD = "长春高新区各类孵化载体已发展到144个，民营孵化载体超过七成[1]。"
QUOTE_OTHER = "威海高新区建有山东省级以上双创孵化载体15家[1]。"


def test_cited_evidence_precision_falls_when_a_cited_passage_has_no_evidence() -> None:
    item = number_item("a")
    both = evidence_scores(
        item, "长春高新区孵化载体已发展到144个[1]。威海高新区建有孵化载体15家[2]。", {1: GOOD, 2: OTHER}
    )
    assert both.precision == 0.5 and both.without_evidence == [2]
    assert both.sentence_rate == 0.5 and both.sentences_without == ["威海高新区建有孵化载体15家。"]
    assert both.cites_evidence
    only_good = evidence_scores(item, "长春高新区孵化载体已发展到144个[1]。", {1: GOOD, 2: OTHER})
    assert (only_good.precision, only_good.sentence_rate) == (1.0, 1.0)
    # Evidence is matched after normalisation: whitespace and quote marks do not matter.
    spaced = evidence_scores(
        item, "孵化载体已发展到144个[1]。", {1: "长春高新区 各类“孵化载体”已发展到 144 个。"}
    )
    assert spaced.precision == 1.0
    # Citing nothing, or only a number with no passage, scores 0.
    assert evidence_scores(item, "长春高新区孵化载体已发展到144个。", {1: GOOD}).precision == 0.0
    assert evidence_scores(item, "长春高新区孵化载体已发展到144个[7]。", {1: GOOD}).sentence_rate == 0.0


@pytest.mark.parametrize(
    "sentence",
    ["（供稿：长春高新区）", "2023年4", "2023年4[1]。", "第十二条　科学技术专项资金", "一、总体要求。"],
)
def test_fragments(sentence: str) -> None:
    assert is_fragment(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        GOOD,
        QUOTE_OTHER,
        "按照实际投资额的10%，给予最高1000万元支持。",
        "中國大陸產能佔比為16%。",
        "“规划中的67个项目，49个布局在南沙。”",  # 在 is the predicate
        "The park hosts 144 incubators in total.",
    ],
)
def test_statements_are_not_fragments(sentence: str) -> None:
    assert not is_fragment(sentence)


def test_fragments_of_an_answer_skip_the_refusal_sentence_and_lone_markers() -> None:
    found, count = fragments(f"{QUOTE_GOOD}\n（供稿：长春高新区）[1]。2023年4[2]。[3]。")
    assert found == ["（供稿：长春高新区）。", "2023年4。"] and count == 3
    assert fragments(REFUSAL) == ([], 0)


def test_score_run_reports_the_evidence_measures_and_they_can_fail() -> None:
    items = [
        number_item("good"),
        number_item("mixed", type="list"),
        make_item("off", answerable=False, source=None, type="offtopic"),
        make_item("near", answerable=False, source=None, type="nearmiss"),
    ]
    run = [
        make_record("good", passages=[GOOD, OTHER], answer=QUOTE_GOOD),
        make_record(
            "mixed",
            passages=[GOOD, OTHER],
            answer="长春高新区孵化载体已发展到144个[1]。威海高新区建有孵化载体15家[2]。（供稿：长春高新区）[2]",
        ),
        make_record(
            "off", passages=["天气晴朗"], answer="今天天气晴朗，适合出门散步[1]。"
        ),  # answered: a refusal failure
        make_record("near", passages=["无关"], answer=REFUSAL, refused=True),
    ]
    metrics = score_run(items, run, SubstringJudge())
    overall = metrics["overall"]
    assert overall["cited_evidence_precision"] == pytest.approx((1.0 + 0.5) / 2)
    # mixed: the byline cites [2] only and is not a statement; answer_sentences counts it (7 characters).
    assert overall["sentence_evidence_rate"] == pytest.approx((1.0 + 1 / 3) / 2, abs=1e-4)
    # Fragments over the sentences of every answer that was not a refusal (offtopic one included).
    assert overall["fragment_rate"] == pytest.approx(1 / 5)
    assert overall["followup_accuracy"] is None, "no item has a history"
    assert metrics["by_type"]["offtopic"]["refusal_accuracy"] == 0.0
    assert metrics["by_type"]["nearmiss"]["refusal_accuracy"] == 1.0
    assert metrics["by_type"]["list"]["cited_evidence_precision"] == 0.5
    assert metrics["by_type"]["offtopic"]["cited_evidence_precision"] is None
    [mixed] = [d for d in metrics["items"] if d["id"] == "mixed"]
    assert mixed["cited_without_evidence"] == [2] and mixed["fragments"] == ["（供稿：长春高新区）"]
    # The extractive answerer quotes: citation_recall stays 1 here whatever the evidence says.
    assert metrics["by_type"]["number"]["citation_recall"] == 1.0
    report = build_report(metrics, {"answerer": "extractive"})
    assert report["trivial"] == ["citation_precision", "citation_recall", "faithfulness"]
    assert report["answerers"] == ["extractive"]


def test_followup_accuracy_needs_an_answer_citing_evidence() -> None:
    history = [
        {"role": "user", "content": "威海高新区有多少孵化载体？"},
        {"role": "assistant", "content": OTHER},
    ]
    items = [number_item(i, type="followup", history=history) for i in ("right", "wrong", "refused")]
    items.append(number_item("plain"))  # no history: not a follow-up
    items.append(
        make_item("unresolved", answerable=False, source=None, type="followup_unresolved", history=history)
    )
    run = [
        make_record("right", passages=[GOOD], answer=QUOTE_GOOD),
        make_record("wrong", passages=[OTHER], answer=QUOTE_OTHER),  # answered the previous question again
        make_record("refused", passages=[GOOD], answer=REFUSAL, refused=True),
        make_record("plain", passages=[OTHER], answer=QUOTE_OTHER),
        make_record("unresolved", passages=[OTHER], answer=REFUSAL, refused=True),
    ]
    metrics = score_run(items, run)
    assert metrics["overall"]["followup_accuracy"] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics["by_type"]["followup"]["followup_accuracy"] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics["by_type"]["number"]["followup_accuracy"] is None
    assert metrics["by_type"]["followup_unresolved"]["refusal_accuracy"] == 1.0
    details = {d["id"]: d for d in metrics["items"]}
    assert details["right"]["followup_correct"] is True and details["wrong"]["followup_correct"] is False
    assert details["refused"]["followup_correct"] is False and "followup_correct" not in details["plain"]


def test_citation_texts_come_from_the_answer_passages_beyond_k() -> None:
    """The answer may hold more passages than k (a list completed with neighbours): [6] is its 6th."""
    item = number_item("a", type="list")
    passages = ["无关"] * 5 + [GOOD]
    record = make_record("a", passages=passages, answer=QUOTE_GOOD.replace("[1]", "[6]"))
    record["passages"] = record["passages"][:5]  # the retrieved top passages do not include it
    record["citations"] = []  # the texts come from answer_passages
    metrics = score_run([item], [record], SubstringJudge())
    assert metrics["overall"]["cited_evidence_precision"] == 1.0
    assert metrics["overall"]["citation_recall"] == 1.0 and metrics["overall"]["faithfulness"] == 1.0


def test_trivial_measures_are_named_for_extractive_only() -> None:
    assert trivial_measures(["extractive"]) == ["citation_precision", "citation_recall", "faithfulness"]
    assert trivial_measures(["llm"]) == [] and trivial_measures(["llm:deepseek"]) == []
    assert trivial_measures(["extractive", "llm"]) == [] and trivial_measures([]) == []
    items = [number_item("a")]
    assert (
        score_run(items, [make_record("a", passages=[GOOD], answer=QUOTE_GOOD, answerer="llm")])["trivial"]
        == []
    )
