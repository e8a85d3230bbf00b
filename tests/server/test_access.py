"""Access: loopback needs no key; beyond it a key is required, then every /api and /v1 request
needs it; CORS stays off unless configured; the key never shows in logs or errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import openai
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from rag.cli import app as cli
from rag.config import Settings, check_exposure, is_loopback
from rag.errors import ConfigError
from rag.pipeline import Pipeline
from server.app import create_app
from server.background import running

KEY = "s3cret-key-for-tests"


def _with_server(settings: Settings, **server: object) -> Settings:
    return settings.model_copy(update={"server": settings.server.model_copy(update=server)})


@pytest.fixture(scope="module")
def keyed(mini_module_index: Settings) -> Iterator[tuple[str, Settings]]:
    settings = _with_server(mini_module_index, host="0.0.0.0", api_key=SecretStr(KEY))
    pipeline = Pipeline.from_settings(mini_module_index)
    with running(create_app(settings, pipeline=pipeline)) as url:
        yield url, settings


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("192.168.1.20", False),
    ],
)
def test_only_loopback_counts_as_this_machine(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_serving_beyond_loopback_without_a_key_is_refused(mini_module_index: Settings) -> None:
    exposed = _with_server(mini_module_index, host="0.0.0.0")
    with pytest.raises(ConfigError, match="API 密钥"):
        check_exposure(exposed)
    with pytest.raises(ConfigError, match="RAG_SERVER__API_KEY"):
        create_app(exposed)
    check_exposure(_with_server(exposed, api_key=SecretStr(KEY)))


def test_rag_serve_refuses_a_public_host_without_a_key(
    mini_module_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAG_SERVER__API_KEY", raising=False)
    result = CliRunner().invoke(cli, ["--home", str(mini_module_index.home), "serve", "--host", "0.0.0.0"])
    assert result.exit_code != 0
    assert "API 密钥" in result.output


def test_loopback_needs_no_key(mini_module_index: Settings) -> None:
    with running(create_app(pipeline=Pipeline.from_settings(mini_module_index))) as url:
        assert httpx.get(f"{url}/api/health").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/health"),
        ("POST", "/api/search"),
        ("POST", "/api/ask"),
        ("GET", "/api/documents"),
        ("DELETE", "/api/documents/科技金融简报.txt"),
        ("POST", "/api/index/rebuild"),
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
    ],
)
def test_every_endpoint_needs_the_key(keyed: tuple[str, Settings], method: str, path: str) -> None:
    url, _ = keyed
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        response = httpx.request(method, url + path, headers=headers, json={"question": "星火贷"})
        assert response.status_code == 401, (path, headers)
        openai_route = path.startswith("/v1/")
        error = response.json()["error"]
        assert error["code"] == ("invalid_api_key" if openai_route else "unauthorized")
        assert not openai_route or error["type"] == "authentication_error"
        assert response.headers["www-authenticate"] == "Bearer"
        assert KEY not in response.text


def test_the_right_key_opens_the_api_and_the_openai_client_works(keyed: tuple[str, Settings]) -> None:
    url, _ = keyed
    auth = {"Authorization": f"Bearer {KEY}"}
    assert httpx.get(f"{url}/api/health", headers=auth).status_code == 200
    hits = httpx.post(f"{url}/api/search", headers=auth, json={"question": "星火贷的年利率", "k": 2}).json()
    assert hits["passages"]
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
    assert client.models.list().data
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0).models.list()


def test_an_upload_without_the_key_writes_nothing(keyed: tuple[str, Settings]) -> None:
    url, settings = keyed
    before = sorted(p.name for p in settings.data_dir.iterdir())
    files = {"files": ("新简报.txt", "【政策】\n新简报的内容足够长，用来测试上传。".encode(), "text/plain")}
    response = httpx.post(f"{url}/api/documents", files=files)
    assert response.status_code == 401
    assert sorted(p.name for p in settings.data_dir.iterdir()) == before


def test_the_page_and_its_docs_stay_open_so_a_browser_can_ask_for_the_key(
    keyed: tuple[str, Settings],
) -> None:
    url, _ = keyed
    assert httpx.get(f"{url}/").status_code == 200
    assert httpx.get(f"{url}/static/app.js").status_code == 200


def test_the_api_description_says_which_paths_need_the_key(keyed: tuple[str, Settings]) -> None:
    # /docs reads this: its "Authorize" button asks for the key, and every protected operation lists the 401.
    url, _ = keyed
    schema = httpx.get(f"{url}/openapi.json").json()
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "rag.toml 中 [server] api_key 的值",
    }
    operations = [(path, op) for path, ops in schema["paths"].items() for op in ops.values()]
    protected = [op for path, op in operations if path.startswith(("/api/", "/v1/"))]
    assert len(protected) >= 10
    for op in protected:
        assert op["security"] == [{"apiKey": []}]
        assert op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert all("security" not in op for path, op in operations if not path.startswith(("/api/", "/v1/")))
    assert httpx.get(f"{url}/docs").status_code == 200


def test_the_key_is_never_logged(keyed: tuple[str, Settings], caplog: pytest.LogCaptureFixture) -> None:
    url, _ = keyed
    with caplog.at_level(logging.DEBUG):
        httpx.get(f"{url}/api/health", headers={"Authorization": f"Bearer {KEY}"})
        httpx.get(f"{url}/api/health", headers={"Authorization": f"Bearer {KEY}x"})
    assert KEY not in caplog.text
    assert KEY not in repr(keyed[1]) and KEY not in keyed[1].model_dump_json()


def test_cors_is_off_unless_configured(mini_module_index: Settings) -> None:
    origin = {"Origin": "https://intranet.example"}
    with running(create_app(pipeline=Pipeline.from_settings(mini_module_index))) as url:
        assert "access-control-allow-origin" not in httpx.get(f"{url}/api/health", headers=origin).headers
    allowed = _with_server(
        mini_module_index, cors_origins=["https://intranet.example"], api_key=SecretStr(KEY)
    )
    with running(create_app(allowed, pipeline=Pipeline.from_settings(mini_module_index))) as url:
        preflight = httpx.options(
            f"{url}/api/ask",
            headers={
                **origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://intranet.example"
        denied = httpx.get(f"{url}/api/health", headers=origin)
        assert (
            denied.status_code == 401
            and denied.headers["access-control-allow-origin"] == "https://intranet.example"
        )
