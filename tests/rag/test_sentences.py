"""The sentence and marker toolkit: sentence spans, marker normalisation, streamed sentences."""

from __future__ import annotations

import random

import pytest

from rag.sentences import (
    SentenceAssembler,
    cited_numbers,
    normalize_markers,
    sentence_spans,
    split_sentences,
    strip_markers,
)

# --- sentence spans ---------------------------------------------------------------------------


def test_sentence_spans_cover_the_text_and_keep_closing_quotes_with_their_sentence() -> None:
    text = "他说：“好。”然后走了！！\n新的一行没有句号\n尾巴"
    spans = sentence_spans(text)
    assert "".join(text[s:e] for s, e in spans) == text
    assert [text[s:e] for s, e in spans] == [
        "他说：“好。”",
        "然后走了！！",
        "\n",
        "新的一行没有句号\n",
        "尾巴",
    ]


def test_a_wrapped_line_is_one_sentence_when_line_breaks_do_not_count() -> None:
    text = "推动新能源汽车产业链核\n心技术攻关。下一句。"
    assert [text[s:e] for s, e in sentence_spans(text, line_breaks=False)] == [
        "推动新能源汽车产业链核\n心技术攻关。",
        "下一句。",
    ]
    assert split_sentences(text) == ["推动新能源汽车产业链核", "心技术攻关。", "下一句。"]


def test_sentence_spans_stay_inside_the_range_asked() -> None:
    text = "前文。甲句。乙句没有完"
    assert sentence_spans(text, 3, 9) == [(3, 6), (6, 9)]


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
