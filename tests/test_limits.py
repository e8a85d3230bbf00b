"""One set of request limits, defined in rag.config, held by every caller: the CLI, the API and the
configuration file (issue 17); and `rag serve` checks its options before it changes anything."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.config import MAX_ANSWER_PASSAGES, MAX_QUESTION_CHARS, MAX_SEARCH_RESULTS, Settings, load_settings
from rag.errors import ConfigError
from tests.fixtures.servers import api_client


@pytest.fixture
def api(mini_index: Settings) -> Iterator[httpx.Client]:
    with api_client(mini_index) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "limit"),
    [("/api/ask", MAX_ANSWER_PASSAGES), ("/api/search", MAX_SEARCH_RESULTS)],
)
def test_the_api_takes_k_up_to_the_shared_limit(api: httpx.Client, path: str, limit: int) -> None:
    assert api.post(path, json={"question": "基础研究", "k": limit}).status_code == 200
    assert api.post(path, json={"question": "基础研究", "k": limit + 1}).status_code == 422


def test_the_openai_endpoint_takes_the_same_answer_limit(api: httpx.Client) -> None:
    message = [{"role": "user", "content": "基础研究"}]
    over = api.post(
        "/v1/chat/completions",
        json={"model": "briefing-rag", "messages": message, "k": MAX_ANSWER_PASSAGES + 1},
    )
    assert over.status_code == 422


@pytest.mark.parametrize(
    ("command", "limit"),
    [
        (["ask", "基础研究"], MAX_ANSWER_PASSAGES),
        (["search", "基础研究"], MAX_SEARCH_RESULTS),
        (["eval", "run", "x.jsonl"], MAX_ANSWER_PASSAGES),
    ],
)
def test_the_cli_refuses_k_past_the_shared_limit(
    mini_index: Settings, command: list[str], limit: int
) -> None:
    result = CliRunner().invoke(app, ["--home", str(mini_index.home), *command, "-k", str(limit + 1)])
    assert result.exit_code == 2
    assert str(limit) in result.output


def test_the_configuration_takes_the_same_answer_limit(tmp_path: os.PathLike[str]) -> None:
    load_settings(home=tmp_path, answer={"passages": MAX_ANSWER_PASSAGES})
    with pytest.raises(ConfigError, match="passages"):
        load_settings(home=tmp_path, answer={"passages": MAX_ANSWER_PASSAGES + 1})


def test_serve_refuses_an_exposed_host_without_a_key_before_it_builds_or_sets_anything(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAG_HOME", raising=False)
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "serve", "--host", "0.0.0.0"])
    assert result.exit_code != 0 and "密钥" in result.output
    assert "RAG_HOME" not in os.environ
    assert not (Path(tmp_path) / "index").exists()


def test_the_readme_states_the_limits_the_code_has() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert f"问题 1–{MAX_QUESTION_CHARS} 字" in readme
    assert f"作答段落数 `k` 1–{MAX_ANSWER_PASSAGES}" in readme
    assert f"检索结果数 `k` 1–{MAX_SEARCH_RESULTS}" in readme
