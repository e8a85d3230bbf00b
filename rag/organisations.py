"""The organisation a question asks about: a sentence on another organisation of the same kind
does not answer for the asked one. Asked what 火炬中心 and 中国建设银行 launched, “……中国银行研究
设计“中银创新积分贷”专属产品” is about another bank.

Organisations are the words jieba tags ``nt`` (中国建设银行, 华中科技大学, 人大常委会); two are of
the same kind when they end in the same two characters or more (银行, 大学, 常委会), and both
have a name of their own before their kind (a place, a person, a brand: jieba ``ns``/``nr``/
``nz``/``nt``, as 中国 in 中国银行 and 复旦 in 复旦大学; not 人民政府 beside 河南省政府). The sentence
is kept when it names the asked organisation, or by an abbreviation jieba knows (北大 for 北京大学),
when the question names the other one too, and when one ends the other (人大常委会 for 北京市人大
常委会, 深圳市政府 for 深圳市人民政府: the same body, named briefly).
"""

from __future__ import annotations

import re

from rag.lexicon import tagged
from rag.names import PROPER_NOUN
from rag.text import normalize_for_match, to_simplified

# How many final characters two organisations of one kind share, at least.
MIN_KIND_CHARACTERS = 2
# 人民政府, 人民法院, 人民代表大会 are also written without 人民.
_PEOPLES = re.compile(r"人民(?=政府|法院|检察院|代表大会)")


def organisations(text: str) -> tuple[str, ...]:
    """The organisations ``text`` (simplified) names, in order (jieba ``nt``, 3 characters or more)."""
    return tuple(dict.fromkeys(word for word, flag in tagged(text) if flag == "nt" and len(word) >= 3))


def other_organisation(question: str, asked: tuple[str, ...], sentence: str) -> tuple[str, str] | None:
    """An organisation of the same kind as one the question asks about, named by ``sentence``
    in its place, and the asked one (“中国银行”, “中国建设银行”), or None."""
    flat = to_simplified(normalize_for_match(sentence))
    named = organisations(flat)
    for organisation in asked:
        if organisation in flat or _abbreviated(organisation, flat):
            continue
        for other in named:
            one, two = _plain(organisation), _plain(other)
            kind = _shared_end(one, two)
            if (
                other not in question
                and not (one.endswith(two) or two.endswith(one))  # the same body, named briefly
                and kind >= MIN_KIND_CHARACTERS
                and _named(one[:-kind])
                and _named(two[:-kind])
            ):
                return other, organisation
    return None


def _plain(name: str) -> str:
    """``name`` as it is also written: 深圳市人民政府 as 深圳市政府."""
    return _PEOPLES.sub("", name)


def _abbreviated(organisation: str, flat: str) -> bool:
    """Whether ``flat`` names ``organisation`` by an abbreviation jieba knows (jieba ``j``: 北大 for
    北京大学, 上海交大 for 上海交通大学)."""
    for word, flag in tagged(flat):
        rest = iter(organisation)
        if flag == "j" and len(word) >= 2 and all(character in rest for character in word):
            return True
    return False


def _shared_end(one: str, other: str) -> int:
    """How many final characters ``one`` and ``other`` share."""
    shared = 0
    while shared < min(len(one), len(other)) and one[-1 - shared] == other[-1 - shared]:
        shared += 1
    return shared


def _named(words: str) -> bool:
    """Whether ``words`` hold a proper name (人民 does not; 中国, 复旦 and 华为 do)."""
    return any(flag in PROPER_NOUN for _, flag in tagged(words))
