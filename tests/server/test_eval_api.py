"""Evaluation over HTTP, as the page's 评测 tab drives it: upload a set, run it, read, compare."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rag.config import Settings
from tests.fixtures.servers import api_client

SET = [
    {
        "id": "m1",
        "question": "蓝色创业训练营有多少名创业者参加？",
        "answerable": True,
        "evidence_any": ["共有 240 名创业者参加培训"],
        "answer_keywords": ["240"],
        "source": "海港高新区通讯.md",
        "type": "number",
    },
    {"id": "m2", "question": "火星基地的氧气供应方案是什么？", "answerable": False, "type": "offtopic"},
]


@pytest.fixture(scope="module")
def api(mini_module_index: Settings) -> Iterator[httpx.Client]:
    with api_client(mini_module_index) as client:
        yield client


def upload(api: httpx.Client, name: str, lines: list[Any]) -> httpx.Response:
    content = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n"
    return api.post("/api/eval/sets", files={"file": (name, content.encode(), "application/jsonl")})


def run_to_the_end(api: httpx.Client, set_name: str) -> str:
    started = api.post("/api/eval/runs", json={"set": set_name})
    assert started.status_code == 202 and started.json()["state"] == "running"
    deadline = time.monotonic() + 300
    while (status := api.get("/api/eval/status").json())["state"] == "running":
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.2)
    assert status["state"] == "done", status
    return str(status["run"])


def test_upload_run_read_download_and_compare(api: httpx.Client) -> None:
    uploaded = upload(api, "我的评测.jsonl", SET)
    assert uploaded.status_code == 200 and uploaded.json() == {"name": "我的评测.jsonl", "items": 2}
    assert {"name": "我的评测.jsonl", "items": 2} in api.get("/api/eval/sets").json()

    first = run_to_the_end(api, "我的评测.jsonl")
    report = api.get(f"/api/eval/runs/{first}").json()
    assert report["summary"][0].startswith("- **可回答的 1 道题**")
    assert "1 道正确拒答" in report["summary"][1] and report["refusal_accuracy"] == 1.0
    verdicts = {item["id"]: item["verdict"] for item in report["items"]}  # in the conclusion's words
    assert verdicts["m2"] == "正确拒答" and verdicts["m1"].startswith("作答")
    assert [r["run"] for r in api.get("/api/eval/runs").json()][0] == first

    markdown = api.get(f"/api/eval/runs/{first}/files/report.md")
    assert markdown.status_code == 200 and markdown.text.startswith("# 评测报告\n\n## 结论")
    chart = api.get(f"/api/eval/runs/{first}/files/chart.png")
    assert chart.headers["content-type"] == "image/png" and chart.content.startswith(b"\x89PNG")

    second = run_to_the_end(api, "我的评测.jsonl")
    assert second != first
    comparison = api.get("/api/eval/compare", params={"a": first, "b": second}).json()["markdown"]
    assert comparison.startswith("# 评测对比")


def test_a_malformed_set_is_refused_with_its_line_and_nothing_is_kept(api: httpx.Client) -> None:
    response = upload(api, "坏的.jsonl", [SET[0], {"id": "x", "question": "缺少字段"}])
    assert response.status_code == 400 and response.json()["error"]["code"] == "eval_set_error"
    assert "第 2 行" in response.json()["error"]["message"]
    assert "坏的.jsonl" not in {s["name"] for s in api.get("/api/eval/sets").json()}


@pytest.mark.parametrize(
    "path", ["/api/eval/runs/不存在", "/api/eval/runs/.hidden", "/api/eval/compare?a=x&b=y"]
)
def test_an_unknown_run_is_a_404_in_chinese(api: httpx.Client, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 404 and "找不到评测结果" in response.json()["error"]["message"]


def test_an_unknown_set_cannot_be_run(api: httpx.Client) -> None:
    response = api.post("/api/eval/runs", json={"set": "没有.jsonl"})
    assert response.status_code == 404 and "找不到评测集" in response.json()["error"]["message"]


def test_a_run_name_cannot_reach_outside_the_runs_folder(api: httpx.Client) -> None:
    response = api.get("/api/eval/runs/..%2F..%2Fdata/files/report.md")
    assert response.status_code == 404 and response.json()["error"]["message"]
