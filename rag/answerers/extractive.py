"""The offline extractive answerer: quotes the span of one passage that answers the question."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from rag.answerers.base import AnswerEvent, DoneEvent, TokenEvent, collect
from rag.answerers.candidates import Candidate, passage_sentences
from rag.answerers.listed import item_past_the_end
from rag.answerers.preference import preferred
from rag.answerers.quoting import select, with_marker
from rag.answerers.relevance import (
    CORPUS_COVERAGE_FLOOR,
    FEATURES,
    bigram_coverage,
    corpus_coverage,
    coverage,
    question_terms,
)
from rag.calibration import Calibration, RelevanceModel, calibration_for
from rag.citations import REFUSAL
from rag.config import AnswerSettings
from rag.conversation import Rewrite, Turn, condense_offline, question_parts
from rag.embedders import Embedder
from rag.glossary import is_cross_lingual
from rag.question import Question
from rag.text import implied_years, to_simplified
from rag.types import Answer, Chunk, Citation, Document, GenerationOptions, Hit, SentenceCheck

if TYPE_CHECKING:
    from rag.store import Index

__all__ = ["ExtractiveAnswerer"]

# A sentence opening by referring back to what the one before named (这/该/其/上述/两地…) or
# going on about it after a contrastive conjunction, 但/然而/不过/可是 (“……国内有厂家几十家。
# 但国产品占有率仅为20%……”): Chinese demonstratives and conjunctions, not any document's words.
_REFERS_BACK = re.compile(
    r"(?:但(?!凡)|然而|不过|可是)|[^。；]{0,12}?(?:这|该|此|其|上述|以上|两地|两者|二者|三者|前者|后者|同期)"
)
NO_PASSAGES = "没有检索到相关段落"
NOT_RELEVANT = "检索到的段落没有回答这个问题的句子"
NOT_GIVEN = "检索到的段落没有给出问题所问的"  # + the kind asked (数字、年份…)
VECTOR_CACHE = 20_000  # sentence embeddings kept (about 30 MB at 384 dimensions)
SENTENCE_CACHE = 50_000  # chunks whose sentences are kept


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
       the briefing (up to ``enumerations.LIST_ITEMS`` items, saying when it was cut).

    Each quoted sentence carries the ``[n]`` of its passage and the status ``quoted``: it is the
    source's own words, not a generated claim that was checked.
    """

    name = "extractive"

    def __init__(self, settings: AnswerSettings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self.calibration: Calibration = calibration_for(embedder.spec)
        self._vectors: dict[str, np.ndarray] = {}
        self._sentences: dict[tuple[str, str], list[Candidate]] = {}
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
        off_topic = asked.not_a_question_about_documents or self._unknown_words(asked.topic, index)
        candidates = self.candidates(passages, index) if off_topic is None else []
        if off_topic is not None or not candidates:
            nothing = np.zeros((0, len(FEATURES)))
            return _Judgement(
                asked, threshold, candidates, nothing, np.zeros(0), -1, 0.0, off_topic or NO_PASSAGES
            )
        model = self._model(question)
        features = self.features(question, passages, candidates, index)
        probability = model.probability(features)
        titles = [_jurisdiction(hit, documents) for hit in passages]
        missing = asked.missing_from_each(
            [(_checked_text(hit, documents), title) for hit, title in zip(passages, titles, strict=True)]
        )
        # Sentences of one section share their scope: each is checked once per passage.
        scoped = {
            (c.scope, c.passage): asked.missing_in_section(
                missing[c.passage - 1], c.scope, titles[c.passage - 1]
            )
            for c in candidates
        }
        reasons = [self._shortfall(asked, c, scoped[c.scope, c.passage]) for c in candidates]
        eligible = _with_figure_after(
            candidates, reasons, probability, np.where([r is None for r in reasons], probability, -1.0)
        )
        best = int(np.argmax(eligible))
        confidence = float(max(eligible[best], 0.0))
        # The likeliest whole sentence that fails the question's checks (see RelevanceModel.dominance).
        rival = max(
            (p for p, c, r in zip(probability, candidates, reasons, strict=True) if c.complete and r),
            default=0.0,
        )
        if eligible[best] >= threshold and eligible[best] >= model.dominance * rival:
            best = preferred(asked, candidates, eligible, best, threshold)
            confidence = float(eligible[best])
            document = documents.get(passages[candidates[best].passage - 1].chunk.doc_id)
            past_the_end = item_past_the_end(asked, document, candidates[best]) if document else None
            return _Judgement(
                asked, threshold, candidates, features, eligible, best, confidence, past_the_end
            )
        complete = [i for i, c in enumerate(candidates) if c.complete]
        top = max(complete, key=lambda i: probability[i]) if complete else best
        # The likeliest whole sentence's shortfall (“没有提到“杭州””) is the reason, unless that
        # sentence is far below the threshold (under dominance × threshold): then none came close.
        near = probability[top] >= model.dominance * threshold
        reason = reasons[top] if reasons[top] and near else NOT_RELEVANT
        return _Judgement(asked, threshold, candidates, features, eligible, best, confidence, reason)

    @staticmethod
    def _unknown_words(question: str, index: Index | None) -> str | None:
        """The refusal reason when a Chinese question's words are mostly ones the briefings never use."""
        if index is None or is_cross_lingual(question):
            return None
        share, absent = corpus_coverage(question, index.searchable_text)
        if share >= CORPUS_COVERAGE_FLOOR:
            return None
        words = "、".join(f"“{word}”" for word in absent[:4])
        return f"简报中没有出现问题里的{words}等词语，这不像是关于简报内容的提问"

    def stream(
        self,
        question: str,
        hits: Sequence[Hit],
        index: Index | None = None,
        options: GenerationOptions | None = None,
    ) -> Iterator[AnswerEvent]:
        """Quotes are deterministic: sampling ``options`` have nothing to change."""
        passages = tuple(hits)
        parts = question_parts(question)
        judged = [(part, self.judge(part, passages, index)) for part in parts]
        answered = [(part, j) for part, j in judged if j.refusal is None]
        unanswered = [part for part, j in judged if j.refusal is not None] if answered else []
        first = judged[0][1].refusal
        if first not in (None, NOT_RELEVANT, NO_PASSAGES):
            answered = []  # the first question pins a year, place or figure the briefings lack: so do the rest
        if not answered and len(parts) > 1:
            whole = self.judge(question, passages, index)
            answered = [(question, whole)] if whole.refusal is None else []
        if not answered:
            yield from refuse(
                self.name, question, passages, judged[0][1].refusal or NOT_RELEVANT, judged[0][1].confidence
            )
            return
        documents: Mapping[str, Document] = index.documents if index is not None else {}
        quoted: list[tuple[int, str]] = []
        seen: set[str] = set()  # a sentence two parts both quote is quoted once
        notes: list[str] = []
        for _part, j in answered:
            top = j.candidates[j.best]
            document = documents.get(passages[top.passage - 1].chunk.doc_id)
            passages, part_quoted, note = select(
                self.settings,
                j.asked,
                j.candidates,
                j.probability,
                j.best,
                j.threshold,
                passages,
                document,
                index,
            )
            quoted += [(n, sentence) for n, sentence in part_quoted if sentence not in seen]
            seen.update(sentence for _, sentence in part_quoted)
            notes += [note] if note else []
        # without its question mark, which would end the note's sentence inside the quote
        notes += [f"问题中“{part.rstrip('？?')}”一问，检索到的段落没有给出答案。" for part in unanswered]
        if quoted and quoted[-1][1].endswith(("；", ";")):  # the answer ends where the quote stops
            quoted[-1] = (quoted[-1][0], quoted[-1][1][:-1] + "。")
        checks = [
            SentenceCheck(with_marker(sentence, n), (n,), True, 1.0, "quoted") for n, sentence in quoted
        ]
        checks += [SentenceCheck(note, (), True, 1.0, "exempt") for note in notes]
        for check in checks:
            yield TokenEvent(check.text)
        cited = sorted({n for check in checks for n in check.cited})
        yield DoneEvent(
            Answer(
                question=question,
                text="".join(check.text for check in checks),
                citations=tuple(Citation(n, passages[n - 1].chunk) for n in cited),
                passages=passages,
                refused=False,
                confidence=min(j.confidence for _, j in answered),
                sentences=tuple(checks),
                answerer=self.name,
            )
        )

    def candidates(self, passages: Sequence[Hit], index: Index | None) -> list[Candidate]:
        """Each passage's sentences, a sentence given by two passages only once."""
        seen: set[str] = set()
        out = []
        for number, hit in enumerate(passages, start=1):
            for candidate in self._chunk_sentences(hit.chunk, index):
                if candidate.text not in seen:
                    seen.add(candidate.text)
                    out.append(replace(candidate, passage=number))
        return out

    def _chunk_sentences(self, chunk: Chunk, index: Index | None) -> list[Candidate]:
        """A chunk's sentences (``passage_sentences``), kept per index version: the same
        passages come back for question after question."""
        if index is None:
            return passage_sentences(0, chunk, None)
        key = (index.version, chunk.chunk_id)
        with self._cache_lock:
            known = self._sentences.get(key)
        if known is None:
            known = passage_sentences(0, chunk, index.documents.get(chunk.doc_id))
            with self._cache_lock:
                if len(self._sentences) >= SENTENCE_CACHE:
                    self._sentences.clear()
                self._sentences[key] = known
        return known

    def features(
        self,
        question: str,
        passages: Sequence[Hit],
        candidates: Sequence[Candidate],
        index: Index | None = None,
    ) -> np.ndarray:
        """The signals of ``rag.answerers.relevance`` for each candidate, one row each."""
        query = to_simplified(question)
        q_vec = self.embedder.embed_query(query)
        s_vecs = self._sentence_vectors([c.text for c in candidates], index)
        terms = question_terms(query)
        sentence_texts = [to_simplified(c.text).lower() + "\n" + c.context for c in candidates]
        passage_texts = [
            to_simplified(f"{hit.chunk.title}\n{hit.chunk.section_path}\n{hit.chunk.text}").lower()
            for hit in passages
        ]
        titles = [to_simplified(hit.chunk.title).lower() for hit in passages]
        passage_cover = coverage(question, terms, passage_texts, titles)
        passage_dense = np.array([max(hit.dense, 0.0) for hit in passages])
        passage_score = np.array([hit.score for hit in passages])
        rows = [c.passage - 1 for c in candidates]
        semantic = np.clip(s_vecs @ q_vec, 0.0, 1.0)
        return np.column_stack(
            [
                semantic,
                semantic - float(np.median(semantic)),
                passage_dense[rows],
                coverage(question, terms, sentence_texts, [titles[row] for row in rows]),
                passage_cover[rows],
                bigram_coverage(query, sentence_texts),
                passage_score[rows],
            ]
        )

    def _sentence_vectors(self, texts: Sequence[str], index: Index | None) -> np.ndarray:
        """Sentence embeddings: those indexing stored (``rag.sentence_vectors``), else embedded
        here and cached, since the same passages come back for question after question."""
        known: dict[str, np.ndarray] = {}
        if index is not None and index.sentences is not None:
            found, vectors = index.sentences.lookup(texts)
            if found.all():
                return vectors
            known = {t: v for t, v, f in zip(texts, vectors, found, strict=True) if f}
        with self._cache_lock:
            known.update((t, self._vectors[t]) for t in texts if t not in known and t in self._vectors)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            known.update(zip(missing, self.embedder.embed_documents(missing), strict=True))
            with self._cache_lock:
                self._vectors.update((t, known[t]) for t in missing)
                while len(self._vectors) > VECTOR_CACHE:
                    self._vectors.pop(next(iter(self._vectors)))
        return np.stack([known[t] for t in texts])

    @staticmethod
    def _shortfall(asked: Question, sentence: Candidate, missing: Sequence[str]) -> str | None:
        """Why ``sentence`` cannot answer the question, or None; ``missing`` is what its
        passage (or, for place names, its own section) lacks of the question's numbers and names."""
        if not sentence.complete:
            return NOT_RELEVANT
        if missing:
            return f"检索到的段落没有提到“{'、'.join(missing)}”"
        if not asked.answer_type.given_by(sentence.text):
            return NOT_GIVEN + (asked.answer_type.kind or "")
        year = asked.other_year(sentence.text, sentence.headings)
        if year:
            return f"检索到的句子说的是{year}年，不是问题所问的{'、'.join(sorted(asked.years))}年"
        measure = asked.other_measure(sentence.text)
        if measure:
            return f"检索到的句子说的是{measure[0]}，不是问题所问的{measure[1]}"
        pooled = asked.pooled_in(sentence.text)
        if pooled:
            return f"检索到的句子给出的是“{pooled}”与其他几项合计的数字"
        owner = asked.other_owner(sentence.text)
        if owner:
            return f"检索到的句子说的是{owner[0]}，不是问题所问的{owner[1]}"
        article = asked.other_article(sentence.headings)
        if article:
            return f"检索到的句子出自{article}，不是问题所问的条文"
        return None


def _with_figure_after(
    candidates: Sequence[Candidate],
    reasons: Sequence[str | None],
    probability: np.ndarray,
    eligible: np.ndarray,
) -> np.ndarray:
    """``eligible`` where a sentence that states no figure is followed in its paragraph by one
    that states the figure asked for of what the first named (“台湾省、韩国是我国集成电路进口的
    最主要来源地。2021年自两地分别进口1558.7亿美元和881.9亿美元……”): the two answer together,
    with the first one's probability (the second just below it, so that it is quoted next to it)."""
    paired = eligible.copy()
    for i in range(len(candidates) - 1):
        here, after = candidates[i], candidates[i + 1]
        if (
            (reasons[i] or "").startswith(NOT_GIVEN)
            and reasons[i + 1] is None
            and _REFERS_BACK.match(after.text)
            and (here.passage, here.paragraph) == (after.passage, after.paragraph)
            and probability[i] > eligible[i + 1]
        ):
            paired[i] = probability[i]
            paired[i + 1] = np.nextafter(probability[i], 0.0)
    return paired


def _jurisdiction(hit: Hit, documents: Mapping[str, Document]) -> str:
    """What speaks for a passage's place, one per line: its document's title, its section
    headings (“长春高新区：集约化内涵式发展……”: the section's 本市 is 长春) and its publisher
    (“中关村……条例” is issued by 北京市人大常委会, so its articles speak of 北京). Each speaks
    only when it names no place the question does not (``Question.missing_from``)."""
    document = documents.get(hit.chunk.doc_id)
    publisher = document.info("publisher") if document is not None else ""
    return "\n".join(line for line in (hit.chunk.title, hit.chunk.section_path, publisher) if line)


def _checked_text(hit: Hit, documents: Mapping[str, Document]) -> str:
    """What a passage says for the question's checks: its headings, its text and the years its
    “今年/去年” stand for."""
    document = documents.get(hit.chunk.doc_id)
    date = document.info("date") if document is not None else ""
    return f"{hit.chunk.section_path}\n{hit.chunk.text}\n{implied_years(hit.chunk.text, date)}"
