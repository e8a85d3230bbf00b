"""jieba with its dictionaries memory-mapped, ready in milliseconds instead of 1.4 s.

On first use jieba builds a Python dict of its 350,000 words and all their prefixes (0.8 s,
even from its own cache), its part-of-speech tagger reads the word list again for the tags
(0.3 s) and its keyword extractor reads its IDF table (0.3 s): most of a ``rag ask``. Here the
word list and the IDF table are compiled once into MARISA tries with row-aligned arrays of
frequency, tag and IDF, cached under ``~/.cache/briefing-rag`` (``RAG_CACHE_DIR``) and
memory-mapped after that; jieba's tokenizer and tagger are given mappings over them.

Segmentation and tags are unchanged: the same words with the same frequencies and total, the
same tags and IDF values, and a word graph (``get_DAG``) built from the trie's prefix search
that equals jieba's (``tests/rag/test_lexicon.py`` compares all of them). When the cache cannot
be written, jieba loads its dictionaries as usual.

Import jieba from here (``from rag.lexicon import jieba, posseg``): the tagger reads its word
list when ``jieba.posseg`` is first imported, so that import must come after the install. The
tries are read-only: ``jieba.add_word`` and user dictionaries are not available in a process
that uses them (briefing-rag uses neither).
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import marisa_trie
import numpy as np

log = logging.getLogger(__name__)

FORMAT = 1


def _import_jieba() -> Any:
    """jieba, without the ``pkg_resources`` import it makes only to open its own files (0.1 s
    and a deprecation warning); it then opens them by path."""
    blocked = "pkg_resources" not in sys.modules
    if blocked:
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # ImportError inside jieba._compat
    try:
        import jieba
    finally:
        if blocked and sys.modules.get("pkg_resources") is None:
            del sys.modules["pkg_resources"]
    jieba.setLogLevel(logging.WARNING)
    return jieba


jieba = _import_jieba()


class _Words(Mapping[str, Any]):
    """A column of a word trie: ``column[key id]`` by word. With ``prefix_value``, a word that
    is only the prefix of dictionary words has that value (jieba's FREQ holds those with 0)."""

    def __init__(self, trie: marisa_trie.Trie, column: list[Any], prefix_value: Any = None) -> None:
        self.trie, self.column, self.prefix_value = trie, column, prefix_value

    def get(self, word: str, default: Any = None) -> Any:  # the hot path
        key = self.trie.get(word)
        if key is not None:
            return self.column[key]
        if self.prefix_value is not None and word and self.trie.has_keys_with_prefix(word):
            return self.prefix_value
        return default

    def __getitem__(self, word: str) -> Any:
        value = self.get(word)
        if value is None:
            raise KeyError(word)
        return value

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.get(word) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.trie.keys())

    def __len__(self) -> int:
        return len(self.trie)


class _TagColumn(_Words):
    """The tags by word: ``column`` holds each word's index in ``names``, -1 for none."""

    def __init__(self, trie: marisa_trie.Trie, column: list[int], names: list[str]) -> None:
        super().__init__(trie, column)
        self.names = names

    def get(self, word: str, default: Any = None) -> Any:
        key = self.trie.get(word)
        code = self.column[key] if key is not None else -1
        return default if code < 0 else self.names[code]


class Lexicon:
    """jieba's word list (frequencies and tags) and IDF table, as tries."""

    def __init__(self, folder: Path) -> None:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        self.words = marisa_trie.Trie()
        self.words.mmap(str(folder / "words.marisa"))
        self.idf_words = marisa_trie.Trie()
        self.idf_words.mmap(str(folder / "idf.marisa"))
        self.total: int = meta["total"]
        self.median_idf: float = meta["median_idf"]
        frequencies = np.load(folder / "freq.npy")
        self.frequencies = _Words(self.words, frequencies.tolist(), prefix_value=0)
        self.tags = _TagColumn(self.words, np.load(folder / "tags.npy").tolist(), meta["tags"])
        self.idf = _Words(self.idf_words, np.load(folder / "idf.npy").tolist())
        self._positive: list[bool] = (frequencies > 0).tolist()

    def get_dag(self, sentence: str) -> dict[int, list[int]]:
        """jieba's ``get_DAG``: for each position, the ends of the dictionary words (frequency
        above 0) starting there, or the position itself."""
        dag = {}
        words, positive = self.words, self._positive
        for start in range(len(sentence)):
            ends = [
                start + len(word) - 1
                for word, key in words.iter_prefixes_with_ids(sentence[start:])
                if positive[key]
            ]
            dag[start] = sorted(ends) or [start]
        return dag


def _sources() -> tuple[Path, Path]:
    package = Path(jieba.__file__).parent
    return package / "dict.txt", package / "analyse" / "idf.txt"


def cache_root() -> Path:
    """Where compiled dictionaries are kept: ``RAG_CACHE_DIR``, else ``~/.cache/briefing-rag``."""
    root = os.environ.get("RAG_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "briefing-rag"
    )
    return Path(root)


def _cache_folder() -> Path:
    stamp = "-".join(str(p.stat().st_size) for p in _sources())
    return cache_root() / f"jieba-{jieba.__version__}-{stamp}-v{FORMAT}"


def _compile(folder: Path) -> None:
    """Write the tries and columns of jieba's word list and IDF table into ``folder``."""
    dictionary, idf_file = _sources()
    frequencies: dict[str, int] = {}
    tags: dict[str, str] = {}
    total = 0
    for line in dictionary.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split(" ")
        if not parts[0]:
            continue
        frequencies[parts[0]] = int(parts[1])  # a word listed twice: the last entry, as jieba
        total += int(parts[1])
        if len(parts) == 3:
            tags[parts[0]] = parts[2]
    idf: dict[str, float] = {}
    for line in idf_file.read_text(encoding="utf-8").splitlines():
        word, value = line.strip().split(" ")
        idf[word] = float(value)
    words = marisa_trie.Trie(frequencies)
    names = sorted(set(tags.values()))
    code = {name: i for i, name in enumerate(names)}
    ids = [words.restore_key(i) for i in range(len(words))]
    words.save(str(folder / "words.marisa"))
    np.save(folder / "freq.npy", np.array([frequencies[w] for w in ids], dtype=np.int64))
    np.save(folder / "tags.npy", np.array([code.get(tags.get(w, ""), -1) for w in ids], dtype=np.int16))
    idf_words = marisa_trie.Trie(idf)
    idf_words.save(str(folder / "idf.marisa"))
    values = [idf[idf_words.restore_key(i)] for i in range(len(idf_words))]
    np.save(folder / "idf.npy", np.array(values, dtype=np.float64))
    median = sorted(idf.values())[len(idf) // 2]
    meta = {"total": total, "median_idf": median, "tags": names}
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def _load() -> Lexicon | None:
    """The cached lexicon, compiled first when missing or damaged; None when it cannot be."""
    folder = _cache_folder()
    try:
        if (folder / "meta.json").is_file():
            try:
                return Lexicon(folder)
            except (OSError, ValueError, KeyError, RuntimeError) as e:  # marisa: RuntimeError
                log.warning("the cached jieba lexicon %s is damaged (%s); compiling it again", folder, e)
                shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".jieba-", dir=folder.parent))
        _compile(staging)
        try:
            os.replace(staging, folder)  # another process may have won: its copy is the same
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
        return Lexicon(folder)
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        log.info("jieba loads its own dictionaries (no cached lexicon: %s)", e)
        return None


def _install() -> Lexicon | None:
    lexicon = _load()
    tokenizer = jieba.dt
    if lexicon is not None and not tokenizer.initialized:
        tokenizer.FREQ = lexicon.frequencies
        tokenizer.total = lexicon.total
        tokenizer.get_DAG = lexicon.get_dag
        tokenizer.initialized = True
    return lexicon


LEXICON = _install()


def _import_tagger() -> Any:
    """``jieba.posseg``, given the cached tags instead of reading the word list again."""
    if LEXICON is None or "jieba.posseg" in sys.modules:
        return importlib.import_module("jieba.posseg")
    jieba.dt.get_dict_file = io.BytesIO  # what POSTokenizer() reads its tags from: nothing
    try:
        tagger = importlib.import_module("jieba.posseg")
    finally:
        del jieba.dt.get_dict_file
    tagger.dt.word_tag_tab = LEXICON.tags
    return tagger


posseg = _import_tagger()


@lru_cache(maxsize=8192)
def tagged(text: str) -> tuple[tuple[str, str], ...]:
    """``text``'s words with their jieba tags (``posseg.cut``), cached: answering reads the same
    question and the same candidate sentences several times, and question after question."""
    return tuple((word, flag) for word, flag in posseg.cut(text))


def idf_table() -> tuple[Mapping[str, float], float]:
    """jieba's IDF weights and their median (``jieba.analyse.default_tfidf``)."""
    if LEXICON is not None:
        return LEXICON.idf, LEXICON.median_idf
    import jieba.analyse

    table = jieba.analyse.default_tfidf
    return table.idf_freq, float(table.median_idf)


def is_verb(flag: str) -> bool:
    """Whether a jieba tag is a verb's (``v…``) or an abbreviation's (``j``), which the question
    checks read alike."""
    return flag.startswith("v") or flag == "j"
