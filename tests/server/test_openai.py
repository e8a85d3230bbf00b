"""The official ``openai`` client against our /v1 endpoints, streaming and not."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import openai
import pytest
from openai import OpenAI

from rag.config import Settings
from tests.fixtures.servers import FakeLLM, llm_settings

MARKER = re.compile(r"\[(\d+)\]")
QUESTION = "绿洲高新区的星火贷最高能贷多少？"


@pytest.fixture
def client(live_app: Callable[..., str], mini_module_index: Settings, fake_llm: FakeLLM) -> Iterator[OpenAI]:
    url = live_app(llm_settings(mini_module_index, fake_llm))
    with OpenAI(base_url=f"{url}/v1", api_key="not-needed-on-loopback", max_retries=0) as client:
        yield client


def test_models_lists_the_default_and_the_answerers(client: OpenAI) -> None:
    ids = [model.id for model in client.models.list()]
    assert ids[0] == "briefing-rag" and "extractive" in ids and "llm" in ids


def test_completion_carries_markers_and_structured_citations(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="briefing-rag", messages=[{"role": "user", "content": QUESTION}]
    )
    content = completion.choices[0].message.content or ""
    answer, _, references = content.partition("\n\n参考来源：\n")
    assert "500万元" in answer
    citations = completion.model_extra["citations"]  # type: ignore[index]
    numbers = {int(n) for n in MARKER.findall(answer)}
    assert numbers and numbers == {c["n"] for c in citations}
    for citation in citations:
        assert (
            citation["title"] == "科技金融动态"
            and citation["page"].startswith("第")
            and citation["supported"]
        )
        assert f"[{citation['n']}] 科技金融动态[R]" in references
    assert completion.choices[0].finish_reason == "stop"


def test_stream_gives_the_same_answer_and_citations_on_the_final_chunk(client: OpenAI) -> None:
    messages = [{"role": "user", "content": QUESTION}]
    whole = client.chat.completions.create(model="briefing-rag", messages=messages)  # type: ignore[arg-type]
    chunks = list(client.chat.completions.create(model="briefing-rag", messages=messages, stream=True))  # type: ignore[arg-type]
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert streamed == whole.choices[0].message.content
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    assert final.model_extra["citations"] == whole.model_extra["citations"]  # type: ignore[index]
    assert all("citations" not in (chunk.model_extra or {}) for chunk in chunks[:-1])


def test_llm_model_condenses_a_follow_up_before_retrieval(client: OpenAI, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        "绿洲高新区的星火贷年利率是多少？", "绿洲高新区联合本地银行推出“星火贷”产品，年利率不超过3.5%[1]。"
    )
    completion = client.chat.completions.create(
        model="llm",
        messages=[
            {"role": "system", "content": "你是助手"},
            {"role": "user", "content": QUESTION},
            {
                "role": "assistant",
                "content": "最高500万元[1]。\n\n参考来源：\n[1] 《科技金融动态》，第21–24行。",
            },
            {"role": "user", "content": "年利率呢？"},
        ],
    )
    condense_prompt = fake_llm.requests[0]["body"]["messages"][0]["content"]
    assert (
        "用户：绿洲高新区的星火贷最高能贷多少？" in condense_prompt and "追问：年利率呢？" in condense_prompt
    )
    assert "参考来源" not in condense_prompt and "[1]" not in condense_prompt
    assert completion.model_extra["query"] == "绿洲高新区的星火贷年利率是多少？"  # type: ignore[index]
    assert "3.5%" in (completion.choices[0].message.content or "")


def test_errors_reach_the_client_as_openai_errors(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(
            model="briefing-rag", messages=[{"role": "assistant", "content": "你好"}]
        )
    assert "user" in str(bad.value)
    assert bad.value.body == {  # OpenAI's error shape, the message in Chinese
        "message": "messages 的最后一条必须是非空的 user 消息（即问题）",
        "type": "invalid_request_error",
        "param": None,
        "code": "bad_input",
    }
    with pytest.raises(openai.UnprocessableEntityError) as invalid:
        client.chat.completions.create(model="briefing-rag", messages=[])
    assert invalid.value.body["param"] == "messages"  # type: ignore[index]


def test_an_unknown_model_is_not_found_and_the_error_names_what_is_available(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(
            model="gpt-3.5-turbo", messages=[{"role": "user", "content": QUESTION}]
        )
    body = missing.value.body
    assert body["code"] == "model_not_found" and body["param"] == "model"  # type: ignore[index]
    assert "briefing-rag" in body["message"] and "extractive" in body["message"]  # type: ignore[index]


def test_clients_that_hard_code_a_model_name_can_be_served_by_the_default_answerer(
    live_app: Callable[..., str], mini_module_index: Settings
) -> None:
    server = mini_module_index.server.model_copy(update={"openai_unknown_model": "default"})
    url = live_app(mini_module_index.model_copy(update={"server": server}))
    with OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0) as lenient:
        completion = lenient.chat.completions.create(
            model="gpt-3.5-turbo", messages=[{"role": "user", "content": QUESTION}]
        )
    assert "500万元" in (completion.choices[0].message.content or "")


def test_models_offers_only_answerers_that_work_now(client: OpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [model.id for model in client.models.list()]
    assert "llm:deepseek" not in ids  # no DEEPSEEK_API_KEY here: it would only answer needs_key
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test")
    assert "llm:deepseek" in [model.id for model in client.models.list()]


def test_backend_failure_surfaces_as_a_server_error(client: OpenAI, fake_llm: FakeLLM) -> None:
    from tests.fixtures.servers import Reply

    fake_llm.script(Reply(status=500))
    with pytest.raises(openai.InternalServerError) as failure:
        client.chat.completions.create(model="llm", messages=[{"role": "user", "content": QUESTION}])
    assert failure.value.status_code == 502


def test_a_backend_failing_mid_stream_reaches_the_client_as_an_openai_error(
    client: OpenAI, fake_llm: FakeLLM
) -> None:
    from tests.fixtures.servers import Reply

    first = "绿洲高新区的星火贷最高可贷500万元[1]。"
    # The first sentence (and a character of the next, which shows it is complete) streams at
    # once; the rest would come after 30 s, past the 5 s timeout.
    fake_llm.script(Reply(first + "年利率不超过3.5%[1]。", piece_chars=len(first) + 1, stall_s=30))
    received = []
    with pytest.raises(openai.APIError) as failure:
        for chunk in client.chat.completions.create(
            model="llm", messages=[{"role": "user", "content": QUESTION}], stream=True
        ):
            received.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
    assert "500万元" in "".join(received), "the failure came after the answer had started"
    body = failure.value.body
    assert body["type"] == "server_error" and body["code"] == "backend_timeout"  # type: ignore[index]
    assert "大模型后端" in body["message"]  # type: ignore[index]
