"""Counting tokens where no model reports them: the offline answerer's usage, and an LLM
backend that sends no ``usage``.

The method (documented in the README's OpenAI section) approximates the BPE tokenizers of the
models we serve (Qwen, DeepSeek, GLM, cl100k): every CJK character, kana or full-width mark is
one token; a run of Latin letters is one token per started 4 letters; a run of digits one per
started 3 digits; any other visible character one token; whitespace none. It is deterministic,
needs no vocabulary file, and errs on the side of counting more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# CJK ideographs (and extensions), kana, hangul, CJK punctuation and full-width forms
_WIDE = r"\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003134f"
_PIECES = re.compile(rf"[{_WIDE}]|[A-Za-z]+|[0-9]+|[^\s{_WIDE}A-Za-z0-9]")


def count_tokens(text: str) -> int:
    total = 0
    for piece in _PIECES.findall(text):
        first = piece[0]
        if first.isascii() and first.isalpha():
            total += -(-len(piece) // 4)
        elif first.isascii() and first.isdigit():
            total += -(-len(piece) // 3)
        else:
            total += 1
    return total


def count_all(texts: Iterable[str]) -> int:
    return sum(count_tokens(text) for text in texts)
