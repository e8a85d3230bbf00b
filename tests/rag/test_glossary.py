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
    """A fresh process compiles the reversed dictionary into the cache (and reads it from there
    after that), compiles it again over a damaged one, and builds it in memory where it cannot
    write: the translations are the same."""
    folder = tmp_path / "cache"
    env = {"PATH": "/usr/bin:/bin", "RAG_CACHE_DIR": str(folder), "HOME": str(tmp_path)}
    script = f"from rag.glossary import english_terms; print(sorted(sorted(t) for t in english_terms({QUESTION!r})))"

    def run() -> str:
        return subprocess.run(
            [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True
        ).stdout.strip()

    if cache_dir == "unwritable":
        folder.write_text("a file, not a folder")
    if cache_dir == "damaged":
        run()
        (trie,) = folder.glob("cedict-*.marisa")
        trie.write_bytes(trie.read_bytes()[:1000])
    assert run() == str(sorted(sorted(t) for t in english_terms(QUESTION)))
    assert len(list(folder.glob("cedict-*.marisa"))) == (0 if cache_dir == "unwritable" else 1)


def test_a_word_translated_one_way_only_is_searched_for_in_chinese(bundled: Pipeline) -> None:
    hits = bundled.search("How many invention patents did the high-tech zones hold?")
    matched = [hit for hit in hits if hit.keyword > 0]
    assert matched and all("发明" in hit.chunk.text for hit in matched)
