"""English questions over Chinese briefings: their words looked up in CC-CEDICT, so the
sentence that answers is told apart from its neighbours by what it says, not only by a
cross-lingual cosine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rag.glossary import english_terms, is_cross_lingual
from rag.pipeline import Pipeline

REPO = Path(__file__).resolve().parents[2]
QUESTION = "How many companies reported revenue, by which standards?"


def _translations(question: str) -> set[str]:
    return {word for term in english_terms(question) for word in term}


def test_an_english_words_inflected_form_finds_its_chinese_words() -> None:
    found = _translations(QUESTION)
    assert {"企业", "公司", "收入", "标准"} <= found


def test_pinyin_names_and_function_words_are_not_translated_and_no_single_character_counts() -> None:
    terms = english_terms("What is the plan of Guangdong for the year?")
    assert len(terms) == 2  # plan, year; “Guangdong” is checked as a name, “what/is/the/of/for” are grammar
    assert all(len(word) >= 2 for term in terms for word in term)


def test_a_phrase_the_dictionary_glosses_as_a_whole_is_one_term() -> None:
    assert any("集成电路" in term for term in english_terms("the integrated circuit industry"))
    assert is_cross_lingual("How large is it?") and not is_cross_lingual("How large is 深圳?")


def test_a_phrase_opening_with_a_function_word_is_looked_up_whole() -> None:
    # “every year” is 每年, not “year” alone (年度、年级……): the regulation says 每年发布
    assert "每年" in _translations("Must the government publish a report every year?")
    assert "至少" in _translations("At least how many members?")
    assert not _translations("How many of them?")  # a phrase ending in a function word is grammar
    assert "哪门子" not in _translations("What kind of support?")  # nor one opening with a question word


def test_an_english_question_is_answered_with_the_sentence_that_gives_its_figures(bundled: Pipeline) -> None:
    answer = bundled.ask(
        "How many biomedical companies has Changchun High-tech Zone gathered, and what is their total revenue?"
    )
    assert not answer.refused
    assert "558家" in answer.text and "400亿元" in answer.text


@pytest.mark.parametrize("cache_dir", ["writable", "damaged", "unwritable"])
def test_the_glossary_is_the_same_from_a_fresh_damaged_or_unwritable_cache(
    tmp_path: Path, cache_dir: str
) -> None:
    """A fresh process compiles the reversed dictionary into the cache and the next one reads it
    from there; over a damaged one it compiles it again; where it cannot write, it builds it in
    memory. The translations are the same, and no temporary file is left behind."""
    folder = tmp_path / "cache"
    env = {"PATH": "/usr/bin:/bin", "RAG_CACHE_DIR": str(folder), "HOME": str(tmp_path)}
    script = f"from rag.glossary import english_terms; print(sorted(sorted(t) for t in english_terms({QUESTION!r})))"

    def run() -> str:
        return subprocess.run(
            [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True
        ).stdout.strip()

    expected = str(sorted(sorted(t) for t in english_terms(QUESTION)))
    if cache_dir == "unwritable":
        folder.write_text("a file, not a folder")
        assert run() == expected
        return
    assert run() == expected
    (trie,) = folder.glob("cedict-*.marisa")
    compiled = trie.read_bytes()
    if cache_dir == "damaged":
        trie.write_bytes(compiled[:1000])
    assert run() == expected
    assert trie.read_bytes() == compiled  # read as compiled, or compiled again over the damaged copy
    assert [p.name for p in folder.iterdir() if p.name.startswith(".cedict-")] == []


def test_an_inflection_is_not_read_as_a_shorter_word() -> None:
    # “using” is use, not “us” (我们、美国); “doing” is grammar, not “doe”.
    assert not {"我们", "美国", "雌鹿"} & _translations("What are they doing and using?")


def test_a_word_translated_one_way_only_is_searched_for_in_chinese(bundled: Pipeline) -> None:
    hits = bundled.search("How many invention patents did the high-tech zones hold?")
    best = max(hits, key=lambda hit: hit.keyword)
    assert best.keyword > 0 and "发明" in best.chunk.text


def test_a_word_translated_several_ways_is_searched_for_in_the_one_the_best_passages_use(
    bundled: Pipeline,
) -> None:
    # “path” and “development” have several translations; 道路 and 发展 are the ones used near
    # the top, and bring the passage on 威海's road of 集群化、专业化、差异化 up to the first place
    hits = bundled.search("What are the 'three-izations' in Weihai High-tech Zone's development path?")
    assert "园区专业化" in hits[0].chunk.text
