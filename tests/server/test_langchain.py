"""LangChain's ``langchain-openai`` against /v1 over loopback: stock ``ChatOpenAI`` gets the
answer, usage and streaming; ``ChatBriefingRAG`` also gets the citations in response_metadata."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import reduce
from operator import add

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_openai import ChatOpenAI

from rag.config import Settings
from rag.langchain import ChatBriefingRAG

QUESTION = "绿洲高新区的星火贷最高能贷多少？"
MARKER = re.compile(r"\[(\d+)\]")


@pytest.fixture
def v1(live_app: Callable[..., str], mini_module_index: Settings) -> str:
    return live_app(mini_module_index) + "/v1"


def test_stock_chat_openai_invokes_and_streams(v1: str) -> None:
    llm = ChatOpenAI(base_url=v1, api_key="loopback", model="briefing-rag", max_retries=0)  # type: ignore[arg-type]
    message = llm.invoke(QUESTION)
    assert isinstance(message, AIMessage)
    assert "500万元" in message.text and "参考来源" in message.text
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.usage_metadata and message.usage_metadata["output_tokens"] > 0

    chunks = list(
        ChatOpenAI(base_url=v1, api_key="loopback", model="briefing-rag", stream_usage=True).stream(QUESTION)
    )  # type: ignore[arg-type]
    streamed = reduce(add, chunks)
    assert isinstance(streamed, AIMessageChunk)
    assert streamed.text == message.text
    assert streamed.usage_metadata == message.usage_metadata


def test_chat_briefing_rag_keeps_the_citations(v1: str) -> None:
    llm = ChatBriefingRAG(base_url=v1, api_key="loopback", max_retries=0)  # type: ignore[arg-type]
    message = llm.invoke([HumanMessage(QUESTION)])
    citations = message.response_metadata["citations"]
    answer = message.text.split("\n\n参考来源")[0]
    assert {int(n) for n in MARKER.findall(answer)} == {c["n"] for c in citations}
    assert all(c["title"] == "科技金融动态" and c["page"].startswith("第") for c in citations)
    assert message.response_metadata["refused"] is False

    streamed = reduce(add, llm.stream(QUESTION))
    assert streamed.response_metadata["citations"] == citations
    assert streamed.text == message.text
    assert streamed.usage_metadata and streamed.usage_metadata["total_tokens"] > 0


def test_a_refusal_reaches_langchain_as_a_refusal_without_citations(v1: str) -> None:
    message = ChatBriefingRAG(base_url=v1, api_key="loopback").invoke("今天北京天气怎么样？")  # type: ignore[arg-type]
    assert message.response_metadata["refused"] is True
    assert message.response_metadata["citations"] == []
