"""jieba over the memory-mapped lexicon (``rag.lexicon``) segments and tags exactly as jieba
over its own dictionaries: same frequencies and total, same tags and IDF weights, same word
graph, same words and tags on every line of the bundled briefings."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from typing import Any

import jieba
import jieba.analyse
import jieba.posseg
import pytest

from rag.lexicon import LEXICON, idf_table
from rag.lexicon import jieba as fast_jieba
from rag.lexicon import posseg as fast_posseg
from tests.fixtures.corpus import BUNDLED_DATA, REPO

QUESTIONS = [
    "哪些东西不能授予专利权？",
    "Can Shenzhen companies apply?",
    "那长春高新区呢？",
    "二〇二三年第十条规定了什么",
]


@cache
def _reference() -> tuple[Any, Any]:
    """A jieba tokenizer and tagger that load their dictionaries the usual way."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer, jieba.posseg.POSTokenizer(tokenizer)


@cache
def _lines() -> list[str]:
    lines = [
        line for path in sorted(BUNDLED_DATA.glob("*.txt")) for line in path.read_text("utf-8").splitlines()
    ]
    return [line for line in lines if line.strip()] + QUESTIONS


def test_the_lexicon_is_in_use() -> None:
    assert LEXICON is not None
    assert fast_jieba.dt.FREQ is LEXICON.frequencies and fast_posseg.dt.word_tag_tab is LEXICON.tags


def test_frequencies_and_total_are_jiebas() -> None:
    assert LEXICON is not None
    tokenizer, _ = _reference()
    assert LEXICON.total == tokenizer.total
    assert len(tokenizer.FREQ) > 400_000
    assert all(LEXICON.frequencies.get(word) == freq for word, freq in tokenizer.FREQ.items())
    assert LEXICON.frequencies.get("不是一个词语啊") is None and "不是一个词语啊" not in LEXICON.frequencies


def test_tags_and_idf_weights_are_jiebas() -> None:
    assert LEXICON is not None
    _, tagger = _reference()
    assert all(LEXICON.tags.get(word) == tag for word, tag in tagger.word_tag_tab.items())
    assert LEXICON.tags.get("不是一个词语啊", "x") == "x"
    reference = jieba.analyse.TFIDF()
    idf, median = idf_table()
    assert median == reference.median_idf
    assert all(idf.get(word) == weight for word, weight in reference.idf_freq.items())


def test_every_line_is_segmented_and_tagged_as_jieba_does() -> None:
    tokenizer, tagger = _reference()
    for line in _lines():
        assert fast_jieba.dt.get_DAG(line) == tokenizer.get_DAG(line), line
        assert fast_jieba.lcut(line) == tokenizer.lcut(line), line
        assert fast_jieba.lcut_for_search(line) == tokenizer.lcut_for_search(line), line
        assert [tuple(p) for p in fast_posseg.cut(line)] == [tuple(p) for p in tagger.cut(line)], line


@pytest.mark.parametrize("cache_dir", ["writable", "damaged", "unwritable"])
def test_a_process_segments_the_same_with_or_without_a_cache(tmp_path: Any, cache_dir: str) -> None:
    """A fresh process compiles the lexicon into an empty cache, and again over a damaged one
    (a truncated trie); where it cannot write one, jieba loads its own dictionaries. Either
    way the words and tags are the same."""
    folder = tmp_path / "cache"
    if cache_dir == "unwritable":
        folder.write_text("a file, not a folder")
    if cache_dir == "damaged":
        env = {"PATH": "/usr/bin:/bin", "RAG_CACHE_DIR": str(folder), "HOME": str(tmp_path)}
        subprocess.run([sys.executable, "-c", "import rag.lexicon"], cwd=REPO, env=env, check=True)
        (trie,) = folder.glob("*/words.marisa")
        trie.write_bytes(trie.read_bytes()[:1000])
    script = (
        "from rag.lexicon import LEXICON, jieba, posseg;"
        "print(LEXICON is not None);"
        f"print([tuple(p) for q in {QUESTIONS!r} for p in posseg.cut(q)])"
    )
    env = {"PATH": "/usr/bin:/bin", "RAG_CACHE_DIR": str(folder), "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    _, tagger = _reference()
    assert out[0] == str(cache_dir != "unwritable")
    assert out[1] == str([tuple(p) for q in QUESTIONS for p in tagger.cut(q)])
