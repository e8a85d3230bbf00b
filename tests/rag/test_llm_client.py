"""The OpenAI-compatible chat client: endpoint resolution, and real HTTP against the fake LLM."""

from __future__ import annotations

import socket
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from rag.config import LLMSettings
from rag.errors import (
    BackendError,
    BackendResponseError,
    BackendTimeoutError,
    NeedsKeyError,
    UnknownBackendError,
)
from rag.llm_client import ChatClient, resolve_endpoint
from tests.fixtures.servers import FakeLLM, Reply

KEY = "sk-test-0123456789abcdef"
PRESET_KEY_ENVS = ("DEEPSEEK_API_KEY", "DASHSCOPE_API_KEY", "ZHIPUAI_API_KEY", "MOONSHOT_API_KEY")
MESSAGES = [
    {"role": "system", "content": "只根据资料回答。"},
    {"role": "user", "content": "卓粤计划是什么？"},
]


@pytest.fixture(autouse=True)
def no_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys from the developer's shell must not decide these tests."""
    for name in (*PRESET_KEY_ENVS, "MY_LLM_KEY", "TEAM_KEY"):
        monkeypatch.delenv(name, raising=False)


# --- resolve_endpoint -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "base_url", "model", "key_env"),
    [
        ("deepseek", "https://api.deepseek.com/v1", "deepseek-chat", "DEEPSEEK_API_KEY"),
        ("qwen", "https://dashscope.aliyuncs.com/compatible-mode/v1", "qwen-plus", "DASHSCOPE_API_KEY"),
        ("glm", "https://open.bigmodel.cn/api/paas/v4", "glm-4-flash", "ZHIPUAI_API_KEY"),
        ("moonshot", "https://api.moonshot.cn/v1", "moonshot-v1-8k", "MOONSHOT_API_KEY"),
    ],
)
def test_a_preset_gives_url_model_and_the_key_from_its_env_var(
    monkeypatch: pytest.MonkeyPatch, preset: str, base_url: str, model: str, key_env: str
) -> None:
    monkeypatch.setenv(key_env, KEY)
    for endpoint in (resolve_endpoint(LLMSettings(preset=preset)), resolve_endpoint(LLMSettings(), preset)):
        assert (endpoint.name, endpoint.base_url, endpoint.model, endpoint.api_key) == (
            preset,
            base_url,
            model,
            KEY,
        )


def test_local_presets_need_no_key() -> None:
    endpoint = resolve_endpoint(LLMSettings(), "ollama")
    assert (endpoint.base_url, endpoint.model, endpoint.api_key) == (
        "http://127.0.0.1:11434/v1",
        "qwen2.5:7b",
        None,
    )


def test_llm_fields_apply_to_the_configured_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
    settings = LLMSettings(
        preset="deepseek", model="deepseek-reasoner", timeout_s=30, max_retries=5, max_tokens=2048
    )
    for endpoint in (resolve_endpoint(settings), resolve_endpoint(settings, "deepseek")):
        assert endpoint.base_url == "https://api.deepseek.com/v1"
        assert endpoint.model == "deepseek-reasoner"
        assert (endpoint.timeout_s, endpoint.max_retries, endpoint.max_tokens) == (30, 5, 2048)


def test_another_preset_asked_by_name_ignores_the_llm_fields_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = LLMSettings(
        preset="deepseek",
        base_url="https://proxy.example.com/v1",
        model="deepseek-reasoner",
        api_key=SecretStr(KEY),
    )
    with pytest.raises(NeedsKeyError, match="DASHSCOPE_API_KEY"):
        resolve_endpoint(settings, "qwen")  # the DeepSeek key must never go to DashScope
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-dashscope")
    endpoint = resolve_endpoint(settings, "qwen")
    assert endpoint.base_url == "https://dashscope.aliyuncs.com/compatible-mode/v1"
    assert (endpoint.model, endpoint.api_key) == ("qwen-plus", "sk-dashscope")


def test_llm_fields_without_a_preset_apply_to_plain_llm_only() -> None:
    settings = LLMSettings(base_url="http://localhost:8000/v1/", model="my-model", timeout_s=7)
    endpoint = resolve_endpoint(settings)
    assert (endpoint.name, endpoint.base_url, endpoint.model, endpoint.timeout_s) == (
        "llm",
        "http://localhost:8000/v1",
        "my-model",
        7,
    )
    ollama = resolve_endpoint(settings, "ollama")
    assert (ollama.base_url, ollama.model) == ("http://127.0.0.1:11434/v1", "qwen2.5:7b")


def test_a_remote_preset_without_a_key_names_the_env_var_to_set() -> None:
    with pytest.raises(NeedsKeyError, match="DEEPSEEK_API_KEY"):
        resolve_endpoint(LLMSettings(preset="deepseek"))


def test_a_remote_url_without_a_key_names_the_configured_env_var() -> None:
    with pytest.raises(NeedsKeyError, match="MY_LLM_KEY"):
        resolve_endpoint(
            LLMSettings(base_url="https://llm.example.com/v1", model="m", api_key_env="MY_LLM_KEY")
        )
    with pytest.raises(NeedsKeyError, match="api_key_env"):
        resolve_endpoint(LLMSettings(base_url="https://llm.example.com/v1", model="m"))


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/v1", "http://127.0.0.2/v1", "http://localhost:11434/v1", "http://[::1]:8080/v1"],
)
def test_a_loopback_url_needs_no_key(url: str) -> None:
    assert resolve_endpoint(LLMSettings(base_url=url, model="m")).api_key is None


def test_a_host_name_that_only_starts_like_loopback_still_needs_a_key() -> None:
    with pytest.raises(NeedsKeyError):
        resolve_endpoint(LLMSettings(base_url="http://127.0.0.1.example.com/v1", model="m"))


def test_the_key_comes_from_the_env_var_named_by_api_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_LLM_KEY", KEY)
    settings = LLMSettings(base_url="https://llm.example.com/v1", model="m", api_key_env="MY_LLM_KEY")
    assert resolve_endpoint(settings).api_key == KEY
    monkeypatch.setenv("TEAM_KEY", "sk-team")
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-personal")
    assert resolve_endpoint(LLMSettings(preset="deepseek", api_key_env="TEAM_KEY")).api_key == "sk-team"


def test_a_configured_key_wins_over_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-env")
    assert resolve_endpoint(LLMSettings(preset="deepseek", api_key=SecretStr(KEY))).api_key == KEY


def test_an_unknown_preset_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UnknownBackendError, match="deepseek"):
        resolve_endpoint(LLMSettings(), "gpt5")
    with pytest.raises(UnknownBackendError, match="gpt5"):
        resolve_endpoint(LLMSettings(preset="gpt5"))


def test_nothing_configured_is_a_clear_error() -> None:
    with pytest.raises(UnknownBackendError, match="base_url"):
        resolve_endpoint(LLMSettings())
    with pytest.raises(UnknownBackendError, match="model"):
        resolve_endpoint(LLMSettings(base_url="http://127.0.0.1:8000/v1"), "vllm")


def test_the_key_never_shows_in_the_endpoints_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
    endpoint = resolve_endpoint(LLMSettings(preset="deepseek"))
    assert endpoint.api_key == KEY
    assert KEY not in repr(endpoint) and KEY not in str(endpoint) and KEY not in endpoint.label


# --- ChatClient over real HTTP ----------------------------------------------------------------


@pytest.fixture
def connect(fake_llm: FakeLLM) -> Iterator[Callable[..., ChatClient]]:
    """A client for the fake LLM; ``[llm]`` options as keywords (no retries, 5 s by default)."""
    clients: list[ChatClient] = []

    def factory(**llm: Any) -> ChatClient:
        options = {"base_url": fake_llm.url, "model": "fake-model", "timeout_s": 5.0, "max_retries": 0, **llm}
        clients.append(ChatClient(resolve_endpoint(LLMSettings(**options))))
        return clients[-1]

    yield factory
    for client in clients:
        client.close()


ANSWER = "“卓粤”计划面向全球引进高层次科技人才[1]。每年支持100名青年科学家[1]。"


def test_complete_returns_the_reply_and_sends_the_request(
    fake_llm: FakeLLM, connect: Callable[..., ChatClient]
) -> None:
    fake_llm.script(ANSWER)
    assert connect(max_tokens=300).complete(MESSAGES) == ANSWER
    [request] = fake_llm.requests
    body = request["body"]
    assert (body["model"], body["messages"], body["stream"], body["max_tokens"]) == (
        "fake-model",
        MESSAGES,
        False,
        300,
    )
    assert "authorization" not in request["headers"], "no key, no header"


def test_stream_yields_the_reply_in_deltas(fake_llm: FakeLLM, connect: Callable[..., ChatClient]) -> None:
    fake_llm.script(Reply(ANSWER, piece_chars=5))
    deltas = list(connect().stream(MESSAGES))
    assert "".join(deltas) == ANSWER
    assert len(deltas) == -(-len(ANSWER) // 5)
    assert fake_llm.requests[0]["body"]["stream"] is True


def test_the_key_goes_in_the_authorization_header(
    fake_llm: FakeLLM, connect: Callable[..., ChatClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_llm.script("好的。", "好的。")
    connect(api_key=SecretStr(KEY)).complete(MESSAGES)
    monkeypatch.setenv("MY_LLM_KEY", "sk-from-env")
    list(connect(api_key_env="MY_LLM_KEY").stream(MESSAGES))
    auth = [r["headers"]["authorization"] for r in fake_llm.requests]
    assert auth == [f"Bearer {KEY}", "Bearer sk-from-env"]


@pytest.mark.parametrize("status", [500, 503, 429])
@pytest.mark.parametrize("streaming", [False, True])
def test_a_transient_failure_is_retried(
    fake_llm: FakeLLM, connect: Callable[..., ChatClient], status: int, streaming: bool
) -> None:
    fake_llm.script(Reply(status=status), Reply(ANSWER))
    client = connect(max_retries=1)
    text = "".join(client.stream(MESSAGES)) if streaming else client.complete(MESSAGES)
    assert text == ANSWER
    assert len(fake_llm.requests) == 2


def test_when_retries_run_out_the_error_names_backend_url_and_status(
    fake_llm: FakeLLM, connect: Callable[..., ChatClient]
) -> None:
    fake_llm.script(Reply(status=500), Reply(status=500), Reply(ANSWER))
    with pytest.raises(BackendError) as caught:
        connect(max_retries=1).complete(MESSAGES)
    assert type(caught.value) is BackendError
    assert caught.value.code == "backend_unavailable"
    message = caught.value.message
    assert "llm" in message and fake_llm.url in message and "HTTP 500" in message
    assert len(fake_llm.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_a_client_error_is_not_retried(
    fake_llm: FakeLLM, connect: Callable[..., ChatClient], status: int
) -> None:
    fake_llm.script(Reply(status=status), Reply(ANSWER))
    with pytest.raises(BackendError, match=f"HTTP {status}"):
        connect(max_retries=2).complete(MESSAGES)
    assert len(fake_llm.requests) == 1


@pytest.mark.parametrize("streaming", [False, True])
def test_a_hanging_backend_times_out_within_timeout_s(
    fake_llm: FakeLLM, connect: Callable[..., ChatClient], streaming: bool
) -> None:
    # The backend would answer after 30 s: getting the timeout error, not the answer, shows the
    # call ended at its deadline; one request shows no retry was started past it.
    fake_llm.script(Reply(ANSWER, hang_s=30), Reply(ANSWER, hang_s=30))
    client = connect(timeout_s=1, max_retries=2)
    with pytest.raises(BackendTimeoutError) as caught:
        if streaming:
            list(client.stream(MESSAGES))
        else:
            client.complete(MESSAGES)
    assert len(fake_llm.requests) == 1
    assert fake_llm.url in caught.value.message


def test_a_stream_that_stalls_mid_answer_still_ends_at_timeout_s(
    fake_llm: FakeLLM, connect: Callable[..., ChatClient]
) -> None:
    fake_llm.script(Reply(ANSWER, stall_s=30))  # the first piece at once, the rest after 30 s
    client = connect(timeout_s=1.5, max_retries=0)
    received = []
    with pytest.raises(BackendTimeoutError):
        for delta in client.stream(MESSAGES):
            received.append(delta)
    assert received, "the first piece arrived before the stall"
    assert "".join(received) != ANSWER, "the rest of the answer came after the deadline"


def test_a_non_json_body_is_a_response_error(fake_llm: FakeLLM, connect: Callable[..., ChatClient]) -> None:
    fake_llm.script(Reply(garbage=True))
    with pytest.raises(BackendResponseError, match="JSON"):
        connect().complete(MESSAGES)


def test_a_broken_stream_line_is_a_response_error(
    fake_llm: FakeLLM, connect: Callable[..., ChatClient]
) -> None:
    fake_llm.script(Reply(garbage=True))
    with pytest.raises(BackendResponseError):
        list(connect().stream(MESSAGES))


@pytest.mark.parametrize("streaming", [False, True])
def test_an_empty_reply_is_a_response_error(
    fake_llm: FakeLLM, connect: Callable[..., ChatClient], streaming: bool
) -> None:
    fake_llm.script(Reply(""))
    client = connect()
    with pytest.raises(BackendResponseError):
        if streaming:
            list(client.stream(MESSAGES))
        else:
            client.complete(MESSAGES)


@pytest.mark.parametrize(
    "error_message",
    [
        f"Incorrect API key provided: {KEY}. You can find your API key at https://platform.example.com.",
        "认证失败，" * 37 + f"key={KEY}",  # the key straddles the 200-character cut of the message
    ],
)
def test_an_error_body_echoing_the_key_does_not_leak_it(
    fake_llm: FakeLLM, connect: Callable[..., ChatClient], error_message: str
) -> None:
    fake_llm.script(Reply(status=401, error_message=error_message))
    with pytest.raises(BackendError) as caught:
        connect(api_key=SecretStr(KEY)).complete(MESSAGES)
    shown = "".join(traceback.format_exception(caught.value)) + repr(caught.value)
    assert "HTTP 401" in shown
    assert KEY[:8] not in shown, "not even the start of the key"


def test_a_dead_port_fails_fast_with_a_backend_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    client = ChatClient(resolve_endpoint(LLMSettings(base_url=url, model="m", timeout_s=30, max_retries=0)))
    try:
        with pytest.raises(BackendError) as caught:
            client.complete(MESSAGES)
    finally:
        client.close()
    assert url in caught.value.message
    assert "无法连接：连接被拒绝（服务没有启动，或端口不对）" in caught.value.message  # the cause, in Chinese
    assert not isinstance(caught.value, BackendTimeoutError)


def test_credentials_in_the_url_stay_out_of_messages() -> None:
    settings = LLMSettings(
        base_url="https://user:secret@gateway.example.com:8443/v1?api-key=secret", model="m", api_key="k"
    )
    label = resolve_endpoint(settings).label
    assert "secret" not in label and label == "llm（https://gateway.example.com:8443/v1）"
