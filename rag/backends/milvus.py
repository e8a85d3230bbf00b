"""The Milvus backend: the whole index in Milvus, so API servers on many machines share it.

Everything a server needs lives in Milvus, under the prefix ``[milvus] collection`` (here
``P``):

- ``P_v<stamp>`` — one row per chunk: ``row`` (its number), ``vector`` (dense, inner product
  over L2-normalised vectors), ``tokens`` (our jieba + pinyin tokens, space-separated, in a
  whitespace-analysed field) whose ``BM25`` function fills ``sparse``, ``doc_id``, and the
  chunk ``record`` (JSON). BM25 uses ``k1``/``b`` equal to bm25s's, so the keyword ranking is
  the local backend's (Milvus's scores are (k1+1) times bm25s's; fusion divides by the best).
- ``P_v<stamp>_docs`` — each briefing's record (cleaned text, anchors, description) in slices,
  and the version's manifest (doc_id ``""``).
- ``P_meta`` — the pointer row naming the current version and the one before it, and a
  revision number that every write increments.

Writes: a rebuild (or any update that is not only additions) writes a new ``P_v…`` pair and
then switches the pointer, one row upsert: readers see the old version or the new one, never
a mix, and a writer killed before the switch leaves the old one answering (the next writer
drops what it left). Milvus Lite 2.5.1 does not implement collection aliases (UNIMPLEMENTED),
so the pointer is a row, the same on Lite, standalone and distributed. The version before the
current one is kept until the next write, so a server still reading it keeps answering while
it loads the new one. Additions go into the current version in place. One writer at a time
across machines: the lock is the collection ``P_lock``, whose creation fails while another
writer's (with a different description: host, pid, start) exists.

Milvus Lite (a file ``uri``) is the real Milvus engine embedded in one process; several
processes share a corpus through a Milvus server (``uri = "http://host:19530"``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from rag.backends.local import VectorIndexKind
from rag.config import Settings
from rag.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMissingError,
    MissingExtraError,
    SearchEngineError,
)
from rag.store import Index, by_name, check_manifest, new_manifest
from rag.types import Chunk, Document

log = logging.getLogger(__name__)

BATCH_ROWS = 500
MAX_LIMIT = 16_384  # Milvus's largest search/query limit
SLICE_CHARS = 16_000  # of a JSON record per row: at most 48 KB of UTF-8, under VARCHAR's 65,535 bytes
BM25_K1, BM25_B = 1.5, 0.75  # bm25s's defaults, which the local backend uses
HNSW = {"M": 32, "efConstruction": 200}  # as the local backend's FAISS HNSW
MANIFEST_DOC = ""

_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


class MilvusStore:
    """The ``IndexStore`` of ``retrieval.backend = "milvus"``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config = settings.milvus
        self.uri = _resolve_uri(settings)
        self.prefix = self.config.collection
        self.meta = f"{self.prefix}_meta"
        self.timeout = self.config.timeout_s

    # -- reading -------------------------------------------------------------------------
    def exists(self) -> bool:
        return self._pointer() is not None

    def version(self) -> str | None:
        pointer = self._pointer()
        return f"{pointer['collection']}#{pointer['revision']}" if pointer else None

    def manifest(self) -> dict[str, Any] | None:
        pointer = self._pointer()
        if pointer is None:
            return None
        try:
            return self._manifest(pointer["collection"])
        except IndexCorruptError:
            return None

    def load(self, embedder_spec: str | None = None, *, with_tokens: bool = False) -> Index:
        pointer = self._pointer()
        if pointer is None:
            raise IndexMissingError(f"Milvus（{self.describe()}）中还没有索引。请先运行 rag index")
        collection = pointer["collection"]
        manifest = self._manifest(collection)
        check_manifest(manifest, embedder_spec)
        fields = ["row", "record", *(["tokens"] if with_tokens else [])]
        rows = sorted(self._scan(collection, "", fields), key=lambda r: int(r["row"]))
        if len(rows) != manifest.get("chunks"):
            raise _corrupt(f"{len(rows)} 条分块记录，清单中为 {manifest.get('chunks')} 条")
        documents = [
            Document.from_record(r) for r in self._records(f"{collection}_docs", exclude_manifest=True)
        ]
        ids = np.array([int(r["row"]) for r in rows], dtype=np.int64)
        index = Index(
            path=Path(collection),
            manifest=manifest,
            chunks=[Chunk.from_record(json.loads(r["record"])) for r in rows],
            vectors=None,
            bm25=None,
            documents=by_name(documents),
            backend=MilvusBackend(self, collection, ids, manifest["vector_index"]),
            version=f"{collection}#{pointer['revision']}",
        )
        if with_tokens:
            vars(index)["tokens"] = [r["tokens"].split(" ") if r["tokens"] else [] for r in rows]
        return index

    def describe(self) -> str:
        return f"milvus（{_label(self.uri)}，集合 {self.prefix}）"

    # -- writing -------------------------------------------------------------------------
    def write(
        self,
        *,
        chunks: Sequence[Chunk],
        tokens: Sequence[list[str]],
        vectors: np.ndarray,
        documents: Sequence[Document],
        embedder_spec: str,
        chunker_version: str,
        vector_index: VectorIndexKind = "auto",
        appending_to: Index | None = None,
    ) -> None:
        """A new version made current by switching the pointer; or, ``appending_to`` the
        current version, the new briefings' rows added to it in place. ``vector_index`` is the
        local backend's setting: Milvus's index is ``[milvus] index``."""
        base = appending_to
        first = 0
        if base is not None:
            assert isinstance(base.backend, MilvusBackend), "appending to an index read from Milvus"
            first = int(base.backend.ids[-1]) + 1 if len(base.backend.ids) else 0
        rows = len(chunks) + (len(base.chunks) if base is not None else 0)
        pointer = self._pointer()
        if base is not None and pointer is not None and base.path.name == pointer["collection"]:
            collection, kind = pointer["collection"], str(base.manifest["vector_index"])
        else:
            collection = f"{self.prefix}_v{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}"
            kind = self._create(collection, int(vectors.shape[1]), rows)
        manifest = new_manifest(
            rows=rows,
            dim=int(vectors.shape[1]),
            vector_index=kind,
            documents=documents,
            embedder_spec=embedder_spec,
            chunker_version=chunker_version,
            kept=base.manifest["documents"] if base is not None else None,
        )
        self._insert_chunks(collection, chunks, tokens, vectors, first)
        self._insert_records(f"{collection}_docs", [(d.doc_id, d.record()) for d in documents])
        self._call("delete", f"{collection}_docs", filter=f'doc_id == "{MANIFEST_DOC}"')
        self._insert_records(f"{collection}_docs", [(MANIFEST_DOC, manifest)])
        for name in (collection, f"{collection}_docs"):
            self._call("flush", name)
        self._switch(collection, pointer)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One writer across machines: creating ``P_lock`` fails while another writer holds it."""
        name = f"{self.prefix}_lock"
        holder = {"host": socket.gethostname(), "pid": os.getpid(), "since": _now(), "id": uuid.uuid4().hex}
        for attempt in range(2):
            try:
                self._call(
                    "create_collection",
                    name,
                    schema=_schema(json.dumps(holder), []),
                    index_params=self._tiny_index(),
                )
                break
            except SearchEngineError as e:
                if "duplicate collection" not in e.message:
                    raise
                other = self._holder(name)
                if (
                    attempt == 0
                    and other
                    and other.get("host") == holder["host"]
                    and not _alive(int(other.get("pid", 0)))
                ):
                    log.warning("removing the Milvus write lock of a writer that is gone: %s", other)
                    self._call("drop_collection", name)
                    continue
                who = (
                    f"{other.get('host')} 上的进程 {other.get('pid')}，{other.get('since')} 开始"
                    if other
                    else "另一个进程"
                )
                raise IndexLockedError(
                    f"另一个写入者（{who}）正在写入 Milvus 中的索引 {self.prefix}，请等它完成后再试"
                ) from None
        try:
            self._drop_leftovers()
            yield
        finally:
            self._call("drop_collection", name)

    # -- Milvus --------------------------------------------------------------------------
    def client(self) -> Any:
        return _client(
            self.uri, self.config.token.get_secret_value() if self.config.token else "", self.timeout
        )

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``client.method(...)`` with the time limit; every failure becomes a Chinese error."""
        client = self.client()
        try:
            return getattr(client, method)(*args, timeout=self.timeout, **kwargs)
        except Exception as e:  # pymilvus raises MilvusException and raw grpc errors alike
            raise _engine_error(self.uri, self.timeout, e) from e

    def _pointer(self) -> dict[str, Any] | None:
        if not self._call("has_collection", self.meta):
            return None
        found = self._call("query", self.meta, filter='key == "current"', output_fields=["value"])
        return json.loads(found[0]["value"]) if found else None

    def _switch(self, collection: str, pointer: dict[str, Any] | None) -> None:
        if pointer is None and not self._call("has_collection", self.meta):
            self._call(
                "create_collection",
                self.meta,
                schema=_schema("briefing-rag pointer", [("value", 65_535)]),
                index_params=self._tiny_index(),
            )
        revision = (pointer["revision"] if pointer else 0) + 1
        previous = (
            pointer["collection"]
            if pointer and pointer["collection"] != collection
            else (pointer or {}).get("previous")
        )
        value = {"collection": collection, "previous": previous, "revision": revision, "at": _now()}
        self._call(
            "upsert", self.meta, data=[{"key": "current", "value": json.dumps(value), "v": [0.0, 0.0]}]
        )
        self._call("flush", self.meta)
        self._drop_leftovers()

    def _drop_leftovers(self) -> None:
        """Drop every version but the current one and the one before it (what a killed writer
        left, and versions no server can still be reading)."""
        pointer = self._pointer() or {}
        keep = {pointer.get("collection"), pointer.get("previous")}
        for name in self._call("list_collections"):
            version = name.removesuffix("_docs")
            if version.startswith(f"{self.prefix}_v") and version not in keep:
                self._call("drop_collection", name)

    def _create(self, collection: str, dim: int, rows: int) -> str:
        """Create a version's two collections; the vector index kind used. Milvus Lite has
        only FLAT and IVF_FLAT: asked for HNSW (``auto`` on a server URI), it gets FLAT."""
        kind = self._index_kind()
        try:
            self._create_chunks(collection, dim, kind, rows)
        except SearchEngineError as e:
            if kind != "hnsw" or "local mode only support" not in e.message:
                raise
            log.info("Milvus Lite has no HNSW index; %s uses FLAT", collection)
            kind = "flat"
            self._create_chunks(collection, dim, kind, rows)
        docs = _schema("briefing-rag documents", [("doc_id", 1024), ("data", 65_535)], part=True)
        self._call("create_collection", f"{collection}_docs", schema=docs, index_params=self._tiny_index())
        return kind

    def _create_chunks(self, collection: str, dim: int, kind: str, rows: int) -> None:
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, description="briefing-rag chunks")
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field(
            "tokens",
            DataType.VARCHAR,
            max_length=65_535,
            enable_analyzer=True,
            analyzer_params={"tokenizer": "whitespace"},
        )
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=1024)
        schema.add_field("record", DataType.VARCHAR, max_length=65_535)
        schema.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["tokens"],
                output_field_names=["sparse"],
            )
        )
        params = self.client().prepare_index_params()
        params.add_index(field_name="vector", metric_type="IP", **_vector_index(kind, rows))
        params.add_index(
            field_name="sparse",
            index_type="SPARSE_INVERTED_INDEX",
            metric_type="BM25",
            params={"bm25_k1": BM25_K1, "bm25_b": BM25_B},
        )
        if self._call("has_collection", collection):  # a failed attempt may leave it without its index
            self._call("drop_collection", collection)
        self._call("create_collection", collection, schema=schema, index_params=params)

    def _tiny_index(self) -> Any:
        params = self.client().prepare_index_params()
        params.add_index(field_name="v", index_type="FLAT", metric_type="L2")
        return params

    def _insert_chunks(
        self,
        collection: str,
        chunks: Sequence[Chunk],
        tokens: Sequence[list[str]],
        vectors: np.ndarray,
        first: int,
    ) -> None:
        rows = [
            {
                "row": first + i,
                "vector": vectors[i].astype(np.float32).tolist(),
                "tokens": " ".join(tokens[i]),
                "doc_id": chunk.doc_id,
                "record": json.dumps(chunk.record(), ensure_ascii=False),
            }
            for i, chunk in enumerate(chunks)
        ]
        for start in range(0, len(rows), BATCH_ROWS):
            self._call("insert", collection, data=rows[start : start + BATCH_ROWS])

    def _insert_records(self, collection: str, records: Sequence[tuple[str, Any]]) -> None:
        rows = []
        for doc_id, record in records:
            text = json.dumps(record, ensure_ascii=False)
            for part, start in enumerate(range(0, max(len(text), 1), SLICE_CHARS)):
                rows.append(
                    {
                        "key": f"{doc_id}\x1f{part}",
                        "doc_id": doc_id,
                        "part": part,
                        "data": text[start : start + SLICE_CHARS],
                        "v": [0.0, 0.0],
                    }
                )
        for start in range(0, len(rows), BATCH_ROWS):
            self._call("insert", collection, data=rows[start : start + BATCH_ROWS])

    def _records(self, collection: str, *, exclude_manifest: bool) -> Iterator[dict[str, Any]]:
        expr = f'doc_id != "{MANIFEST_DOC}"' if exclude_manifest else f'doc_id == "{MANIFEST_DOC}"'
        parts: dict[str, list[tuple[int, str]]] = {}
        for row in self._scan(collection, expr, ["doc_id", "part", "data"]):
            parts.setdefault(row["doc_id"], []).append((int(row["part"]), row["data"]))
        for slices in parts.values():
            try:
                yield json.loads("".join(text for _, text in sorted(slices)))
            except ValueError as e:
                raise _corrupt(f"简报记录无法解析（{e}）") from e

    def _manifest(self, collection: str) -> dict[str, Any]:
        found = list(self._records(f"{collection}_docs", exclude_manifest=False))
        if not found:
            raise _corrupt(f"版本 {collection} 没有清单")
        return found[0]

    def _scan(self, collection: str, expr: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        iterator = self._call(
            "query_iterator", collection, batch_size=1000, filter=expr, output_fields=fields
        )
        try:
            while batch := _next(iterator, self):
                yield from batch
        finally:
            iterator.close()

    def _holder(self, name: str) -> dict[str, Any]:
        try:
            return dict(json.loads(self._call("describe_collection", name).get("description") or "{}"))
        except (SearchEngineError, ValueError):
            return {}

    def _index_kind(self) -> str:
        if self.config.index != "auto":
            return self.config.index
        return "flat" if _is_lite(self.uri) else "hnsw"


class MilvusBackend:
    """``SearchBackend`` over one version's chunk collection; ``ids``: the Milvus row numbers
    of the loaded index's chunks, in order (position ``i`` of ``Index.chunks`` is ``ids[i]``)."""

    def __init__(self, store: MilvusStore, collection: str, ids: np.ndarray, kind: str) -> None:
        self.store = store
        self.collection = collection
        self.ids = ids
        self.kind = kind

    def dense(
        self, vector: np.ndarray, k: int, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.kind == "hnsw":
            params["params"] = {"ef": max(self.store.settings.retrieval.hnsw_ef_search, min(k, MAX_LIMIT))}
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
        wanted = self.ids[rows]
        found: dict[int, list[float]] = {}
        for start in range(0, len(wanted), MAX_LIMIT):
            batch = wanted[start : start + MAX_LIMIT]
            expr = f"row in [{','.join(map(str, batch))}]"
            for row in self.store._call(
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
        found = self.store._call(
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


def _client(uri: str, token: str, timeout: float) -> Any:
    """One client per engine and token, made on first use (a Lite file starts its engine)."""
    key = (uri, token)
    with _clients_lock:
        if key not in _clients:
            try:
                from pymilvus import MilvusClient
            except ImportError as e:
                raise MissingExtraError("Milvus 后端需要 pymilvus：pip install 'briefing-rag[milvus]'") from e
            for name in [*logging.root.manager.loggerDict, "pymilvus"]:  # our errors say it in Chinese
                if name.startswith("pymilvus"):
                    logging.getLogger(name).setLevel(logging.CRITICAL)
            if _is_lite(uri):
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
            try:
                _clients[key] = MilvusClient(uri=uri, token=token, timeout=timeout)
            except Exception as e:
                raise _engine_error(uri, timeout, e) from e
        return _clients[key]


def _engine_error(uri: str, timeout: float, error: Exception) -> SearchEngineError:
    text = str(error)
    where = f"Milvus（{_label(uri)}）"
    if "opened by another program" in text or "Open local milvus failed" in text:
        return SearchEngineError(
            f'{where}：这个 Milvus Lite 文件已被另一个进程打开（Milvus Lite 只供一个进程使用；多个进程共用一份语料请用 Milvus 服务，uri = "http://主机:19530"）'
        )
    if "Fail connecting" in text or "UNAVAILABLE" in text or "illegal connection" in text:
        return SearchEngineError(
            f"{where} 无法连接：服务没有启动、地址或端口不对，或网络不通（{timeout:g} 秒内未连上）"
        )
    if "DEADLINE_EXCEEDED" in text or "timeout" in text.lower():
        return SearchEngineError(f"{where} 超过 {timeout:g} 秒没有响应")
    if "UNIMPLEMENTED" in text:
        return SearchEngineError(f"{where} 不支持这项操作（Milvus Lite 只实现了部分接口）：{text[:160]}")
    return SearchEngineError(f"{where} 调用失败：{text[:300]}")


def _schema(description: str, texts: list[tuple[str, int]], part: bool = False) -> Any:
    """A small collection keyed by a string (the pointer, the lock, the document slices);
    Milvus wants a vector field in every collection, so each has a 2-dimensional ``v``."""
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, description=description)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=1100)
    for name, length in texts:
        schema.add_field(name, DataType.VARCHAR, max_length=length)
    if part:
        schema.add_field("part", DataType.INT64)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    return schema


def _vector_index(kind: str, rows: int) -> dict[str, Any]:
    if kind == "hnsw":
        return {"index_type": "HNSW", "params": HNSW}
    if kind == "ivf_flat":
        return {"index_type": "IVF_FLAT", "params": {"nlist": int(min(max(4 * rows**0.5, 1), 65_536))}}
    return {"index_type": "FLAT"}


def _next(iterator: Any, store: MilvusStore) -> list[dict[str, Any]]:
    try:
        return list(iterator.next())
    except Exception as e:
        raise _engine_error(store.uri, store.timeout, e) from e


def _resolve_uri(settings: Settings) -> str:
    uri = settings.milvus.uri
    if "://" in uri or uri.startswith("unix:"):
        return uri
    path = Path(uri)
    return str(path if path.is_absolute() else settings.home / path)


def _is_lite(uri: str) -> bool:
    return "://" not in uri and not uri.startswith("unix:")


def _label(uri: str) -> str:
    """The URI without credentials, for messages."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return uri


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)


def _corrupt(reason: str) -> IndexCorruptError:
    return IndexCorruptError(f"Milvus 中的索引不完整：{reason}，请运行 rag index --rebuild")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0
