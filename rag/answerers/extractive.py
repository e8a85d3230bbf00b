"""The offline extractive answerer: quotes the span of one passage that answers the question."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rag.answerers.base import AnswerEvent, DoneEvent, TokenEvent, collect
from rag.answerers.relevance import (
    CORPUS_COVERAGE_FLOOR,
    FEATURES,
    Calibration,
    RelevanceModel,
    bigram_coverage,
    calibration_for,
    corpus_coverage,
    coverage,
    is_cross_lingual,
    question_terms,
)
from rag.answerers.sentences import (
    Candidate,
    Enumeration,
    enumeration_after,
    enumeration_around,
    item_marker,
    passage_sentences,
    split_sentences,
)
from rag.citations import REFUSAL
from rag.config import AnswerSettings
from rag.conversation import Rewrite, Turn, condense_offline
from rag.embedders import Embedder
from rag.question import Question, implied_years
from rag.text import to_simplified
from rag.types import Answer, Citation, Document, Hit, SentenceCheck

if TYPE_CHECKING:
    from rag.store import Index

_SOURCE_MARK = re.compile(r"\[(\d+)\]")

__all__ = ["ExtractiveAnswerer", "split_sentences"]

NO_PASSAGES = "没有检索到相关段落"
NOT_RELEVANT = "检索到的段落没有回答这个问题的句子"
NO_QUANTITY = "检索到的段落没有给出问题所问的数字"
# A neighbour of the answering sentence joins the answer when it is this likely relative to it.
NEIGHBOUR_SHARE = 0.6
VECTOR_CACHE = 20_000  # sentence embeddings kept (about 30 MB at 384 dimensions)


@dataclass(frozen=True)
class _Judgement:
    asked: Question
    threshold: float
    candidates: list[Candidate]
    features: np.ndarray  # the relevance signals, one row per candidate
    probability: np.ndarray  # per candidate; -1 for those that cannot answer
    best: int
    confidence: float
    refusal: str | None  # the reason to refuse, None when the best candidate can answer


def refuse(
    answerer: str, question: str, passages: tuple[Hit, ...], reason: str, confidence: float
) -> Iterator[AnswerEvent]:
    """The fixed refusal sentence, citing nothing; the passages stay for a manual look."""
    yield TokenEvent(REFUSAL)
    yield DoneEvent(Answer(question, REFUSAL, (), passages, True, reason, confidence, answerer=answerer))


class ExtractiveAnswerer:
    """Offline answerer: quotes the contiguous span of the passage most likely to answer.

    1. Every retrieved passage offers its whole sentences (``rag.answerers.sentences``: no
       fragments, headings, bylines or table cells).
    2. A sentence can answer only if its passage mentions the numbers and places the question
       states and, for a quantity question, it states a number (``rag.question``). A Chinese
       question whose words the briefings mostly never use is refused before anything else.
    3. ``rag.answerers.relevance`` gives each sentence a calibrated probability of answering;
       below the embedder's threshold (or ``answer.min_confidence`` when set), or when a sentence
       that fails the checks of 2 is far likelier (the model's ``dominance``), the answerer
       refuses with ``REFUSAL``, citing nothing, and says why.
    4. The answer is the most probable sentence and its likely neighbours in the same passage;
       for a list question, or a lead-in ending with a colon, the enumeration that follows it in
       the briefing (up to ``LIST_ITEMS`` items, saying when it was cut).

    Each quoted sentence carries the ``[n]`` of its passage and the status ``quoted``: it is the
    source's own words, not a generated claim that was checked.
    """

    name = "extractive"

    def __init__(self, settings: AnswerSettings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self.calibration: Calibration = calibration_for(embedder.spec)
        self._vectors: dict[str, np.ndarray] = {}
        self._cache_lock = threading.Lock()

    def answer(self, question: str, hits: Sequence[Hit], index: Index | None = None) -> Answer:
        return collect(self.stream(question, hits, index))

    def condense(self, question: str, history: Sequence[Turn]) -> Rewrite:
        return condense_offline(question, history)

    def threshold(self, question: str) -> float:
        if self.settings.min_confidence is not None:
            return self.settings.min_confidence
        return self._model(question).threshold

    def _model(self, question: str) -> RelevanceModel:
        return self.calibration.cross_lingual if is_cross_lingual(question) else self.calibration.chinese

    def judge(self, question: str, passages: Sequence[Hit], index: Index | None = None) -> _Judgement:
        """The candidates, their probabilities with the ineligible at -1, the best, and the
        refusal reason when the best is below the threshold (None when it can answer)."""
        asked, threshold = Question(question), self.threshold(question)
        documents: Mapping[str, Document] = index.documents if index is not None else {}
        off_topic = asked.not_a_question_about_documents or self._unknown_words(question, index)
        candidates = self.candidates(passages, documents) if off_topic is None else []
        if off_topic is not None or not candidates:
            nothing = np.zeros((0, len(FEATURES)))
            return _Judgement(
                asked, threshold, candidates, nothing, np.zeros(0), -1, 0.0, off_topic or NO_PASSAGES
            )
        model = self._model(question)
        features = self.features(question, passages, candidates)
        probability = model.probability(features)
        missing = asked.missing_from_each([(_checked_text(hit, documents), hit.chunk.title) for hit in passages])
        reasons = [
            self._shortfall(asked, c, missing[c.passage - 1], passages[c.passage - 1].chunk.title) for c in candidates
        ]
        eligible = np.where([reason is None for reason in reasons], probability, -1.0)
        best = int(np.argmax(eligible))
        confidence = float(max(eligible[best], 0.0))
        # The likeliest whole sentence that fails the question's checks (see RelevanceModel.dominance).
        rival = max((p for p, c, r in zip(probability, candidates, reasons, strict=True) if c.complete and r), default=0.0)
        if eligible[best] >= threshold and eligible[best] >= model.dominance * rival:
            return _Judgement(asked, threshold, candidates, features, eligible, best, confidence, None)
        complete = [i for i, c in enumerate(candidates) if c.complete]
        top = max(complete, key=lambda i: probability[i]) if complete else best
        reason = reasons[top] if reasons[top] and probability[top] >= threshold else NOT_RELEVANT
        return _Judgement(asked, threshold, candidates, features, eligible, best, confidence, reason)

    @staticmethod
    def _unknown_words(question: str, index: Index | None) -> str | None:
        """The refusal reason when a Chinese question's words are mostly ones the briefings never use."""
        if index is None or is_cross_lingual(question):
            return None
        share, absent = corpus_coverage(question_terms(to_simplified(question)), index.searchable_text)
        if share >= CORPUS_COVERAGE_FLOOR:
            return None
        words = "、".join(f"“{word}”" for word in absent[:4])
        return f"简报中没有出现问题里的{words}等词语，这不像是关于简报内容的提问"

    def stream(self, question: str, hits: Sequence[Hit], index: Index | None = None) -> Iterator[AnswerEvent]:
        passages = tuple(hits)
        judged = self.judge(question, passages, index)
        if judged.refusal is not None:
            yield from refuse(self.name, question, passages, judged.refusal, judged.confidence)
            return
        candidates, eligible, best = judged.candidates, judged.probability, judged.best
        documents: Mapping[str, Document] = index.documents if index is not None else {}
        top_candidate = candidates[best]
        document = documents.get(passages[top_candidate.passage - 1].chunk.doc_id)
        passages, quoted, note = self._select(
            judged.asked, candidates, eligible, best, judged.threshold, passages, document, index
        )
        checks = []
        for n, sentence in quoted:
            check = SentenceCheck(_with_marker(sentence, n), (n,), True, 1.0, "quoted")
            checks.append(check)
            yield TokenEvent(check.text)
        if note:
            checks.append(SentenceCheck(note, (), True, 1.0, "exempt"))
            yield TokenEvent(note)
        cited = sorted({n for check in checks for n in check.cited})
        yield DoneEvent(
            Answer(
                question=question,
                text="".join(check.text for check in checks),
                citations=tuple(Citation(n, passages[n - 1].chunk) for n in cited),
                passages=passages,
                refused=False,
                confidence=judged.confidence,
                sentences=tuple(checks),
                answerer=self.name,
            )
        )

    @staticmethod
    def candidates(passages: Sequence[Hit], documents: Mapping[str, Document]) -> list[Candidate]:
        """Each passage's sentences, a sentence given by two passages only once."""
        seen: set[str] = set()
        out = []
        for number, hit in enumerate(passages, start=1):
            for candidate in passage_sentences(number, hit, documents.get(hit.chunk.doc_id)):
                if candidate.text not in seen:
                    seen.add(candidate.text)
                    out.append(candidate)
        return out

    def features(self, question: str, passages: Sequence[Hit], candidates: Sequence[Candidate]) -> np.ndarray:
        """The signals of ``rag.answerers.relevance`` for each candidate, one row each."""
        query = to_simplified(question)
        q_vec = self.embedder.embed_query(query)
        s_vecs = self._sentence_vectors([c.text for c in candidates])
        terms = question_terms(query)
        sentence_texts = [to_simplified(c.text).lower() + "\n" + c.context for c in candidates]
        passage_texts = [
            to_simplified(f"{hit.chunk.title}\n{hit.chunk.section_path}\n{hit.chunk.text}").lower()
            for hit in passages
        ]
        passage_cover = coverage(question, terms, passage_texts)
        passage_dense = np.array([max(hit.dense, 0.0) for hit in passages])
        passage_score = np.array([hit.score for hit in passages])
        rows = [c.passage - 1 for c in candidates]
        semantic = np.clip(s_vecs @ q_vec, 0.0, 1.0)
        return np.column_stack(
            [
                semantic,
                semantic - float(np.median(semantic)),
                passage_dense[rows],
                coverage(question, terms, sentence_texts),
                passage_cover[rows],
                bigram_coverage(query, sentence_texts),
                passage_score[rows],
            ]
        )

    def _sentence_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence embeddings, cached: the same passages come back for question after question."""
        with self._cache_lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            known.update(zip(missing, self.embedder.embed_documents(missing), strict=True))
            with self._cache_lock:
                self._vectors.update((t, known[t]) for t in missing)
                while len(self._vectors) > VECTOR_CACHE:
                    self._vectors.pop(next(iter(self._vectors)))
        return np.stack([known[t] for t in texts])

    @staticmethod
    def _shortfall(asked: Question, sentence: Candidate, missing: Sequence[str], title: str) -> str | None:
        """Why ``sentence`` cannot answer the question, or None; ``missing`` is what its
        passage lacks of the question's numbers and names."""
        if not sentence.complete:
            return NOT_RELEVANT
        missing = missing or asked.names_missing_from(sentence.scope, title)
        if missing:
            return f"检索到的段落没有提到“{'、'.join(missing)}”"
        if not asked.answered_by(sentence.text):
            return NO_QUANTITY
        year = asked.other_year(sentence.text, sentence.headings)
        if year:
            return f"检索到的句子说的是{year}年，不是问题所问的{'、'.join(sorted(asked.years))}年"
        return None

    def _select(
        self,
        asked: Question,
        candidates: Sequence[Candidate],
        probability: np.ndarray,
        best: int,
        threshold: float,
        passages: tuple[Hit, ...],
        document: Document | None,
        index: Index | None,
    ) -> tuple[tuple[Hit, ...], list[tuple[int, str]], str]:
        """The passages (extended when a list runs past them), the (passage, sentence) pairs to
        quote and a note when a list was cut."""
        top = candidates[best]
        if (
            document is not None
            and index is not None
            and (asked.wants_list or top.text.endswith(("：", ":")))
        ):
            listed = enumeration_after(document, top)
            lead = top
            if listed is None and asked.wants_list:
                around = enumeration_around(document, top)
                if around is not None:
                    lead_paragraph, listed = around
                    lead = _last_sentence(candidates, lead_paragraph, top) or top
            if listed is not None:
                return self._quote_enumeration(lead, listed, passages, document, index)
        if asked.wants_list or top.text.endswith(("：", ":")):
            inline = self._inline_items(candidates, top)
            if inline:
                return passages, [(c.passage, c.text) for c in [top, *inline]], ""
        return (
            passages,
            [(c.passage, c.text) for c in self._span(candidates, probability, best, threshold)],
            "",
        )

    def _inline_items(self, candidates: Sequence[Candidate], top: Candidate) -> list[Candidate]:
        """The items that follow ``top`` sentence by sentence in its passage (“……三个特点：一是……；
        二是……；三是……。”), numbered on from the item ``top`` opens, up to ``max_list_chars``."""
        following = sorted(
            (c for c in candidates if c.passage == top.passage and c.start > top.start), key=lambda c: c.start
        )
        opened = re.search(r"[：:]\s*(\S)", top.text)
        family, expected = None, 2 if opened and item_marker(top.text[opened.start(1) :]) else 1
        items: list[Candidate] = []
        length = len(top.text)
        for candidate in following:
            marker = item_marker(candidate.text)
            if marker is None or marker[1] != expected or (family and marker[0] != family):
                break
            if length + len(candidate.text) > self.settings.max_list_chars:
                break
            family, expected = marker[0], expected + 1
            items.append(candidate)
            length += len(candidate.text)
        return items

    def _span(
        self, candidates: Sequence[Candidate], probability: np.ndarray, best: int, threshold: float
    ) -> list[Candidate]:
        """The best sentence and the likely sentences next to it in its passage, in reading order."""
        top = candidates[best]
        same = sorted(
            (i for i, c in enumerate(candidates) if c.passage == top.passage),
            key=lambda i: candidates[i].start,
        )
        at = same.index(best)
        floor = max(threshold, NEIGHBOUR_SHARE * float(probability[best]))
        chosen, length = [best], len(top.text)
        left, right = at - 1, at + 1
        while len(chosen) < self.settings.max_sentences:
            options = [j for j in (left, right) if 0 <= j < len(same) and probability[same[j]] >= floor]
            if not options:
                break
            j = max(options, key=lambda j: probability[same[j]])
            if length + len(candidates[same[j]].text) > self.settings.max_chars:
                break
            chosen.append(same[j])
            length += len(candidates[same[j]].text)
            if j == left:
                left -= 1
            else:
                right += 1
        return sorted((candidates[i] for i in chosen), key=lambda c: c.start)

    def _quote_enumeration(
        self,
        lead: Candidate,
        listed: Enumeration,
        passages: tuple[Hit, ...],
        document: Document,
        index: Index,
    ) -> tuple[tuple[Hit, ...], list[tuple[int, str]], str]:
        quoted = [(lead.passage, lead.text)] if lead.text else []
        length = len(lead.text)
        for start, _end, sentence in listed.items:
            if length + len(sentence) > self.settings.max_list_chars:
                break
            passages, n = _passage_at(passages, document, start, index)
            quoted.append((n, sentence))
            length += len(sentence)
        shown = len(quoted) - (1 if lead.text else 0)
        note = f"原文共列出{listed.total}项，此处摘录前{shown}项。" if shown < listed.total else ""
        return passages, quoted, note


def _checked_text(hit: Hit, documents: Mapping[str, Document]) -> str:
    """What a passage says for the question's checks: its headings, its text and the years its
    “今年/去年” stand for."""
    document = documents.get(hit.chunk.doc_id)
    date = str(document.meta.get("date", "")) if document is not None else ""
    return f"{hit.chunk.section_path}\n{hit.chunk.text}\n{implied_years(hit.chunk.text, date)}"


def _last_sentence(candidates: Sequence[Candidate], paragraph: int, like: Candidate) -> Candidate | None:
    """The last sentence of ``paragraph`` in the same document as ``like`` (a list's lead-in)."""
    found = [c for c in candidates if c.paragraph == paragraph and c.passage == like.passage]
    return max(found, key=lambda c: c.start) if found else None


def _passage_at(
    passages: tuple[Hit, ...], document: Document, offset: int, index: Index
) -> tuple[tuple[Hit, ...], int]:
    """The number of the passage holding ``offset`` of ``document``; a chunk that was not
    retrieved (a list running on past the passages) is added after them."""
    for n, hit in enumerate(passages, start=1):
        chunk = hit.chunk
        if chunk.doc_id == document.doc_id and chunk.char_start <= offset < chunk.char_end:
            return passages, n
    for row in index.doc_rows(document.doc_id):
        chunk = index.chunks[row]
        if chunk.char_start <= offset < chunk.char_end:
            hit = Hit(chunk=chunk, score=0.0, rank=len(passages) + 1, dense=0.0, keyword=0.0)
            return (*passages, hit), len(passages) + 1
    raise LookupError(f"offset {offset} of {document.doc_id} is in no chunk")


def _with_marker(sentence: str, n: int) -> str:
    """Put ``[n]`` before the sentence's final punctuation: “……计划[1]。”"""
    sentence = _SOURCE_MARK.sub(r"［\1］", sentence)  # a footnote mark of the briefing is not ours
    match = re.search(r"[。！？；!?;：:]?[”’」』）)]*$", sentence)
    cut = match.start() if match and match.group() and match.group()[0] in "。！？；!?;：:" else len(sentence)
    if cut == len(sentence):
        return f"{sentence}[{n}]。"
    return f"{sentence[:cut]}[{n}]{sentence[cut:]}"
