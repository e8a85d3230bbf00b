"""Citation post-processing: normalise ``[n]`` markers and verify every sentence against its sources.

An answer is checked sentence by sentence (sentences end at 。！？； or a line break):

1. **Markers are normalised**: ``[1]``, ``[1,2]``, ``[1-3]``, ``[1][2]``, ``【1】``, ``［1］`` and
   ``[^1]`` all become ``[1][2]…``; numbers outside 1..n (n = passages given to the answerer)
   are dropped; a marker placed after the sentence's final punctuation moves before it.
2. **Support test** (no model download, see ``support``): a sentence is supported by a text
   when every number it states occurs in that text and
   ``max(bigram_recall, 0.5·bigram_recall + 0.5·semantic) ≥ min_support`` (default 0.5), where
   *bigram_recall* is the share of the sentence's character bigrams (Chinese, letters, digits)
   found in the text and *semantic* the embedding cosine rescaled from [0.80, 0.95] to [0, 1].
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
from dataclasses import dataclass

import numpy as np

from rag.embedders import Embedder
from rag.text import normalize_for_match, to_simplified
from rag.types import Hit, SentenceCheck

REFUSAL = "根据现有简报无法回答该问题。"

_NUMBER_LIST = r"\d+(?:\s*[,，、\-–~]\s*\d+)*"
_MARKER_VARIANT = re.compile(
    rf"\[\^?\s*(?:ID:)?\s*({_NUMBER_LIST})\s*\]|【\s*({_NUMBER_LIST})\s*】|［\s*({_NUMBER_LIST})\s*］"
)
_CANONICAL = re.compile(r"\[(\d+)\]")
TERMINAL = "。！？；!?;"  # what ends a sentence
CLOSERS = "”’」』）)\"'"  # what stays with the sentence after its end
# The end of a sentence, or of a lead-in to a list (a colon), with the closers after it.
SENTENCE_END = re.compile(rf"[{TERMINAL}：:][{re.escape(CLOSERS)}]*$")
_MARKERS_AFTER_END = re.compile(rf"([{TERMINAL}][{re.escape(CLOSERS)}]*)\s*((?:\[\d+\]\s*)*\[\d+\])")
_MARKER_RUN = re.compile(r"(?:\[\d+\]){2,}")
_CONTENT = re.compile(r"[0-9A-Za-z\u3400-\u9fff]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# A sentence is complete once a character follows that cannot belong to its markers; the
# closers are possessive so a quote that has not arrived yet is never split off its sentence.
_PIECE = re.compile(
    rf"(.*?(?:[{TERMINAL}][{re.escape(CLOSERS)}]*+|\n))"
    rf"((?:\s*(?:\[\^?\s*(?:ID:)?[\d,，、\s\-–~]*\]|【[\d,，、\s\-–~]*】|［[\d,，、\s\-–~]*］))*\s*)"
    r"(?=[^\s\[【［])",
    re.S,
)
SEMANTIC_FLOOR, SEMANTIC_CEIL = 0.80, 0.95


def _expand(numbers: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*[,，、]\s*", numbers.strip()):
        bounds = re.split(r"\s*[\-–~]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            lo, hi = int(bounds[0]), int(bounds[1])
            out.extend(range(lo, hi + 1) if 0 < hi - lo < 20 else [lo, hi])
        elif part.isdigit():
            out.append(int(part))
    return out


def normalize_markers(text: str, n_passages: int) -> tuple[str, list[int]]:
    """Canonical ``[n]`` markers before the final punctuation; returns the text and dropped numbers."""
    dropped: list[int] = []

    def canonical(match: re.Match[str]) -> str:
        numbers = _expand(next(g for g in match.groups() if g is not None))
        kept = []
        for n in numbers:
            if 1 <= n <= n_passages:
                if n not in kept:
                    kept.append(n)
            else:
                dropped.append(n)
        return "".join(f"[{n}]" for n in kept)

    text = _MARKER_VARIANT.sub(canonical, text)
    text = _MARKERS_AFTER_END.sub(lambda m: re.sub(r"\s+", "", m.group(2)) + m.group(1), text)
    text = _MARKER_RUN.sub(lambda m: "".join(f"[{n}]" for n in cited_numbers(m.group(0))), text)
    return text, dropped


def strip_markers(text: str) -> str:
    return _CANONICAL.sub("", text)


def cited_numbers(text: str) -> list[int]:
    numbers: list[int] = []
    for match in _CANONICAL.finditer(text):
        if int(match.group(1)) not in numbers:
            numbers.append(int(match.group(1)))
    return numbers


class SentenceAssembler:
    """Cuts streamed text into whole sentences, each with the markers and spacing that follow it."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> list[str]:
        self._buffer += text
        pieces = []
        while match := _PIECE.match(self._buffer):
            pieces.append(match.group(0))
            self._buffer = self._buffer[match.end() :]
        return pieces

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer, ""
        return [rest] if rest.strip() else []


def _bigrams(text: str) -> list[str]:
    chars = [c for c in to_simplified(normalize_for_match(text)).lower() if _CONTENT.match(c)]
    if len(chars) == 1:
        return chars
    return [a + b for a, b in zip(chars, chars[1:], strict=False)]


def content_length(text: str) -> int:
    """Letters, digits and Chinese characters in ``text``."""
    return len(_CONTENT.findall(text))


class SupportChecker:
    """The support test of the module docstring; embeddings are cached per text."""

    def __init__(self, embedder: Embedder, min_support: float) -> None:
        self.embedder = embedder
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
        cosine = float(self._vector(claim) @ self._vector(source))
        semantic = min(max((cosine - SEMANTIC_FLOOR) / (SEMANTIC_CEIL - SEMANTIC_FLOOR), 0.0), 1.0)
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


def place_marker(sentence: str, n: int) -> str:
    """``sentence`` with ``[n]`` before its final punctuation (。！？； or a colon, with the closing
    quotes after it: “……计划[1]。”), or at its end when it has none; trailing space stays last."""
    body = sentence.rstrip()
    match = SENTENCE_END.search(body)
    cut = match.start() if match else len(body)
    return f"{body[:cut]}[{n}]{body[cut:]}{sentence[len(body) :]}"
