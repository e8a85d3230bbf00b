"""Per-answer measures of ``rag eval``: relevance, keywords, ALCE citations, RAGAS faithfulness,
and the evidence-based measures that do not depend on a support judge.

Evidence-based measures use the item's evidence spans: a passage *contains evidence* when its
normalised text (``rag.text.normalize_for_match``: no whitespace, no quote marks) contains a
normalised evidence span, the test ``first_relevant_rank`` applies to retrieved passages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rag.citations import REFUSAL
from rag.eval_set import EvalItem
from rag.judges import SupportJudge, answer_sentences
from rag.sentences import cited_numbers, content_length, split_sentences, strip_markers
from rag.text import normalize_for_match, to_simplified

MAX_CITATIONS_PER_SENTENCE = 3  # as ALCE
MIN_SENTENCE_CHARS = 8  # letters, digits and Chinese characters; shorter is a fragment
_MARKER = re.compile(r"\[\^?\d+(?:[,，]\s*\d+)*\]|【\d+】")
_CJK = re.compile(r"[\u3400-\u9fff]")

# Measures that cannot fail for an answerer, by answerer name: the extractive answerer quotes
# source sentences verbatim with the passage they come from, and a quoted sentence supports
# itself, so the support-based citation and faithfulness measures are 1 whatever it answers.
TRIVIAL_FOR: dict[str, frozenset[str]] = {
    "extractive": frozenset({"citation_precision", "citation_recall", "faithfulness"}),
}
TRIVIAL_REASON = {"extractive": "原句引用自身，不构成检验"}


def trivial_measures(answerers: Sequence[str]) -> list[str]:
    """The measures trivially 1 for every one of ``answerers`` (sorted; empty when none is named)."""
    names = [name for name in dict.fromkeys(answerers) if name]
    if not names:
        return []
    common = set.intersection(*(set(TRIVIAL_FOR.get(name, ())) for name in names))
    return sorted(common)


def trivial_note(answerers: Sequence[str]) -> str:
    """The Chinese note shown next to a trivial measure, e.g. “（对 extractive 恒为 1：原句引用自身，不构成检验）”."""
    names = [name for name in dict.fromkeys(answerers) if name]
    reasons = "；".join(dict.fromkeys(TRIVIAL_REASON.get(name, "不构成检验") for name in names))
    return f"（对 {'、'.join(names)} 恒为 1：{reasons}）"


# --- relevance and keywords -------------------------------------------------------------------


def evidence_spans(item: EvalItem) -> list[str]:
    return [normalize_for_match(span) for span in item.evidence_any if span.strip()]


def contains_evidence(spans: Sequence[str], text: str) -> bool:
    """Whether ``text`` contains one of the normalised evidence ``spans``."""
    normalised = normalize_for_match(text)
    return any(span in normalised for span in spans)


def first_relevant_rank(item: EvalItem, passages: Sequence[Mapping[str, Any]]) -> int | None:
    spans = evidence_spans(item)
    for passage in passages:
        if contains_evidence(spans, str(passage["text"])):
            return int(passage["rank"])
    return None


def missing_keywords(item: EvalItem, answer: str) -> list[str]:
    """The item's answer keywords absent from the normalised answer (``[n]`` markers removed)."""
    text = normalize_for_match(_MARKER.sub("", answer))
    return [k for k in item.answer_keywords if normalize_for_match(k) not in text]


def keyword_coverage(item: EvalItem, answer: str) -> float:
    if not item.answer_keywords:
        return 1.0
    return 1 - len(missing_keywords(item, answer)) / len(item.answer_keywords)


# --- support-based: ALCE citations, RAGAS faithfulness ---------------------------------------


@dataclass(frozen=True)
class CitationScore:
    recall: float
    precision: float
    sentences: list[dict[str, Any]]


def citation_scores(answer: str, cited_texts: Mapping[int, str], judge: SupportJudge) -> CitationScore:
    """ALCE citation recall and precision of one answer (see ``rag.evaluate``)."""
    sentences = []
    recalls: list[float] = []
    correct = total = 0
    for sentence in answer_sentences(answer):
        claim = strip_markers(sentence).strip()
        cited = [n for n in cited_numbers(sentence) if n in cited_texts][:MAX_CITATIONS_PER_SENTENCE]
        supported = bool(cited) and judge.supports(claim, [cited_texts[n] for n in cited])
        irrelevant = []
        if supported and len(cited) > 1:
            for n in cited:
                others = [cited_texts[m] for m in cited if m != n]
                if not judge.supports(claim, [cited_texts[n]]) and judge.supports(claim, others):
                    irrelevant.append(n)
        recalls.append(1.0 if supported else 0.0)
        total += len(cited)
        correct += len(cited) - len(irrelevant) if supported else 0
        sentences.append(
            {"sentence": claim, "cited": cited, "supported": supported, "irrelevant": irrelevant}
        )
    recall = sum(recalls) / len(recalls) if recalls else 1.0
    return CitationScore(recall, correct / total if total else 0.0, sentences)


def faithfulness(answer: str, context: Sequence[str], judge: SupportJudge) -> tuple[float, list[str]]:
    """Share of the answer's claims that ``context`` supports, and the unsupported claims."""
    claims = judge.claims(answer)
    if not claims:
        return 1.0, []
    unsupported = [claim for claim in claims if not judge.supports(claim, list(context))]
    return 1 - len(unsupported) / len(claims), unsupported


# --- evidence-based ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceScore:
    """Evidence-based scores of one answer to an answerable item."""

    precision: float  # share of the cited passages that contain evidence
    sentence_rate: float  # share of the sentences citing a passage that contains evidence
    cites_evidence: bool  # some cited passage contains evidence
    without_evidence: list[int]  # cited passage numbers without evidence
    sentences_without: list[str]  # sentences none of whose citations contain evidence


def evidence_scores(item: EvalItem, answer: str, cited_texts: Mapping[int, str]) -> EvidenceScore:
    """``cited_evidence_precision`` and ``sentence_evidence_rate`` of one answer (see ``rag.evaluate``).

    ``cited_texts`` maps a citation number to its passage text; markers whose number has no
    passage count as citing nothing. An answer citing nothing scores 0 on both.
    """
    spans = evidence_spans(item)
    cited = [n for n in dict.fromkeys(cited_numbers(answer)) if n in cited_texts]
    with_evidence = {n for n in cited if contains_evidence(spans, cited_texts[n])}
    sentences = answer_sentences(answer)
    sentences_without = [
        strip_markers(sentence).strip()
        for sentence in sentences
        if not any(n in with_evidence for n in cited_numbers(sentence))
    ]
    return EvidenceScore(
        precision=len(with_evidence) / len(cited) if cited else 0.0,
        sentence_rate=1 - len(sentences_without) / len(sentences) if sentences else 0.0,
        cites_evidence=bool(with_evidence),
        without_evidence=[n for n in cited if n not in with_evidence],
        sentences_without=sentences_without,
    )


_LIST_ITEM = re.compile(
    r"\s*(?:[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+[、是]|\d+[.、．])"
)


def _has_verb(text: str) -> bool:
    """The answer-sentence test's verb check (``rag.answerers.candidates.has_verb``), on the
    text in Simplified Chinese; imported here, so that loading this module stays cheap."""
    from rag.answerers.candidates import has_verb

    return has_verb(to_simplified(text))


def is_fragment(sentence: str) -> bool:
    """Whether an answer sentence is a fragment rather than a statement.

    A fragment has fewer than ``MIN_SENTENCE_CHARS`` (8) letters, digits and Chinese characters
    once citation markers are removed (“2023年4”, “（供稿：长春高新区）”), or has no
    verb-bearing clause: no token that jieba's part-of-speech tagger (``jieba.posseg``, on the
    text in Simplified Chinese) tags with a flag starting with “v” (v, vn, vd, vg…), nor the
    copula 为 before a number (“分别为59.55%”, tagged as a preposition), nor 在 after a noun
    with no 的 after it in its clause (“49个布局在南沙”: the predicate, also tagged as a
    preposition), as in a
    bare heading such as “第十二条　科学技术专项资金”. A sentence without Chinese characters is
    judged by its length only: the tagger does not tag English words.
    """
    text = strip_markers(_MARKER.sub("", sentence)).strip()
    if content_length(text) < MIN_SENTENCE_CHARS:
        return True
    if not _CJK.search(text):
        return False
    return not _has_verb(text)


def fragments(answer: str) -> tuple[list[str], int]:
    """The fragments among an answer's sentences, and the number of sentences.

    Sentences are split on 。！？； and line breaks (``split_sentences``); the refusal sentence
    and pieces with no letter, digit or Chinese character (a lone marker) are not counted. A
    list item (“（三）关键技术攻关；”) after a piece ending in ：or ； continues that piece's
    sentence (“……支持下列活动：（一）……；（二）……。” is one sentence), so it is judged with it.
    """
    pieces = [
        s
        for s in split_sentences(answer)
        if content_length(strip_markers(s)) > 0 and REFUSAL.rstrip("。") not in s
    ]
    sentences: list[str] = []
    for piece in pieces:
        if (
            sentences
            and _LIST_ITEM.match(strip_markers(piece))
            and sentences[-1].rstrip().endswith(("：", ":", "；", ";"))
        ):
            sentences[-1] += piece
        else:
            sentences.append(piece)
    return [strip_markers(s).strip() for s in sentences if is_fragment(s)], len(sentences)
