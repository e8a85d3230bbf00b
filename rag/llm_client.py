"""A small client for OpenAI-compatible chat endpoints, over httpx.

Every provider we support (DeepSeek, Qwen/DashScope, GLM, Moonshot, vLLM, Ollama, the
llama.cpp server) speaks ``POST {base_url}/chat/completions``; a preset is only data: its
base URL, a default model and the environment variable holding its key.

Failures become ``BackendError``s naming the backend and its URL (never the key):
connection errors, 429 and 5xx are retried with exponential backoff inside one overall
deadline of ``timeout_s``, so a dead or hanging endpoint never blocks longer than that.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx

from rag.config import LLMSettings, is_loopback
from rag.errors import (
    BackendError,
    BackendResponseError,
    BackendTimeoutError,
    NeedsKeyError,
    UnknownBackendError,
)
from rag.types import GenerationOptions, TokenUsage

log = logging.getLogger(__name__)

Message = dict[str, str]


@dataclass(frozen=True)
class Preset:
    label: str
    base_url: str
    model: str | None
    api_key_env: str | None


PRESETS: dict[str, Preset] = {
    "deepseek": Preset("DeepSeek", "https://api.deepseek.com/v1", "deepseek-chat", "DEEPSEEK_API_KEY"),
    "qwen": Preset(
        "通义千问（DashScope 兼容模式）",
        "https://dashscope.aliyuncs.com/compatible-mode/v1",
        "qwen-plus",
        "DASHSCOPE_API_KEY",
    ),
    "glm": Preset("智谱 GLM", "https://open.bigmodel.cn/api/paas/v4", "glm-4-flash", "ZHIPUAI_API_KEY"),
    "moonshot": Preset(
        "Moonshot（Kimi）", "https://api.moonshot.cn/v1", "moonshot-v1-8k", "MOONSHOT_API_KEY"
    ),
    "vllm": Preset("vLLM", "http://127.0.0.1:8000/v1", None, None),
    "ollama": Preset("Ollama", "http://127.0.0.1:11434/v1", "qwen2.5:7b", None),
    "llamacpp": Preset("llama.cpp server", "http://127.0.0.1:8080/v1", "default", None),
}

_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Endpoint:
    """A resolved chat endpoint: where, which model, and the key (kept out of repr and logs)."""

    name: str
    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 60.0
    max_retries: int = 2
    temperature: float = 0.1
    max_tokens: int = 1024
    stream_usage: bool = True

    @property
    def label(self) -> str:
        """Name and URL for messages; user info and query string (which may hold secrets) left out."""
        url = urlparse(self.base_url)
        return f"{self.name}（{url.scheme}://{url.hostname or ''}{f':{url.port}' if url.port else ''}{url.path}）"


def resolve_endpoint(settings: LLMSettings, preset: str | None = None) -> Endpoint:
    """The endpoint for answerer ``llm`` (``preset`` None) or ``llm:<preset>``.

    ``[llm]`` fields apply to ``llm`` and to ``llm:<name>`` when ``[llm] preset`` is that name;
    another preset asked for by name uses its own defaults. The key comes from ``api_key``,
    else the environment variable ``api_key_env`` (or the preset's); loopback URLs need none.
    """
    name = preset or settings.preset
    if name is not None and name not in PRESETS:
        raise UnknownBackendError(f"未知的大模型预设 {name!r}，可用：{'、'.join(PRESETS)}")
    defaults = PRESETS[name] if name else None
    own = preset is None or preset == settings.preset
    base_url = (settings.base_url if own else None) or (defaults.base_url if defaults else None)
    model = (settings.model if own else None) or (defaults.model if defaults else None)
    label = name or "llm"
    if not base_url:
        raise UnknownBackendError(
            "未配置大模型接口：请在 rag.toml 的 [llm] 中设置 preset 或 base_url（或环境变量 RAG_LLM__PRESET）"
        )
    if not model:
        raise UnknownBackendError(
            f"大模型后端 {label} 未指定模型：请设置 [llm] model（或环境变量 RAG_LLM__MODEL）"
        )
    key_env = (settings.api_key_env if own else None) or (defaults.api_key_env if defaults else None)
    api_key = settings.api_key.get_secret_value() if own and settings.api_key else None
    if api_key is None and key_env:
        api_key = os.environ.get(key_env) or None
    if api_key is None and not is_loopback(urlparse(base_url).hostname or ""):
        where = f"环境变量 {key_env}" if key_env else "[llm] api_key_env 指定的环境变量"
        raise NeedsKeyError(f"大模型后端 {label} 需要 API key：请设置{where}，或在 rag.toml 的 [llm] 中配置")
    return Endpoint(
        name=label,
        base_url=base_url.rstrip("/"),
        model=model,
        api_key=api_key,
        timeout_s=settings.timeout_s,
        max_retries=settings.max_retries,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        stream_usage=settings.stream_usage,
    )


@dataclass
class ReplyInfo:
    """What a backend said besides the text, filled in by ``complete()`` and ``stream()``:
    its token usage (None when it reports none) and why it stopped ("length": cut at max_tokens)."""

    usage: TokenUsage | None = None
    finish_reason: str | None = None


class ChatClient:
    """``complete()`` and ``stream()`` a chat completion; thread-safe (one pooled httpx client)."""

    def __init__(self, endpoint: Endpoint, transport: httpx.BaseTransport | None = None) -> None:
        self.endpoint = endpoint
        headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
        self._http = httpx.Client(base_url=endpoint.base_url, headers=headers, transport=transport)

    def complete(
        self,
        messages: Sequence[Message],
        max_tokens: int | None = None,
        info: ReplyInfo | None = None,
    ) -> str:
        """The whole reply text."""
        deadline = time.monotonic() + self.endpoint.timeout_s
        options = GenerationOptions(max_tokens=max_tokens)
        response = self._send(self._body(messages, stream=False, options=options), deadline, stream=False)
        try:
            data = _json(response, self.endpoint)
            content = _message_content(data, self.endpoint)
        finally:
            response.close()
        if info is not None:
            info.usage = _usage(data)
            info.finish_reason = _finish_reason(data)
        return content

    def stream(
        self,
        messages: Sequence[Message],
        options: GenerationOptions | None = None,
        info: ReplyInfo | None = None,
    ) -> Iterator[str]:
        """Text deltas as they arrive; retries happen only before the first one. ``options``
        (a client's max_tokens, stop and sampling fields) override ``[llm]``'s, max_tokens
        only downwards."""
        deadline = time.monotonic() + self.endpoint.timeout_s
        body = self._body(messages, stream=True, options=options or GenerationOptions())
        response = self._send(body, deadline, stream=True)
        yield from self._deltas(response, deadline, info or ReplyInfo())

    def close(self) -> None:
        self._http.close()

    def _body(
        self, messages: Sequence[Message], *, stream: bool, options: GenerationOptions
    ) -> dict[str, Any]:
        limit = self.endpoint.max_tokens
        body: dict[str, Any] = {
            "model": self.endpoint.model,
            "messages": list(messages),
            "temperature": self.endpoint.temperature,
            "max_tokens": min(options.max_tokens, limit) if options.max_tokens else limit,
            "stream": stream,
            **options.sampling(),
        }
        if options.stop:
            body["stop"] = list(options.stop)
        if stream and self.endpoint.stream_usage:
            body["stream_options"] = {"include_usage": True}
        return body

    def _send(self, body: dict[str, Any], deadline: float, *, stream: bool) -> httpx.Response:
        """POST with retries (connection errors, 429, 5xx) and backoff, all inside ``deadline``."""
        for attempt in range(self.endpoint.max_retries + 1):
            try:
                return self._send_once(body, deadline, stream=stream)
            except _Retryable as retry:
                pause = min(0.5 * 2**attempt, 8.0)
                if attempt == self.endpoint.max_retries or time.monotonic() + pause >= deadline:
                    raise retry.error from None
                log.warning(
                    "LLM backend %s: %s; retrying in %.1f s", self.endpoint.label, retry.reason, pause
                )
                time.sleep(pause)
        raise AssertionError("unreachable")

    def _send_once(self, body: dict[str, Any], deadline: float, *, stream: bool) -> httpx.Response:
        endpoint = self.endpoint
        remaining = max(deadline - time.monotonic(), 0.1)
        timeout = httpx.Timeout(remaining, connect=min(remaining, 10.0))
        request = self._http.build_request("POST", "/chat/completions", json=body, timeout=timeout)
        try:
            response = self._http.send(request, stream=stream)
        except httpx.TimeoutException as e:
            timed_out = BackendTimeoutError(
                f"大模型后端 {endpoint.label} 超过 {endpoint.timeout_s:g} 秒没有响应"
            )
            raise _Retryable(timed_out, "timeout") from e
        except httpx.TransportError as e:
            raise _Retryable(
                BackendError(f"大模型后端 {endpoint.label} 无法连接：{connection_cause(e)}"), type(e).__name__
            ) from e
        if response.status_code >= 400:
            response.read()
            response.close()
            detail = _error_text(_safe_json(response), endpoint)
            error = BackendError(f"大模型后端 {endpoint.label} 返回 HTTP {response.status_code}：{detail}")
            if response.status_code in _RETRY_STATUS:
                raise _Retryable(error, f"HTTP {response.status_code}")
            raise error
        return response

    def _deltas(self, response: httpx.Response, deadline: float, info: ReplyInfo) -> Iterator[str]:
        got_any = False
        watchdog = _Watchdog(response, deadline)
        try:
            for line in response.iter_lines():
                if time.monotonic() > deadline:
                    raise BackendTimeoutError(
                        f"大模型后端 {self.endpoint.label} 超过 {self.endpoint.timeout_s:g} 秒仍未答完"
                    )
                line = line.strip()
                if not line or line.startswith(":") or not line.startswith("data:"):
                    continue
                payload = line[len("data:") :].strip()
                if payload == "[DONE]":
                    break
                try:
                    chunk = json.loads(payload)
                except json.JSONDecodeError as e:
                    raise BackendResponseError(
                        f"大模型后端 {self.endpoint.label} 返回了无法解析的流式数据"
                    ) from e
                if isinstance(chunk, dict) and "error" in chunk:
                    raise BackendError(
                        f"大模型后端 {self.endpoint.label} 报错：{_error_text(chunk, self.endpoint)}"
                    )
                delta = _delta_content(chunk, self.endpoint)
                info.usage = _usage(chunk) or info.usage
                info.finish_reason = _finish_reason(chunk) or info.finish_reason
                if delta:
                    got_any = True
                    yield delta
        except httpx.TimeoutException as e:
            raise BackendTimeoutError(
                f"大模型后端 {self.endpoint.label} 超过 {self.endpoint.timeout_s:g} 秒没有响应"
            ) from e
        except httpx.TransportError as e:
            if watchdog.fired:
                raise BackendTimeoutError(
                    f"大模型后端 {self.endpoint.label} 超过 {self.endpoint.timeout_s:g} 秒仍未答完"
                ) from e
            raise BackendError(f"大模型后端 {self.endpoint.label} 连接中断：{connection_cause(e)}") from e
        finally:
            watchdog.cancel()
            response.close()
        if not got_any:
            raise BackendResponseError(f"大模型后端 {self.endpoint.label} 返回了空回答或无法识别的格式")


class _Watchdog:
    """Cuts a streaming response's connection at the deadline: a read timeout alone restarts
    with every byte, so a stream that stalls mid-answer could otherwise outlive ``timeout_s``."""

    def __init__(self, response: httpx.Response, deadline: float) -> None:
        self.fired = False
        stream = response.extensions.get("network_stream")
        self._socket: socket.socket | None = stream.get_extra_info("socket") if stream is not None else None
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0.0), self._fire)
        self._timer.daemon = True
        if self._socket is not None:
            self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


class _Retryable(Exception):
    """A failure worth another try; carries the error to raise when the tries run out."""

    def __init__(self, error: BackendError, reason: str) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason


def _safe_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text


def _json(response: httpx.Response, endpoint: Endpoint) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BackendResponseError(f"大模型后端 {endpoint.label} 返回的不是 JSON") from e


def _message_content(data: Any, endpoint: Endpoint) -> str:
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as e:
        raise BackendResponseError(
            f"大模型后端 {endpoint.label} 返回的 JSON 缺少 choices[0].message.content"
        ) from e
    if not isinstance(content, str) or not content.strip():
        raise BackendResponseError(f"大模型后端 {endpoint.label} 返回了空回答")
    return content


def _delta_content(chunk: Any, endpoint: Endpoint) -> str:
    try:
        choices = chunk["choices"]
        if not choices:  # usage-only chunks at the end of some streams
            return ""
        content = choices[0].get("delta", {}).get("content")
    except (KeyError, TypeError, AttributeError) as e:
        raise BackendResponseError(f"大模型后端 {endpoint.label} 返回的流式数据缺少 choices[0].delta") from e
    return content if isinstance(content, str) else ""


def _usage(data: Any) -> TokenUsage | None:
    """A response's (or final stream chunk's) ``usage``, when it has a usable one."""
    usage = data.get("usage") if isinstance(data, dict) else None
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return TokenUsage(prompt, completion)


def _finish_reason(data: Any) -> str | None:
    try:
        reason = data["choices"][0].get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return reason if isinstance(reason, str) else None


def connection_cause(error: httpx.TransportError) -> str:
    """Why a connection failed, in Chinese, with httpx's class name kept for the logs."""
    text = str(error).lower()
    if isinstance(error, httpx.ConnectTimeout):
        cause = "连接超时（地址不可达，或被防火墙拦截）"
    elif isinstance(error, httpx.ProxyError):
        cause = "代理服务器出错（检查 HTTP_PROXY/HTTPS_PROXY）"
    elif "refused" in text:
        cause = "连接被拒绝（服务没有启动，或端口不对）"
    elif "name or service not known" in text or "nodename" in text or "getaddrinfo" in text:
        cause = "无法解析主机名（检查地址拼写与网络）"
    elif "ssl" in text or "certificate" in text:
        cause = "TLS/证书错误（检查 https 地址与证书）"
    elif isinstance(error, httpx.RemoteProtocolError):
        cause = "对方没有按 HTTP 协议应答就断开了连接"
    elif isinstance(error, httpx.ReadError | httpx.WriteError):
        cause = "连接在传输中被断开"
    else:
        cause = "网络错误"
    return f"{cause} [{type(error).__name__}]"


def _error_text(data: Any, endpoint: Endpoint) -> str:
    """The provider's error message, short and with the key redacted."""
    if isinstance(data, dict):
        error = data.get("error", data)
        text = error.get("message", error) if isinstance(error, dict) else error
    else:
        text = data
    text = str(text)
    if endpoint.api_key:  # before truncating, so a key cut in half is still redacted
        text = text.replace(endpoint.api_key, "***")
    return text.strip()[:200] or "（无说明）"
