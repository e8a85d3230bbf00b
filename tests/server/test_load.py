"""Answers waiting on a slow LLM backend: they take their own threads, never those searches need;
beyond ``[server] max_concurrent_answers`` they queue, and a slot always comes back.

The fake LLM holds every request it gets until the test releases it, so "while the answers are
still pending" is a state the test reaches and checks, not a matter of timing; the client
timeouts below only stop a failing test from hanging.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from rag.config import Settings
from tests.fixtures.servers import FakeLLM, llm_settings
from tests.server.test_llm_backend import QUESTION, TRAINING, passage_number

pytestmark = pytest.mark.slow  # long runs: outside the fast lane (-m "not slow")

OLD_POOL = 40  # Starlette's default thread pool (anyio's limiter), which answers used to share with searches
ASKS = 50
GUARD_S = 60  # a request that has not answered by then is stuck


def _settings(settings: Settings, fake: FakeLLM, **server: Any) -> Settings:
    settings = llm_settings(settings, fake, timeout_s=300)  # held replies must not time out
    return settings.model_copy(update={"server": settings.server.model_copy(update=server)})


def _ask(url: str) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=GUARD_S * 2) as client:
        return client.post("/api/ask", json={"question": QUESTION, "answerer": "llm"})


@contextmanager
def _released(fake: FakeLLM) -> Iterator[None]:
    """Hold the fake's replies for the block; release them however the block ends."""
    fake.hold()
    try:
        yield
    finally:
        fake.release()


def test_answers_held_by_a_slow_llm_leave_searches_and_health_answering(
    live_app: Callable[..., str], mini_module_index: Settings, fake_llm: FakeLLM
) -> None:
    # A limit above the old pool: with answers in the default pool, the 41st would wait for a thread
    # and the search below for one too.
    limit = OLD_POOL + 5
    url = live_app(_settings(mini_module_index, fake_llm, max_concurrent_answers=limit))
    api = httpx.Client(base_url=url, timeout=GUARD_S)
    n = passage_number(api, TRAINING)
    fake_llm.script(*[f"{TRAINING}[{n}]。"] * ASKS)
    with _released(fake_llm), ThreadPoolExecutor(ASKS) as pool:
        asks = [pool.submit(_ask, url) for _ in range(ASKS)]
        fake_llm.wait_until_held(
            OLD_POOL
        )  # as many answers waiting on the backend as the old pool had threads

        search = api.post("/api/search", json={"question": QUESTION, "k": 3})
        health = api.get("/api/health")
        assert search.status_code == 200 and TRAINING in search.json()["passages"][0]["text"]
        assert health.status_code == 200 and health.json()["ready"]

        fake_llm.wait_until_held(limit)
        assert api.post("/api/search", json={"question": QUESTION}).status_code == 200
        assert not any(
            ask.done() for ask in asks
        )  # all still pending: `limit` at the backend, the rest queued
        assert fake_llm.held == limit

        fake_llm.release()
        responses = [ask.result() for ask in asks]
    assert [r.status_code for r in responses] == [200] * ASKS
    assert {r.json()["answer"] for r in responses} == {f"{TRAINING}[{n}]。"}
    assert fake_llm.peak_held == limit  # the queued ones went to the backend only as slots came free
    assert len(fake_llm.requests) == ASKS
    api.close()


def test_answers_beyond_the_queue_get_a_chinese_503_at_once_and_the_queued_one_is_served(
    live_app: Callable[..., str], mini_module_index: Settings, fake_llm: FakeLLM
) -> None:
    url = live_app(_settings(mini_module_index, fake_llm, max_concurrent_answers=1, max_queued_answers=1))
    api = httpx.Client(base_url=url, timeout=GUARD_S)
    fake_llm.script(*[f"{TRAINING}[1]。"] * 3)
    with _released(fake_llm), ThreadPoolExecutor(3) as pool:
        first = pool.submit(_ask, url)
        fake_llm.wait_until_held(1)  # the only slot is taken until the backend answers
        # Two more: one takes the only place in the queue, the other is turned away at once.
        queued, refused = _first_done(pool.submit(_ask, url), pool.submit(_ask, url))
        busy = refused.result()
        assert busy.status_code == 503 and busy.headers["retry-after"]
        assert busy.json()["error"]["code"] == "busy"
        message = busy.json()["error"]["message"]
        assert "服务繁忙" in message and "上限（1 个）" in message and "也已满（1 个）" in message
        chat = {"model": "extractive", "messages": [{"role": "user", "content": QUESTION}]}
        busy_v1 = api.post("/v1/chat/completions", json=chat)  # the queue is still full
        assert busy_v1.status_code == 429 and busy_v1.headers["retry-after"]  # what OpenAI clients retry on
        assert busy_v1.json()["error"]["type"] == "rate_limit_error"
        assert busy_v1.json()["error"]["code"] == "rate_limit_exceeded"
        assert api.post("/api/search", json={"question": QUESTION}).status_code == 200
        assert not first.done() and not queued.done()

        fake_llm.release()
        assert first.result().status_code == 200
        assert queued.result().status_code == 200
    assert api.post("/api/ask", json={"question": QUESTION}).status_code == 200  # the slot came back
    assert len(fake_llm.requests) == 2
    api.close()


def _first_done(*futures: Future[httpx.Response]) -> tuple[Future[httpx.Response], Future[httpx.Response]]:
    """(the one still pending, the one that answered) once exactly one of two has answered."""
    done, pending = wait(futures, timeout=GUARD_S, return_when=FIRST_COMPLETED)
    assert len(done) == 1, f"{len(done)} of 2 requests answered"
    return pending.pop(), done.pop()


def test_a_client_gone_before_its_stream_started_gives_its_slot_back(
    live_app: Callable[..., str], mini_module_index: Settings, fake_llm: FakeLLM
) -> None:
    url = live_app(_settings(mini_module_index, fake_llm, max_concurrent_answers=1))
    host, port = urlsplit(url).hostname, urlsplit(url).port
    body = json.dumps({"question": QUESTION, "answerer": "llm", "stream": True}).encode()
    request = (
        f"POST /api/ask HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    fake_llm.script(f"{TRAINING}[1]。", f"{TRAINING}[1]。")
    with _released(fake_llm), socket.create_connection((host, port)) as gone:
        gone.sendall(request)
        fake_llm.wait_until_held(1)
    # The client hung up while its answer waited on the backend; once the backend answers, the
    # stream has nobody to go to, and the next answer must still get the slot.
    assert _ask(url).status_code == 200
    assert len(fake_llm.requests) == 2
