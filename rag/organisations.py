"""The organisation a question asks about: a sentence on another organisation of the same kind
answers for that one. Asked what 火炬中心 and 中国建设银行 launched, “……中国银行研究设计“中银创新
积分贷”专属产品” is about another bank.

Organisations are the words jieba tags ``nt`` (中国建设银行, 华中科技大学, 人大常委会); two are of
the same kind when they end in the same two characters or more (银行, 大学, 常委会). The sentence is
kept when it names the asked organisation, when the question names the other one too, and when
one ends the other (人大常委会 for 北京市人大常委会: the same body, named briefly). An abbreviation
shares too little of the end to be of the same kind (中科院, 中国科学院) or is not tagged ``nt``
(上海交大). Nor does a body named by its kind and common words (人民政府 for 河南省政府): the
other organisation must have a name of its own before its kind (a place, a person, a brand:
jieba ``ns``/``nr``/``nz``/``nt``), as 中国 in 中国银行 and 复旦 in 复旦大学 are.
"""

from __future__ import annotations

from functools import lru_cache

from rag.lexicon import posseg
from rag.text import normalize_for_match, to_simplified

# How many final characters two organisations of one kind share, at least.
MIN_KIND_CHARACTERS = 2
_PROPER = frozenset({"ns", "nr", "nrt", "nrfg", "nz", "nt"})


@lru_cache(maxsize=4096)
def organisations(text: str) -> tuple[str, ...]:
    """The organisations ``text`` (simplified) names, in order (jieba ``nt``, 3 characters or more)."""
    return tuple(dict.fromkeys(word for word, flag in posseg.cut(text) if flag == "nt" and len(word) >= 3))


def other_organisation(question: str, asked: tuple[str, ...], sentence: str) -> tuple[str, str] | None:
    """An organisation of the same kind as one the question asks about, named by ``sentence``
    in its place, and the asked one (“中国银行”, “中国建设银行”), or None."""
    flat = to_simplified(normalize_for_match(sentence))
    named = organisations(flat)
    for organisation in asked:
        if organisation in flat:
            continue
        for other in named:
            briefly = organisation.endswith(other) or other.endswith(organisation)
            kind = _shared_end(organisation, other)
            if (
                other not in question
                and not briefly
                and kind >= MIN_KIND_CHARACTERS
                and _named(other[:-kind])
            ):
                return other, organisation
    return None


def _shared_end(one: str, other: str) -> int:
    """How many final characters ``one`` and ``other`` share."""
    shared = 0
    while shared < min(len(one), len(other)) and one[-1 - shared] == other[-1 - shared]:
        shared += 1
    return shared


def _named(words: str) -> bool:
    """Whether ``words`` hold a proper name (人民 does not; 中国, 复旦 and 华为 do)."""
    return any(flag in _PROPER for _, flag in posseg.cut(words))
