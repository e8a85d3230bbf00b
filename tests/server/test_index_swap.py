"""Index versions swapped under a running server: requests keep being answered throughout."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import httpx

from rag.config import Settings
from tests.fixtures.corpus import REPO

NEW_BRIEFING = "【雪岭算力】\n雪岭高新区设立冰川算力中心，总投资12亿元，利用低温气候自然散热。\n"


def test_an_index_written_by_rag_index_beside_the_server_is_picked_up_without_dropping_requests(
    live_app: Callable[..., str], mini_index: Settings
) -> None:
    url = live_app(mini_index)
    statuses: list[int] = []
    stop = threading.Event()

    def keep_searching() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while not stop.is_set():
                statuses.append(
                    client.post("/api/search", json={"question": "星火贷最高额度", "k": 3}).status_code
                )

    clients = [threading.Thread(target=keep_searching) for _ in range(4)]
    for client in clients:
        client.start()
    try:
        (mini_index.data_dir / "雪岭简报.txt").write_text(NEW_BRIEFING, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "rag", "index"],
            cwd=REPO,
            env={**os.environ, "RAG_HOME": str(mini_index.home)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        with httpx.Client(base_url=url, timeout=60) as api:
            deadline = time.monotonic() + 60
            while "雪岭简报.txt" not in {d["doc"] for d in api.get("/api/documents").json()}:
                assert time.monotonic() < deadline, "the server never switched to the new index"
                time.sleep(0.2)
            answer = api.post("/api/ask", json={"question": "冰川算力中心总投资多少？"}).json()
    finally:
        stop.set()
        for client in clients:
            client.join()
    assert "12亿元" in answer["answer"] and {c["doc"] for c in answer["citations"]} == {"雪岭简报.txt"}
    assert statuses and set(statuses) == {200}
