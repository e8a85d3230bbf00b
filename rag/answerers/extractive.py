"""The offline extractive answerer: quotes the passage sentences that answer the question."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answerers.base import AnswerEvent, DoneEvent, TokenEvent, collect
from rag.citations import REFUSAL
from rag.config import AnswerSettings
from rag.conversation import Turn, rewrite_follow_up
from rag.embedders import Embedder
from rag.question import Question
from rag.text import to_simplified, tokenize
from rag.types import Answer, Citation, Hit, SentenceCheck

_SOURCE_MARK = re.compile(r"\[(\d+)\]")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LIST_ITEM = re.compile(r"[一二三四五六七八九十]+是|第[一二三四五六七八九十]+|其[次二三]|[（(]?[一二三四五六七八九十\d]+[）)、.．]")
_SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]?[”’」』）)]*")


@dataclass(frozen=True)
class _Sentence:
    text: str
    passage: int  # 1-based passage number
    position: int
    context: str  # the passage's title and section headings, simplified and lower-cased


def split_sentences(text: str) -> list[str]:
    """Sentences ending at 。！？； (closing quotes stay with their sentence)."""
    return [m.group().strip() for m in _SENTENCE.finditer(text) if m.group().strip()]


NO_PASSAGES = "没有检索到相关段落"
NOT_RELEVANT = "检索到的段落与问题不够相关"
NO_QUANTITY = "检索到的段落没有给出问题所问的数字"
# The best sentence that can answer must score at least this share of the best sentence
# overall; far below it, the passages are about something the question does not ask.
ELIGIBLE_SHARE = 0.8
LIST_SENTENCES = 5  # sentences an answer to a list question may gather from across the passages


def refuse(
    answerer: str, question: str, passages: tuple[Hit, ...], reason: str, confidence: float
) -> Iterator[AnswerEvent]:
    """The fixed refusal sentence, citing nothing; the passages stay for a manual look."""
    yield TokenEvent(REFUSAL)
    yield DoneEvent(Answer(question, REFUSAL, (), passages, True, reason, confidence, answerer=answerer))


class ExtractiveAnswerer:
    """Offline answerer: picks the passage sentences that answer the question and cites them.

    Each candidate sentence gets ``relevance = 0.5·semantic + 0.5·lexical`` where *semantic* is
    the cosine between the question and the sentence, rescaled from [0.70, 0.95] to [0, 1],
    and *lexical* the length-weighted share of the question's keywords found in the sentence or
    in the title and section headings it sits under (“深圳：…攻关新机制” speaks for its sentences;
    a question without Chinese characters is judged by *semantic* alone, rescaled from
    [0.65, 0.90] because cross-lingual cosines run lower).
    The answer is the best sentence plus further sentences scoring at least 75 % of it (up to
    ``max_sentences``/``max_chars``), each followed by the ``[n]`` of its passage. When the best
    relevance is below ``min_confidence`` the answerer refuses with ``REFUSAL`` and cites nothing.
    """

    name = "extractive"

    def __init__(self, settings: AnswerSettings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder

    def answer(self, question: str, hits: Sequence[Hit]) -> Answer:
        return collect(self.stream(question, hits))

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        return rewrite_follow_up(question, history)

    def confidence(self, question: str, passages: Sequence[Hit]) -> float:
        """The relevance of the best passage sentence: the refusal rule compares it to ``min_confidence``."""
        candidates = self._candidates(passages)
        return float(self.score(question, candidates).max()) if candidates else 0.0

    def stream(self, question: str, hits: Sequence[Hit]) -> Iterator[AnswerEvent]:
        passages = tuple(hits)
        candidates = self._candidates(passages)
        if not candidates:
            yield from refuse(self.name, question, passages, NO_PASSAGES, 0.0)
            return
        scores = self.score(question, candidates)
        best = float(scores.max())
        if best < self.settings.min_confidence:
            yield from refuse(self.name, question, passages, NOT_RELEVANT, best)
            return
        asked = Question(question)
        # What each passage lacks depends on the passage alone: worked out once per passage.
        missing = asked.missing_from_each([(f"{hit.chunk.section_path}\n{hit.chunk.text}", hit.chunk.title) for hit in passages])
        reasons = [self._shortfall(asked, c, missing[c.passage - 1]) for c in candidates]
        eligible = np.where([reason is None for reason in reasons], scores, -1.0)
        if float(eligible.max()) < max(self.settings.min_confidence, ELIGIBLE_SHARE * best):
            reason = reasons[int(np.argmax(scores))] or NOT_RELEVANT
            yield from refuse(self.name, question, passages, reason, best)
            return
        checks = []
        for sentence in self._select(candidates, eligible, asked.wants_list):
            # A quoted sentence is its own evidence: support is exact.
            check = SentenceCheck(_with_marker(sentence.text, sentence.passage), (sentence.passage,), True, 1.0, "verified")
            checks.append(check)
            yield TokenEvent(check.text)
        cited = sorted({n for check in checks for n in check.cited})
        yield DoneEvent(
            Answer(
                question=question,
                text="".join(check.text for check in checks),
                citations=tuple(Citation(n, passages[n - 1].chunk) for n in cited),
                passages=passages,
                refused=False,
                confidence=float(eligible.max()),
                sentences=tuple(checks),
                answerer=self.name,
            )
        )

    @staticmethod
    def _shortfall(asked: Question, sentence: _Sentence, missing: Sequence[str]) -> str | None:
        """Why ``sentence`` cannot answer the question (see ``rag.question``), or None;
        ``missing`` is what its passage lacks of the question's numbers and names."""
        if missing:
            return f"检索到的段落没有提到“{'、'.join(missing)}”"
        if not asked.answered_by(sentence.text):
            return NO_QUANTITY
        return None

    @staticmethod
    def _candidates(passages: Sequence[Hit]) -> list[_Sentence]:
        seen: set[str] = set()
        candidates = []
        for number, hit in enumerate(passages, start=1):
            context = to_simplified(f"{hit.chunk.title}\n{hit.chunk.section_path}").lower()
            # A footnote mark inside the briefing (“增长12%[1]”) would read as our citation.
            for position, text in enumerate(split_sentences(_SOURCE_MARK.sub(r"［\1］", hit.chunk.text))):
                if len(text) < 6 or text in seen:
                    continue
                seen.add(text)
                candidates.append(_Sentence(text, number, position, context))
        return candidates

    def score(self, question: str, sentences: Sequence[_Sentence]) -> np.ndarray:
        """Relevance in [0, 1] of each sentence to the question (see the class docstring)."""
        query = to_simplified(question)
        q_vec = self.embedder.embed_query(query)
        s_vecs = self.embedder.embed_documents([s.text for s in sentences])
        if not _CJK.search(query):
            # An English question: its keywords cannot match Chinese text, and cross-lingual
            # cosines run about 0.05 lower, so judge by meaning alone on a shifted scale.
            cross_lingual: np.ndarray = np.clip((s_vecs @ q_vec - 0.65) / 0.25, 0.0, 1.0)
            return cross_lingual
        semantic = np.clip((s_vecs @ q_vec - 0.70) / 0.25, 0.0, 1.0)
        keywords = set(tokenize(query))
        total = sum(_weight(t) for t in keywords)
        lexical = np.array(
            [
                sum(_weight(t) for t in keywords if t in s.text.lower() or t in s.context) / total if total else 0.0
                for s in sentences
            ]
        )
        return np.asarray(0.5 * semantic + 0.5 * lexical)

    def _select(self, candidates: Sequence[_Sentence], scores: np.ndarray, wants_list: bool) -> list[_Sentence]:
        """The best sentence, then: the enumeration that follows it when it is a lead-in ending
        with a colon, or, for a list question, when the next sentence is an item (二是、其次……);
        otherwise the next best sentences scoring at least ``share`` of it — for a
        list question up to ``LIST_SENTENCES`` of them within ``max_list_chars``, in reading order."""
        order = np.argsort(-scores, kind="stable")
        top = candidates[int(order[0])]
        if top.text.rstrip().endswith(("：", ":")) or (wants_list and self._opens_enumeration(candidates, top)):
            return self._enumeration(candidates, top)
        if wants_list:
            limit, budget, share = max(LIST_SENTENCES, self.settings.max_sentences), self.settings.max_list_chars, 0.7
        else:
            limit, budget, share = self.settings.max_sentences, self.settings.max_chars, 0.75
        best = float(scores[order[0]])
        chosen: list[_Sentence] = []
        length = 0
        for i in order:
            sentence = candidates[int(i)]
            if chosen and (scores[i] < share * best or len(chosen) >= limit):
                break
            if chosen and length + len(sentence.text) > budget:
                continue
            chosen.append(sentence)
            length += len(sentence.text)
        if wants_list:
            chosen.sort(key=lambda s: (s.passage, s.position))
        return chosen

    @staticmethod
    def _opens_enumeration(candidates: Sequence[_Sentence], top: _Sentence) -> bool:
        following = [c for c in candidates if c.passage == top.passage and c.position == top.position + 1]
        return bool(following) and bool(_LIST_ITEM.match(following[0].text))

    def _enumeration(self, candidates: Sequence[_Sentence], top: _Sentence) -> list[_Sentence]:
        """``top`` and the sentences after it in the same passage, up to ``max_list_chars``."""
        chosen = [top]
        length = len(top.text)
        following = sorted(
            (c for c in candidates if c.passage == top.passage and c.position > top.position), key=lambda c: c.position
        )
        for sentence in following:
            if length + len(sentence.text) > self.settings.max_list_chars:
                break
            chosen.append(sentence)
            length += len(sentence.text)
        return chosen


def _weight(token: str) -> float:
    return float(min(len(token), 4))


def _with_marker(sentence: str, n: int) -> str:
    """Put ``[n]`` before the sentence's final punctuation: “……计划[1]。”"""
    match = re.search(r"[。！？；!?;]?[”’」』）)]*$", sentence)
    cut = match.start() if match and match.group() and match.group()[0] in "。！？；!?;" else len(sentence)
    if cut == len(sentence):
        return f"{sentence}[{n}]。"
    return f"{sentence[:cut]}[{n}]{sentence[cut:]}"
