"""Exporting answers over HTTP: the Word document and the Markdown the page downloads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from rag.config import Settings
from rag.word import DOCX_MEDIA_TYPE
from tests.fixtures.servers import api_client
from tests.rag.test_drafts import footnotes


@pytest.fixture(scope="module")
def api(mini_module_index: Settings) -> Iterator[httpx.Client]:
    with api_client(mini_module_index) as client:
        yield client


def turn(api: httpx.Client, question: str) -> dict[str, Any]:
    """What the page sends for one answered question: fields of the /api/ask response."""
    record = api.post("/api/ask", json={"question": question}).json()
    citations = [{k: c[k] for k in ("n", "reference", "title", "section")} for c in record["citations"]]
    return {
        "question": question,
        **{k: record[k] for k in ("answer", "refused", "refusal_reason")},
        "citations": citations,
    }


def test_a_conversation_exports_to_word_with_footnotes_across_its_answers(api: httpx.Client) -> None:
    turns = [turn(api, "蓝色创业训练营有多少名创业者参加？"), turn(api, "绿洲高新区的星火贷最高能贷多少？")]
    response = api.post("/api/export/docx", json={"title": "创业与金融", "turns": turns})
    assert response.status_code == 200 and response.headers["content-type"] == DOCX_MEDIA_TYPE
    name = re.search(r"filename\*=UTF-8''(.+)$", response.headers["content-disposition"])
    assert name and unquote(name.group(1)) == "创业与金融.docx"
    referenced, texts = footnotes(response.content)
    expected = [
        c["reference"]
        for t in turns
        for c in t["citations"]
        for _ in re.findall(rf"\[{c['n']}\]", t["answer"])
    ]
    assert len(referenced) == len(set(referenced)) == len(expected) >= 2
    assert sorted(texts) == sorted(expected)


def test_a_conversation_exports_to_markdown_with_unique_footnote_ids(api: httpx.Client) -> None:
    turns = [turn(api, "蓝色创业训练营有多少名创业者参加？")] * 2
    response = api.post("/api/export/markdown", json={"title": "对话", "turns": turns})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/markdown")
    ids = re.findall(r"^\[\^([\w-]+)\]:", response.text, re.M)
    assert ids and len(ids) == len(set(ids)) and "## 问：蓝色创业训练营" in response.text


@pytest.mark.parametrize(
    "body",
    [
        {"turns": []},
        {"turns": [{"question": "", "answer": "x"}]},
        {"turns": [{"question": "问", "answer": "x", "citations": [{"n": 0}]}]},
    ],
)
def test_a_malformed_export_is_refused_in_chinese(api: httpx.Client, body: dict[str, Any]) -> None:
    response = api.post("/api/export/docx", json=body)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"
