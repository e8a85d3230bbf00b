"""Talking to Milvus: one client per engine, every call under the time limit, every failure a
Chinese ``SearchEngineError``; and the small schemas and index parameters the store uses."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import MissingExtraError, SearchEngineError

MAX_LIMIT = 16_384  # Milvus's largest search/query limit
BATCH_ROWS = 500
HNSW = {"M": 32, "efConstruction": 200}  # as the local backend's FAISS HNSW

_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


class MilvusEngine:
    """The engine at ``[milvus] uri``: a Lite file (relative to the home) or a server."""

    def __init__(self, settings: Settings) -> None:
        config = settings.milvus
        self.uri = resolve_uri(settings)
        self.token = config.token.get_secret_value() if config.token else ""
        self.timeout = config.timeout_s

    @property
    def lite(self) -> bool:
        """Whether ``uri`` is a Milvus Lite file (embedded in this process)."""
        return "://" not in self.uri and not self.uri.startswith("unix:")

    def client(self) -> Any:
        """One client per engine and token, made on first use (a Lite file starts its engine)."""
        key = (self.uri, self.token)
        with _clients_lock:
            if key not in _clients:
                _clients[key] = self._connect()
            return _clients[key]

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``client.method(...)`` with the time limit; every failure becomes a Chinese error."""
        client = self.client()
        try:
            return getattr(client, method)(*args, timeout=self.timeout, **kwargs)
        except Exception as e:  # pymilvus raises MilvusException and raw grpc errors alike
            raise self.error(e) from e

    def insert(self, collection: str, rows: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(rows), BATCH_ROWS):
            self.call("insert", collection, data=list(rows[start : start + BATCH_ROWS]))

    def scan(self, collection: str, expr: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        """Every row matching ``expr`` (no limit), in batches."""
        iterator = self.call("query_iterator", collection, batch_size=1000, filter=expr, output_fields=fields)
        try:
            while True:
                try:
                    batch = list(iterator.next())
                except Exception as e:
                    raise self.error(e) from e
                if not batch:
                    return
                yield from batch
        finally:
            iterator.close()

    def describe(self) -> str:
        """The URI without credentials, for messages."""
        if "@" in self.uri and "://" in self.uri:
            scheme, rest = self.uri.split("://", 1)
            return f"{scheme}://{rest.split('@', 1)[1]}"
        return self.uri

    def error(self, error: Exception) -> SearchEngineError:
        text = str(error)
        where = f"Milvus（{self.describe()}）"
        if "opened by another program" in text or "Open local milvus failed" in text:
            return SearchEngineError(
                f"{where}：这个 Milvus Lite 文件已被另一个进程打开。Milvus Lite 只供一个进程使用；"
                '多个进程或多台服务器共用一份语料请用 Milvus 服务（uri = "http://主机:19530"）'
            )
        if "Fail connecting" in text or "UNAVAILABLE" in text or "illegal connection" in text:
            return SearchEngineError(
                f"{where} 无法连接：服务没有启动、地址或端口不对，或网络不通（{self.timeout:g} 秒内未连上）"
            )
        if "DEADLINE_EXCEEDED" in text or "timeout" in text.lower():
            return SearchEngineError(f"{where} 超过 {self.timeout:g} 秒没有响应")
        if "UNIMPLEMENTED" in text:
            return SearchEngineError(f"{where} 不支持这项操作（Milvus Lite 只实现了部分接口）：{text[:160]}")
        return SearchEngineError(f"{where} 调用失败：{text[:300]}")

    def _connect(self) -> Any:
        try:
            from pymilvus import MilvusClient
        except ImportError as e:
            raise MissingExtraError("Milvus 后端需要 pymilvus：pip install 'briefing-rag[milvus]'") from e
        for name in [*logging.root.manager.loggerDict, "pymilvus"]:  # our errors say it in Chinese
            if name.startswith("pymilvus"):
                logging.getLogger(name).setLevel(logging.CRITICAL)
        if self.lite:
            Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
        # milvus_lite logs its failures on the root logger, in English: our error says it instead.
        logging.disable(logging.ERROR)
        try:
            return MilvusClient(uri=self.uri, token=self.token, timeout=self.timeout)
        except Exception as e:
            raise self.error(e) from e
        finally:
            logging.disable(logging.NOTSET)


def resolve_uri(settings: Settings) -> str:
    uri = settings.milvus.uri
    if "://" in uri or uri.startswith("unix:"):
        return uri
    path = Path(uri)
    return str(path if path.is_absolute() else settings.home / path)


def keyed_schema(description: str, texts: list[tuple[str, int]], part: bool = False) -> Any:
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


def vector_index_params(kind: str, rows: int) -> dict[str, Any]:
    if kind == "hnsw":
        return {"index_type": "HNSW", "params": HNSW}
    if kind == "ivf_flat":
        return {"index_type": "IVF_FLAT", "params": {"nlist": int(min(max(4 * rows**0.5, 1), 65_536))}}
    return {"index_type": "FLAT"}
