"""rag eval draft-set: questions asking for the quantities the briefings state, marked as drafts."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.config import Settings
from rag.eval_draft import question_for, reworded_by_llm
from rag.evaluate import load_eval_set
from rag.pipeline import Pipeline
from rag.text import normalize_for_match
from tests.fixtures.servers import FakeLLM, Reply, llm_settings


@pytest.mark.parametrize(
    ("sentence", "question", "fact"),
    [
        (
            "海港高新区举办第三期蓝色创业训练营，共有 240 名创业者参加培训。",
            "海港高新区举办第三期蓝色创业训练营，共有多少名创业者参加培训？",
            "240名",
        ),
        ("年利率不超过3.5%。", "年利率不超过多少？", "3.5%"),
        ("总投资96亿元，建成后年产值超百亿。", "总投资多少亿元，建成后年产值超百亿？", "96亿元"),
        ("全年服务企业1200家次，同比增长15%。", "全年服务企业多少家次，同比增长15%？", "1200家次"),
    ],
)
def test_a_stated_quantity_becomes_the_question_that_asks_for_it(
    sentence: str, question: str, fact: str
) -> None:
    assert question_for(sentence) == (question, fact)


def test_a_sentence_without_a_quantity_gives_no_question() -> None:
    assert question_for("园区聚焦海洋装备制造，引进深海机器人项目。") is None


def test_draft_set_writes_checkable_drafts_about_the_chosen_briefing(mini_index: Settings) -> None:
    out = mini_index.home / "eval" / "sets" / "草稿.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "--home",
            str(mini_index.home),
            "eval",
            "draft-set",
            "海港高新区通讯.md",
            "--per-doc",
            "3",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "这是草稿" in result.stderr
    items = load_eval_set(out)
    raw = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert 1 <= len(items) <= 3 and all(item["draft"] is True for item in raw)
    document = Pipeline.from_settings(mini_index).index.documents["海港高新区通讯.md"]
    text = normalize_for_match(document.text)
    for item in items:
        (evidence,) = item.evidence_any
        (fact,) = item.answer_keywords
        assert item.source == "海港高新区通讯.md" and normalize_for_match(evidence) in text
        assert fact in evidence and fact not in item.question and item.question.endswith("？")


def test_draft_set_names_an_unknown_briefing(mini_index: Settings) -> None:
    result = CliRunner().invoke(app, ["--home", str(mini_index.home), "eval", "draft-set", "没有这篇.md"])
    assert result.exit_code == 1 and "未找到简报：没有这篇.md" in result.stderr


def test_an_llm_rewrites_the_drafts_but_never_gives_the_answer_away(
    mini_index: Settings, fake_llm: FakeLLM
) -> None:
    item = {
        "id": "draft-001",
        "question": "共有多少名创业者参加培训？",
        "evidence_any": ["海港高新区举办第三期蓝色创业训练营，共有 240 名创业者参加培训"],
        "answer_keywords": ["240名"],
        "source": "海港高新区通讯.md",
        "draft": True,
    }
    items = [item, {**item, "id": "draft-002"}, {**item, "id": "draft-003"}]
    fake_llm.script(
        Reply("海港高新区第三期蓝色创业训练营有多少名创业者参加培训？"),
        Reply("海港高新区有240名创业者参加吗？"),  # gives the answer away
        Reply(status=500),  # the backend fails
    )
    settings = llm_settings(mini_index, fake_llm)
    reworded, kept = reworded_by_llm(items, {"海港高新区通讯.md": "海港高新区通讯"}, settings, "llm")
    assert [i["question"] for i in reworded] == [
        "海港高新区第三期蓝色创业训练营有多少名创业者参加培训？",
        "共有多少名创业者参加培训？",
        "共有多少名创业者参加培训？",
    ]
    assert kept == 2 and all(i["draft"] for i in reworded)
    prompt = fake_llm.requests[0]["body"]["messages"][0]["content"]
    assert "《海港高新区通讯》" in prompt and "“240名”" in prompt
