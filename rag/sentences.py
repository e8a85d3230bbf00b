"""Sentences and citation markers: the one place that cuts text into sentences and reads or
writes ``[n]`` markers. Chunking, the answerers, citation checking, the follow-up rewrite, eval
and the page (which gets sentence spans in the answer, see ``citations.evidence_span``) all use it.

- A **sentence** ends at 。！？；!?; with the closing quotes and brackets after it (“……。”),
  and, where line breaks count (answers, passages as shown), at a line break.
- A **marker** is canonical ``[n]``; answers written with ``[1,2]``, ``[1-3]``, ``【1】``,
  ``［1］`` or ``[^1]`` are normalised to it (``normalize_markers``).
"""

from __future__ import annotations

import re

TERMINAL = "。！？；!?;"  # what ends a sentence
CLOSERS = "”’」』）)\"'"  # what stays with the sentence after its end
# The end of a sentence, or of a lead-in to a list (a colon), with the closers after it.
SENTENCE_END = re.compile(rf"[{TERMINAL}：:][{re.escape(CLOSERS)}]*$")
MARKER = re.compile(r"\[(\d+)\]")

_END = re.compile(rf"[{TERMINAL}]+[{re.escape(CLOSERS)}]*")
_END_OR_LINE = re.compile(rf"[{TERMINAL}]+[{re.escape(CLOSERS)}]*|\n")
_CONTENT = re.compile(r"[0-9A-Za-z\u3400-\u9fff]")
_NUMBER_LIST = r"\d+(?:\s*[,，、\-–~]\s*\d+)*"
_MARKER_VARIANT = re.compile(
    rf"\[\^?\s*(?:ID:)?\s*({_NUMBER_LIST})\s*\]|【\s*({_NUMBER_LIST})\s*】|［\s*({_NUMBER_LIST})\s*］"
)
_MARKERS_AFTER_END = re.compile(rf"([{TERMINAL}][{re.escape(CLOSERS)}]*)\s*((?:\[\d+\]\s*)*\[\d+\])")
_MARKER_RUN = re.compile(r"(?:\[\d+\]){2,}")
# A sentence is complete once a character follows that cannot belong to its markers; the
# closers are possessive so a quote that has not arrived yet is never split off its sentence.
_PIECE = re.compile(
    rf"(.*?(?:[{TERMINAL}][{re.escape(CLOSERS)}]*+|\n))"
    rf"((?:\s*(?:\[\^?\s*(?:ID:)?[\d,，、\s\-–~]*\]|【[\d,，、\s\-–~]*】|［[\d,，、\s\-–~]*］))*\s*)"
    r"(?=[^\s\[【［])",
    re.S,
)


def sentence_spans(
    text: str, start: int = 0, end: int | None = None, *, line_breaks: bool = True
) -> list[tuple[int, int]]:
    """Consecutive spans covering ``text[start:end]``, one per sentence; a line break ends a
    sentence only with ``line_breaks`` (a document's wrapped lines do not)."""
    end = len(text) if end is None else end
    pattern = _END_OR_LINE if line_breaks else _END
    spans: list[tuple[int, int]] = []
    at = start
    for match in pattern.finditer(text, start, end):
        spans.append((at, match.end()))
        at = match.end()
    if at < end:
        spans.append((at, end))
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, ending at 。！？； or a line break."""
    return [text[s:e].strip() for s, e in sentence_spans(text) if text[s:e].strip()]


def content_length(text: str) -> int:
    """Letters, digits and Chinese characters in ``text``."""
    return len(_CONTENT.findall(text))


def strip_markers(text: str) -> str:
    return MARKER.sub("", text)


def cited_numbers(text: str) -> list[int]:
    """The passage numbers ``text`` cites, in order of first appearance."""
    numbers: list[int] = []
    for match in MARKER.finditer(text):
        if int(match.group(1)) not in numbers:
            numbers.append(int(match.group(1)))
    return numbers


def place_marker(sentence: str, n: int) -> str:
    """``sentence`` with ``[n]`` before its final punctuation (。！？； or a colon, with the closing
    quotes after it: “……计划[1]。”), or at its end when it has none; trailing space stays last."""
    body = sentence.rstrip()
    match = SENTENCE_END.search(body)
    cut = match.start() if match else len(body)
    return f"{body[:cut]}[{n}]{body[cut:]}{sentence[len(body) :]}"


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
    """Canonical ``[n]`` markers before the final punctuation; returns the text and the numbers
    dropped for lying outside 1..``n_passages``."""
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
