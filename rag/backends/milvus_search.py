"""Searching one Milvus version: dense ANN over ``vector`` and BM25 over ``sparse``, returning
positions in the loaded ``Index`` (the ``SearchBackend`` protocol), so fusion stays ours."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.backends.milvus_engine import MAX_LIMIT, MilvusEngine


class MilvusBackend:
    """``SearchBackend`` over one version's chunk collection; ``ids``: the Milvus row numbers
    of the loaded index's chunks, in order (position ``i`` of ``Index.chunks`` is ``ids[i]``)."""

    def __init__(
        self,
        engine: MilvusEngine,
        collection: str,
        ids: np.ndarray,
        kind: str,
        dim: int,
        ef_search: int = 256,
    ) -> None:
        self.engine = engine
        self.collection = collection
        self.ids = ids
        self.kind = kind
        self.dim = dim
        self.ef_search = ef_search

    def dense(
        self, vector: np.ndarray, k: int, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.kind == "hnsw":
            params["params"] = {"ef": max(self.ef_search, min(k, MAX_LIMIT))}
        elif self.kind == "ivf_flat":
            params["params"] = {"nprobe": 64}
        data = [np.asarray(vector, dtype=np.float32).ravel().tolist()]
        return self._search(data, "vector", k, rows, params)

    def keyword(
        self, tokens: Sequence[str], k: int, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if not tokens:
            return _empty()
        return self._search([" ".join(tokens)], "sparse", k, rows, {"metric_type": "BM25"})

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        wanted = self.ids[np.asarray(rows, dtype=np.int64)]
        if not len(wanted):
            return np.zeros((0, self.dim), dtype=np.float32)
        found: dict[int, list[float]] = {}
        for start in range(0, len(wanted), MAX_LIMIT):
            batch = wanted[start : start + MAX_LIMIT]
            expr = f"row in [{','.join(map(str, batch))}]"
            for row in self.engine.call(
                "query", self.collection, filter=expr, output_fields=["row", "vector"], limit=len(batch)
            ):
                found[int(row["row"])] = row["vector"]
        return np.array([found[int(i)] for i in wanted], dtype=np.float32).reshape(len(wanted), -1)

    def _search(
        self, data: list[Any], field: str, k: int, rows: np.ndarray | None, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        limit = min(k, MAX_LIMIT, len(self.ids) if rows is None else len(rows))
        if limit <= 0:
            return _empty()
        expr = "" if rows is None else f"row in [{','.join(map(str, self.ids[rows]))}]"
        found = self.engine.call(
            "search",
            self.collection,
            data=data,
            anns_field=field,
            limit=limit,
            filter=expr,
            search_params=params,
            output_fields=[],
        )[0]
        ids = np.array([int(hit["id"]) for hit in found], dtype=np.int64)
        scores = np.array([float(hit["distance"]) for hit in found], dtype=np.float32)
        positions = np.minimum(np.searchsorted(self.ids, ids), max(len(self.ids) - 1, 0))
        known = self.ids[positions] == ids  # rows added since this index was loaded are not in it yet
        return positions[known].astype(np.int64), scores[known]


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
