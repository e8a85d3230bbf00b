"""The OpenAI contract on /v1, driven by the official ``openai`` client (sync and async) over
loopback: usage, max_tokens, stop, parameters refused by name, sampling passed to the backend."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from rag.config import Settings
from rag.sentences import split_sentences, strip_markers
from rag.tokens import count_tokens
from tests.fixtures.servers import FakeLLM, Reply, llm_settings

QUESTION = "绿洲高新区的星火贷最高能贷多少？"
MESSAGES: list[Any] = [{"role": "user", "content": QUESTION}]
REFERENCES = "\n\n参考来源：\n"
FIRST = "绿洲高新区的星火贷最高可贷500万元[1]。"
SECOND = "年利率不超过3.5%[1]。"


@pytest.fixture
def url(live_app: Callable[..., str], mini_module_index: Settings, fake_llm: FakeLLM) -> str:
    return live_app(llm_settings(mini_module_index, fake_llm))


@pytest.fixture
def client(url: str) -> Iterator[OpenAI]:
    with OpenAI(base_url=f"{url}/v1", api_key="loopback", max_retries=0) as client:
        yield client


def _answer(content: str | None) -> str:
    return (content or "").split(REFERENCES)[0]


def test_the_offline_answer_reports_usage_counted_by_the_documented_method(client: OpenAI) -> None:
    completion = client.chat.completions.create(model="extractive", messages=MESSAGES)
    usage = completion.usage
    assert usage is not None
    answer = _answer(completion.choices[0].message.content)
    assert usage.completion_tokens == count_tokens(answer) > 0
    # The question and the passages the answerer read: more than the question alone.
    assert usage.prompt_tokens > count_tokens(QUESTION)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_the_llm_backends_usage_is_passed_through(client: OpenAI, fake_llm: FakeLLM) -> None:
    fake_llm.script(FIRST)
    completion = client.chat.completions.create(model="llm", messages=MESSAGES)
    sent = fake_llm.requests[0]["body"]["messages"]
    usage = completion.usage
    assert usage is not None  # the fake counts a token per character, unlike our own method
    assert usage.prompt_tokens == sum(len(m["content"]) for m in sent)
    assert usage.completion_tokens == len(FIRST)


def test_a_backend_that_reports_no_usage_is_counted_instead(client: OpenAI, fake_llm: FakeLLM) -> None:
    fake_llm.script(Reply(FIRST, reports_usage=False))
    usage = client.chat.completions.create(model="llm", messages=MESSAGES).usage
    assert usage is not None and usage.completion_tokens == count_tokens(FIRST)


def test_a_stream_asking_for_usage_ends_with_a_usage_chunk(url: str, fake_llm: FakeLLM) -> None:
    async def run() -> None:
        async with AsyncOpenAI(base_url=f"{url}/v1", api_key="loopback", max_retries=0) as client:
            whole = await client.chat.completions.create(model="extractive", messages=MESSAGES)
            stream = await client.chat.completions.create(
                model="extractive", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
            chunks = [chunk async for chunk in stream]
            assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage
            assert all(chunk.usage is None for chunk in chunks[:-1])
            assert chunks[-2].choices[0].finish_reason == "stop"

            plain = await client.chat.completions.create(model="extractive", messages=MESSAGES, stream=True)
            assert all(chunk.choices and chunk.usage is None for chunk in [c async for c in plain])

            fake_llm.script(FIRST)
            stream = await client.chat.completions.create(
                model="llm", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
            last = [chunk async for chunk in stream][-1]
            assert fake_llm.requests[-1]["body"]["stream_options"] == {"include_usage": True}
            assert last.usage is not None and last.usage.completion_tokens == len(FIRST)

    asyncio.run(run())


@pytest.mark.parametrize("limit", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_ends_the_answer_at_a_sentence_boundary(client: OpenAI, limit: str) -> None:
    whole = client.chat.completions.create(model="extractive", messages=MESSAGES)
    sentences = split_sentences(_answer(whole.choices[0].message.content))
    assert len(sentences) >= 2
    budget = count_tokens(sentences[0]) + count_tokens(sentences[1]) // 2  # the second does not fit
    cut = client.chat.completions.create(model="extractive", messages=MESSAGES, **{limit: budget})
    choice = cut.choices[0]
    assert _answer(choice.message.content) == sentences[0]
    assert choice.finish_reason == "length"
    assert cut.usage is not None and cut.usage.completion_tokens <= budget
    assert any("max_tokens" in notice for notice in cut.model_extra["notices"])  # type: ignore[index]

    stream = client.chat.completions.create(
        model="extractive", messages=MESSAGES, stream=True, max_tokens=budget
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == choice.message.content
    assert chunks[-1].choices[0].finish_reason == "length"

    nothing_fits = client.chat.completions.create(model="extractive", messages=MESSAGES, max_tokens=1)
    assert nothing_fits.choices[0].message.content == "" and nothing_fits.choices[0].finish_reason == "length"
    assert nothing_fits.model_extra["citations"] == []  # type: ignore[index]


def test_an_llm_answer_cut_by_the_backend_drops_the_unfinished_sentence(
    client: OpenAI, fake_llm: FakeLLM
) -> None:
    fake_llm.script(FIRST + SECOND)
    budget = len(FIRST) + 3  # the fake's tokens are characters: it stops inside the second sentence
    completion = client.chat.completions.create(model="llm", messages=MESSAGES, max_tokens=budget)
    assert fake_llm.requests[-1]["body"]["max_tokens"] == budget
    choice = completion.choices[0]
    assert strip_markers(_answer(choice.message.content)) == strip_markers(FIRST)
    assert choice.finish_reason == "length"


def test_an_llm_answer_stopped_by_the_backend_at_a_stop_sequence_drops_the_half_sentence(
    client: OpenAI, fake_llm: FakeLLM
) -> None:
    fake_llm.script(FIRST + "年利率END不超过3.5%[1]。")  # the backend stops before END, mid-sentence
    completion = client.chat.completions.create(model="llm", messages=MESSAGES, stop=["END"])
    assert strip_markers(_answer(completion.choices[0].message.content)) == strip_markers(FIRST)


def test_a_stop_sequence_ends_the_answer_before_the_sentence_holding_it(client: OpenAI) -> None:
    whole = client.chat.completions.create(model="extractive", messages=MESSAGES)
    first, second = split_sentences(_answer(whole.choices[0].message.content))[:2]
    stop = next(second[i : i + 2] for i in range(len(second)) if second[i : i + 2] not in first)
    cut = client.chat.completions.create(model="extractive", messages=MESSAGES, stop=[stop])
    assert _answer(cut.choices[0].message.content) == first
    assert cut.choices[0].finish_reason == "stop"


def test_sampling_parameters_are_passed_to_the_llm_backend(client: OpenAI, fake_llm: FakeLLM) -> None:
    fake_llm.script(FIRST)
    client.chat.completions.create(
        model="llm",
        messages=MESSAGES,
        temperature=0.7,
        top_p=0.9,
        seed=7,
        presence_penalty=0.5,
        frequency_penalty=0.25,
        stop=["END"],
        max_tokens=300,
    )
    body = fake_llm.requests[-1]["body"]
    assert (body["temperature"], body["top_p"], body["seed"]) == (0.7, 0.9, 7)
    assert (body["presence_penalty"], body["frequency_penalty"]) == (0.5, 0.25)
    assert body["stop"] == ["END"] and body["max_tokens"] == 300
    fake_llm.script(FIRST)
    client.chat.completions.create(model="llm", messages=MESSAGES)
    assert fake_llm.requests[-1]["body"]["temperature"] == 0.1  # [llm] temperature when none is asked


REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"n": 2}, "n"),
    ({"response_format": {"type": "json_object"}}, "response_format"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
    ({"tool_choice": "auto"}, "tool_choice"),
    ({"logprobs": True}, "logprobs"),
    ({"top_logprobs": 2}, "top_logprobs"),
    ({"logit_bias": {"100": 5}}, "logit_bias"),
    ({"modalities": ["text", "audio"]}, "modalities"),
    ({"stream_options": {"include_usage": True}}, "stream_options"),  # without stream: true
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
]


@pytest.mark.parametrize(("params", "name"), REFUSED, ids=[name for _, name in REFUSED])
def test_a_parameter_we_cannot_honour_is_refused_by_name(
    client: OpenAI, params: dict[str, Any], name: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="extractive", messages=MESSAGES, **params)
    body = refused.value.body
    assert isinstance(body, dict)
    assert body["param"] == name and body["code"] == "unsupported_parameter"
    assert body["type"] == "invalid_request_error" and name in body["message"]


def test_what_can_be_honoured_is_accepted(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="extractive",
        messages=MESSAGES,
        n=1,
        response_format={"type": "text"},
        tool_choice="none",
        logprobs=False,
        user="researcher-7",
        metadata={"project": "draft"},
    )
    assert "500万元" in (completion.choices[0].message.content or "")
    assert completion.model_extra["notices"] == []  # type: ignore[index]


def test_a_parameter_openai_does_not_have_is_named_in_the_notices(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="extractive", messages=MESSAGES, extra_body={"keep_alive": "5m", "num_ctx": 4096}
    )
    notices = completion.model_extra["notices"]  # type: ignore[index]
    assert any("keep_alive" in notice and "num_ctx" in notice for notice in notices)


def test_an_unreachable_backend_is_named_with_its_cause_in_chinese(
    live_app: Callable[..., str], mini_module_index: Settings
) -> None:
    with socket.socket() as probe:  # a port nothing listens on: Ollama not started
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    llm = mini_module_index.llm.model_copy(
        update={"preset": "ollama", "base_url": f"http://127.0.0.1:{port}/v1", "max_retries": 0}
    )
    url = live_app(mini_module_index.model_copy(update={"llm": llm}))
    with OpenAI(base_url=f"{url}/v1", api_key="loopback", max_retries=0) as client:
        with pytest.raises(openai.InternalServerError) as failure:
            client.chat.completions.create(model="llm:ollama", messages=MESSAGES)
    body = failure.value.body
    assert isinstance(body, dict) and body["code"] == "backend_unavailable"
    assert "ollama" in body["message"] and f":{port}" in body["message"]
    assert "连接被拒绝（服务没有启动，或端口不对）" in body["message"]
