"""The Milvus backend: the whole index in Milvus, so API servers on many machines share it.

Everything a server needs lives in Milvus, under the prefix ``[milvus] collection`` (here
``P``):

- ``P_v<stamp>`` — one row per chunk: ``row`` (its number), ``vector`` (dense, inner product
  over L2-normalised vectors), ``tokens`` (our jieba + pinyin tokens, space-separated, in a
  whitespace-analysed field) whose ``BM25`` function fills ``sparse``, ``doc_id``, and the
  chunk ``record`` (JSON). BM25 uses ``k1``/``b`` equal to bm25s's, so the keyword ranking is
  the local backend's (Milvus's scores are (k1+1) times bm25s's; fusion divides by the best).
- ``P_v<stamp>_docs`` — each briefing's record (cleaned text, anchors, description) in slices
  (``kind`` "doc"), and the version's manifest under each revision (``kind`` "manifest").
- ``P_meta`` — the pointer row naming the current version, the one before it, and the
  revision (of the manifest) that is current; every write increments it.

Writes: a rebuild (or an update that changes briefings) writes a new ``P_v…`` pair and then
switches the pointer, one row upsert: readers see the old version or the new one, never a mix,
and a writer killed before the switch leaves the old one answering (the next writer drops what
it left). Milvus Lite 2.5.1 does not implement collection aliases (UNIMPLEMENTED), so the
pointer is a row, the same on Lite, standalone and distributed. The version before the current
one is kept until the next write, so a server still reading it keeps answering while it loads
the new one. Additions and removals change the current version in place: rows are added
before, and deleted after, the manifest of the next revision lists them (or no longer does),
and readers load only the rows their manifest lists. One writer at a time across machines:
the lock is the collection ``P_lock``, whose creation fails while another writer's (with a
different description: host, pid, start) exists.

Milvus Lite (a file ``uri``) is the real Milvus engine embedded in one process; several
processes share a corpus through a Milvus server (``uri = "http://host:19530"``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from rag.backends.local import VectorIndexKind
from rag.backends.milvus_engine import MilvusEngine, keyed_schema, vector_index_params
from rag.backends.milvus_search import MilvusBackend
from rag.config import Settings
from rag.errors import IndexCorruptError, IndexLockedError, IndexMissingError, SearchEngineError
from rag.files import process_alive
from rag.store import Index, IndexRows, by_name, check_manifest, new_manifest
from rag.types import Chunk, Document

log = logging.getLogger(__name__)

SLICE_CHARS = 16_000  # of a JSON record per row: at most 48 KB of UTF-8, under VARCHAR's 65,535 bytes
BM25_K1, BM25_B = 1.5, 0.75  # bm25s's defaults, which the local backend uses
LOAD_ATTEMPTS = 3


class MilvusStore:
    """The ``IndexStore`` of ``retrieval.backend = "milvus"``."""

    keeps_sentences = False  # answers embed their sentences (rag.sentence_vectors is local only)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config = settings.milvus
        self.engine = MilvusEngine(settings)
        self.prefix = self.config.collection
        self.meta = f"{self.prefix}_meta"

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
            return self._manifest(pointer["collection"], pointer["revision"])
        except IndexCorruptError:
            return None

    def load(self, embedder_spec: str | None = None, *, with_tokens: bool = False) -> Index:
        """The current version, as its manifest describes it: rows of briefings a writer is
        adding or removing right now (in place) are left out until the manifest lists them."""
        for attempt in range(1, LOAD_ATTEMPTS + 1):
            pointer = self._pointer()
            if pointer is None:
                raise IndexMissingError(f"Milvus（{self.describe()}）中还没有索引。请先运行 rag index")
            try:
                collection, manifest, rows, documents = self._read(pointer, embedder_spec, with_tokens)
                version = f"{collection}#{pointer['revision']}"
                break
            except IndexCorruptError:
                if attempt == LOAD_ATTEMPTS or self._pointer() == pointer:
                    raise  # not a writer switching versions under us
        ids = np.array([int(r["row"]) for r in rows], dtype=np.int64)
        index = Index(
            path=Path(collection),
            manifest=manifest,
            chunks=[Chunk.from_record(json.loads(r["record"])) for r in rows],
            vectors=None,
            bm25=None,
            documents=by_name(documents),
            backend=MilvusBackend(
                self.engine,
                collection,
                ids,
                manifest["vector_index"],
                int(manifest["dim"]),
                self.settings.retrieval.hnsw_ef_search,
            ),
            version=version,
        )
        if with_tokens:
            vars(index)["tokens"] = [r["tokens"].split(" ") if r["tokens"] else [] for r in rows]
        return index

    def _read(
        self, pointer: dict[str, Any], embedder_spec: str | None, with_tokens: bool
    ) -> tuple[str, dict[str, Any], list[dict[str, Any]], list[Document]]:
        """The version ``pointer`` names: its manifest, the chunk rows and the documents it lists."""
        collection = pointer["collection"]
        manifest = self._manifest(collection, pointer["revision"])
        check_manifest(manifest, embedder_spec)
        listed = manifest["documents"]
        fields = ["row", "doc_id", "record", *(["tokens"] if with_tokens else [])]
        rows = [r for r in self.engine.scan(collection, "", fields) if r["doc_id"] in listed]
        documents = [
            Document.from_record(r) for r in self._records(collection, "doc") if r["doc_id"] in listed
        ]
        if len(rows) != manifest.get("chunks") or len(documents) != len(listed):
            raise _corrupt(
                f"{len(rows)} 条分块记录、{len(documents)} 份简报，清单中为 {manifest.get('chunks')} 条、{len(listed)} 份"
            )
        rows.sort(key=lambda r: int(r["row"]))
        return collection, manifest, rows, documents

    def describe(self) -> str:
        return f"milvus（{self.engine.describe()}，集合 {self.prefix}）"

    # -- writing -------------------------------------------------------------------------
    def write(
        self, rows: IndexRows, *, vector_index: VectorIndexKind = "auto", appending_to: Index | None = None
    ) -> None:
        """A new version made current by switching the pointer; or, ``appending_to`` the
        current version, the new briefings' rows added to it in place. ``vector_index`` is the
        local backend's setting: Milvus's index is ``[milvus] index``."""
        base = appending_to
        total = len(rows.chunks) + (len(base.chunks) if base is not None else 0)
        pointer = self._pointer()
        first = 0
        if base is not None:
            if pointer is None or base.path.name != pointer["collection"]:
                raise _corrupt("要追加的版本已不是当前版本")
            collection, kind = pointer["collection"], str(base.manifest["vector_index"])
            first = int(base.manifest.get("next_row", len(base.chunks)))
            # What a writer killed before publishing left of these briefings (rows, records).
            self._delete_documents(collection, [d.doc_id for d in rows.documents])
            self.engine.call("delete", collection, filter=f"row >= {first}")
        else:
            collection = f"{self.prefix}_v{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}"
            kind = self._create(collection, int(rows.vectors.shape[1]), total)
        self._insert_chunks(collection, rows, first)
        self._insert_records(collection, "doc", [(d.doc_id, d.record()) for d in rows.documents])
        manifest = new_manifest(rows, total=total, vector_index=kind, appending_to=base)
        self._publish(collection, {**manifest, "next_row": first + len(rows.chunks)}, pointer)

    def _publish(self, collection: str, manifest: dict[str, Any], pointer: dict[str, Any] | None) -> None:
        """Make ``manifest`` the current one: written under the next revision, flushed, then
        the pointer switched to it (one row); the earlier manifests go after."""
        revision = (pointer["revision"] if pointer else 0) + 1
        self._insert_records(collection, "manifest", [(str(revision), manifest)])
        for name in (collection, f"{collection}_docs"):
            self.engine.call("flush", name)
        self._switch(collection, pointer, revision)
        # The manifest before it stays: a reader that read the old pointer may still be loading.
        expr = f'kind == "manifest" and doc_id not in ["{revision}", "{revision - 1}"]'
        self.engine.call("delete", f"{collection}_docs", filter=expr)

    def remove(self, index: Index, doc_ids: Sequence[str]) -> bool:
        """Delete the briefings' chunks and records from the current version (both the vectors
        and BM25, whose statistics follow at once), rewrite its manifest, bump the revision."""
        pointer = self._pointer()
        if pointer is None or index.path.name != pointer["collection"]:
            return False
        collection, gone = pointer["collection"], set(doc_ids)
        manifest = {
            **index.manifest,
            "chunks": sum(1 for chunk in index.chunks if chunk.doc_id not in gone),
            "documents": {k: v for k, v in index.manifest["documents"].items() if k not in gone},
            "created_at": _now(),
        }
        self._publish(collection, manifest, pointer)  # readers stop listing them first, then:
        self._delete_documents(collection, doc_ids)
        return True

    def _delete_documents(self, collection: str, doc_ids: Sequence[str]) -> None:
        """Delete the chunk rows and records of ``doc_ids`` from ``collection``."""
        if not doc_ids:
            return
        names = ", ".join(_literal(doc_id) for doc_id in doc_ids)
        self.engine.call("delete", collection, filter=f"doc_id in [{names}]")
        self.engine.call("delete", f"{collection}_docs", filter=f'kind == "doc" and doc_id in [{names}]')

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One writer across machines: creating ``P_lock`` fails while another writer holds it."""
        name = f"{self.prefix}_lock"
        holder = {"host": socket.gethostname(), "pid": os.getpid(), "since": _now(), "id": uuid.uuid4().hex}
        for attempt in range(2):
            try:
                self.engine.call(
                    "create_collection",
                    name,
                    schema=keyed_schema(json.dumps(holder), []),
                    index_params=self._tiny_index(),
                    consistency_level="Strong",
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
                    and not process_alive(int(other.get("pid", 0)))
                ):
                    log.warning("removing the Milvus write lock of a writer that is gone: %s", other)
                    self.engine.call("drop_collection", name)
                    continue
                who = (
                    f"{other.get('host')} 上的进程 {other.get('pid')}，{other.get('since')} 开始"
                    if other
                    else "另一个进程"
                )
                raise IndexLockedError(
                    f"另一个写入者（{who}）正在写入 Milvus 中的索引 {self.prefix}，请等它完成后再试"
                    f"（若确认它已不在运行，删除 Milvus 中的集合 {name} 即可解锁）"
                ) from None
        try:
            self._drop_leftovers()
            yield
        finally:
            self.engine.call("drop_collection", name)

    # -- Milvus --------------------------------------------------------------------------
    def client(self) -> Any:
        return self.engine.client()

    def _pointer(self) -> dict[str, Any] | None:
        if not self.engine.call("has_collection", self.meta):
            return None
        found = self.engine.call("query", self.meta, filter='key == "current"', output_fields=["value"])
        return json.loads(found[0]["value"]) if found else None

    def _switch(self, collection: str, pointer: dict[str, Any] | None, revision: int) -> None:
        if pointer is None and not self.engine.call("has_collection", self.meta):
            self.engine.call(
                "create_collection",
                self.meta,
                schema=keyed_schema("briefing-rag pointer", [("value", 65_535)]),
                index_params=self._tiny_index(),
                consistency_level="Strong",
            )
        previous = (
            pointer["collection"]
            if pointer and pointer["collection"] != collection
            else (pointer or {}).get("previous")
        )
        value = {"collection": collection, "previous": previous, "revision": revision, "at": _now()}
        self.engine.call(
            "upsert", self.meta, data=[{"key": "current", "value": json.dumps(value), "v": [0.0, 0.0]}]
        )
        self.engine.call("flush", self.meta)
        self._drop_leftovers(value)

    def _drop_leftovers(self, pointer: dict[str, Any] | None = None) -> None:
        """Drop every version but the current one and the one before it (what a killed writer
        left, and versions no server can still be reading); ``pointer``: the one just written."""
        pointer = pointer or self._pointer() or {}
        keep = {pointer.get("collection"), pointer.get("previous")}
        ours = re.compile(rf"{re.escape(self.prefix)}_v\d{{20}}(_docs)?")  # not another prefix's
        for name in self.engine.call("list_collections"):
            if ours.fullmatch(name) and name.removesuffix("_docs") not in keep:
                self.engine.call("drop_collection", name)

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
        texts = [("doc_id", 1024), ("kind", 16), ("data", 65_535)]
        docs = keyed_schema("briefing-rag documents and manifests", texts, part=True)
        self.engine.call(
            "create_collection",
            f"{collection}_docs",
            schema=docs,
            index_params=self._tiny_index(),
            consistency_level="Strong",
        )
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
        params.add_index(field_name="vector", metric_type="IP", **vector_index_params(kind, rows))
        params.add_index(
            field_name="sparse",
            index_type="SPARSE_INVERTED_INDEX",
            metric_type="BM25",
            params={"bm25_k1": BM25_K1, "bm25_b": BM25_B},
        )
        if self.engine.call("has_collection", collection):  # a failed attempt may leave it without its index
            self.engine.call("drop_collection", collection)
        self.engine.call(
            "create_collection", collection, schema=schema, index_params=params, consistency_level="Strong"
        )

    def _tiny_index(self) -> Any:
        params = self.client().prepare_index_params()
        params.add_index(field_name="v", index_type="FLAT", metric_type="L2")
        return params

    def _insert_chunks(self, collection: str, rows: IndexRows, first: int) -> None:
        data = [
            {
                "row": first + i,
                "vector": rows.vectors[i].astype(np.float32).tolist(),
                "tokens": " ".join(rows.tokens[i]),
                "doc_id": chunk.doc_id,
                "record": json.dumps(chunk.record(), ensure_ascii=False),
            }
            for i, chunk in enumerate(rows.chunks)
        ]
        self.engine.insert(collection, data)

    def _insert_records(self, collection: str, kind: str, records: Sequence[tuple[str, Any]]) -> None:
        """JSON records (``kind`` "doc": briefings by name; "manifest": by revision) in slices."""
        rows = []
        for doc_id, record in records:
            text = json.dumps(record, ensure_ascii=False)
            for part, start in enumerate(range(0, max(len(text), 1), SLICE_CHARS)):
                # A digest, not the name: pymilvus pages through a query by primary key with
                # expressions it does not escape, so a quote in a key would break every read.
                key = f"{kind}:{hashlib.sha1(doc_id.encode()).hexdigest()}:{part}"
                data = text[start : start + SLICE_CHARS]
                rows.append(
                    {"key": key, "doc_id": doc_id, "kind": kind, "part": part, "data": data, "v": [0.0, 0.0]}
                )
        self.engine.insert(f"{collection}_docs", rows)

    def _records(self, collection: str, kind: str, doc_id: str | None = None) -> Iterator[dict[str, Any]]:
        expr = f'kind == "{kind}"' + (f' and doc_id == "{doc_id}"' if doc_id is not None else "")
        parts: dict[str, list[tuple[int, str]]] = {}
        for row in self.engine.scan(f"{collection}_docs", expr, ["doc_id", "part", "data"]):
            parts.setdefault(row["doc_id"], []).append((int(row["part"]), row["data"]))
        for slices in parts.values():
            try:
                yield json.loads("".join(text for _, text in sorted(slices)))
            except ValueError as e:
                raise _corrupt(f"记录无法解析（{e}）") from e

    def _manifest(self, collection: str, revision: int) -> dict[str, Any]:
        found = list(self._records(collection, "manifest", str(revision)))
        if not found:
            raise _corrupt(f"版本 {collection} 没有第 {revision} 次修订的清单")
        return found[0]

    def _holder(self, name: str) -> dict[str, Any]:
        try:
            return dict(json.loads(self.engine.call("describe_collection", name).get("description") or "{}"))
        except (SearchEngineError, ValueError):
            return {}

    def _index_kind(self) -> str:
        if self.config.index != "auto":
            return self.config.index
        return "flat" if self.engine.lite else "hnsw"


def _literal(text: str) -> str:
    """``text`` as a string in a Milvus filter: only ``\\`` and ``"`` are escaped (the parser
    takes other characters, tabs included, as they are)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _corrupt(reason: str) -> IndexCorruptError:
    return IndexCorruptError(f"Milvus 中的索引不完整：{reason}，请运行 rag index --rebuild")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
