"""Request and response models of the API; their descriptions and examples make up /docs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from rag.config import MAX_ANSWER_PASSAGES, MAX_QUESTION_CHARS, MAX_SEARCH_RESULTS
from rag.metadata import MAX_FIELD_CHARS

QUESTION_EXAMPLE = "广东的“卓粤”计划是什么？"
MAX_HISTORY_TURNS = 20
MAX_TURN_CHARS = 8000


class ErrorDetail(BaseModel):
    code: str = Field(description="稳定的错误代码，例如 bad_input、unknown_document、backend_timeout")
    message: str = Field(description="中文错误说明")


class ErrorBody(BaseModel):
    """Every error response has this body."""

    error: ErrorDetail


def _integral(value: Any) -> Any:
    """JSON Schema counts 5.0 as an integer; strict validation alone would refuse it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# A count in a strictly validated request body: 5 or 5.0, but not "5" or true. The bounds come
# before the validator so that /openapi.json shows them as minimum/maximum.
PassageCount = Annotated[int, Field(ge=1, le=MAX_ANSWER_PASSAGES), BeforeValidator(_integral)]


class _Request(BaseModel):
    # Strict: a body must match its documented schema; no "5" for 5, no 0 for false.
    model_config = ConfigDict(extra="forbid", strict=True)


class SearchRequest(_Request):
    question: str = Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        description="检索语句（中文、繁体或英文）",
        examples=[QUESTION_EXAMPLE],
    )
    k: Annotated[int, Field(ge=1, le=MAX_SEARCH_RESULTS), BeforeValidator(_integral)] = Field(
        5, description="返回的段落数"
    )
    docs: list[str] | None = Field(
        None,
        max_length=200,
        description="只在这些简报（文件名，见 GET /api/documents）中检索",
        examples=[None],
    )


class _Located(BaseModel):
    """Where a passage comes from."""

    chunk_id: str
    doc: str = Field(description="简报文件名")
    title: str = Field(description="简报标题")
    section: str = Field(description="章节路径（标题以下），用 › 分隔")
    page: str = Field(description="位置：PDF 为“第3页”，文本为“第12–20行”")


class Passage(_Located):
    rank: int = Field(description="名次，从 1 开始；回答中的 [n] 指第 n 个段落")
    text: str
    score: float = Field(description="融合得分，[0, 1]，越高越相关")
    dense: float = Field(description="向量检索的原始余弦相似度")
    keyword: float = Field(description="BM25 得分除以本次最高 BM25，[0, 1]")


class SearchResponse(BaseModel):
    question: str
    passages: list[Passage]
    timings: dict[str, float] = Field(description="耗时（毫秒）")


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_TURN_CHARS)


class AskRequest(_Request):
    question: str = Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        description="问题；追问时可配合 history",
        examples=[QUESTION_EXAMPLE],
    )
    k: PassageCount | None = Field(None, description="作答所用段落数，默认见配置 answer.passages")
    docs: list[str] | None = Field(None, max_length=200, description="只在这些简报中检索")
    history: list[Turn] = Field(
        default_factory=list,
        max_length=MAX_HISTORY_TURNS,
        description="此前的对话（先问后答），用于把追问改写成完整问题",
    )
    answerer: str | None = Field(
        None, description="回答器：extractive、llm 或 llm:<预设名>；默认见配置", examples=["extractive"]
    )
    stream: bool = Field(
        False, description="为 true 时以 Server-Sent Events 流式返回（也可用 Accept: text/event-stream）"
    )


class Citation(_Located):
    n: int = Field(description="段落编号，对应回答中的 [n] 与 passages[n-1]")
    text: str = Field(description="被引用段落的原文")
    supported: bool = Field(description="引用它的句子是否都通过了支持度核验")
    number: int | None = Field(
        description="显示编号：按在回答中首次出现的顺序 1、2、…；页面、各种复制与导出都用这个编号"
    )
    publisher: str = Field(description="简报的发布单位（未知时为空）")
    date: str = Field(description="简报的日期（未知时为空）")
    reference: str = Field(
        description="写进文稿的参考文献（格式见配置 [draft] citation_style，默认 GB/T 7714）"
    )


class Evidence(BaseModel):
    n: int = Field(description="所引段落编号")
    start: int = Field(description="依据在 passages[n-1].text 中的起点（按字符计）")
    end: int = Field(description="依据的终点（不含）")


class Sentence(BaseModel):
    text: str = Field(description="回答中的一句（含 [n]）")
    cited: list[int]
    supported: bool
    support: float = Field(description="支持度，[0, 1]")
    status: Literal["quoted", "verified", "reattached", "attached", "unsupported", "uncited", "exempt"] = (
        Field(
            description=(
                "quoted 原文摘录（抽取式回答器逐字引用所引段落，不是核验结论）；verified 已核实（生成的句子经所引段落支持）；"
                "reattached 已改引真正支持它的段落；attached 补上了缺失的标记；unsupported/uncited 找不到依据；exempt 无需出处"
            )
        )
    )
    evidence: list[Evidence] = Field(
        default_factory=list, description="每个所引段落中说出这句话的位置；页面据此高亮原文"
    )


class Usage(BaseModel):
    """Token counts: the LLM backend's own when it reports them, else counted as the README's
    OpenAI section describes (the offline answerer always)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AskResponse(BaseModel):
    question: str
    query: str = Field(description="用于检索的完整问题（追问经改写后）")
    answer: str = Field(description="回答，每句带 [n] 引用标记")
    refused: bool = Field(description="是否拒答（此时 citations 为空）")
    refusal_reason: str | None
    confidence: float = Field(
        description="最佳句子能回答问题的校准概率，低于拒答阈值即拒答（见 README“回答”）"
    )
    citations: list[Citation]
    passages: list[Passage] = Field(description="回答器看到的全部段落（拒答时可供人工查看）")
    sentences: list[Sentence] = Field(description="逐句引用核验结果")
    notices: list[str] = Field(description="引用修复、后端回退等说明")
    answerer: str
    timings: dict[str, float] = Field(description="各阶段耗时（毫秒）")
    usage: Usage | None = Field(description="token 用量：大模型后端报告的，或按 README 所述方法估算")
    markdown: str = Field(description="可粘贴的 Markdown：脚注按出现顺序编号 [^1]，附出处")
    plain: str = Field(description="可粘贴到 Word 的纯文本：【1】式标注，末尾附参考文献列表")
    html: str = Field(description="富文本（HTML）：上标编号链接到参考文献列表，粘贴进 Word/WPS 保留上标")


class SourceContext(_Located):
    kind: str = Field(description="pdf、txt 或 md")
    context: str = Field(description="原文：PDF 为段落所在页的全文，文本文件为段落前后各约 800 字")
    highlight_start: int = Field(description="段落在 context 中的起始位置（字符）")
    highlight_end: int
    starts_at_beginning: bool = Field(description="context 是否从简报开头开始")
    ends_at_end: bool = Field(description="context 是否到简报结尾为止")


class DocumentInfo(BaseModel):
    doc: str = Field(description="文件名，用于 docs 过滤与删除")
    title: str
    publisher: str
    date: str
    kind: str = Field(description="文件类型（扩展名）：pdf、docx、doc、html、ofd、txt、md 等")
    chunks: int


class DocumentFields(BaseModel):
    """简报的描述字段：未给出的字段不变，空字符串清除（标题恢复为文件中的标题）。"""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=MAX_FIELD_CHARS, description="标题")
    publisher: str | None = Field(default=None, max_length=MAX_FIELD_CHARS, description="发布机构")
    date: str | None = Field(default=None, max_length=10, description="日期，YYYY-MM-DD（或 YYYY-MM、YYYY）")


class IndexReportOut(BaseModel):
    added: list[str]
    updated: list[str]
    removed: list[str]
    failed: dict[str, str] = Field(description="未能处理的文件及原因")
    documents: int
    chunks: int
    embedded_chunks: int
    embedded_sentences: int = Field(0, description="本次嵌入的句子数（答案引用的句子，建索引时预先嵌入）")


class RebuildStatus(BaseModel):
    state: Literal["idle", "running", "done", "failed"]
    stage: str | None = Field(
        None,
        description="parse（解析简报）、pages（读取 PDF 页面）、embed（生成向量）或 sentences（生成句向量）",
    )
    done: int = 0
    total: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    report: IndexReportOut | None = None
    error: ErrorDetail | None = None


class Health(BaseModel):
    status: Literal["ok"]
    ready: bool
    index: str
    backend: str = Field(description="索引所在：local（本机 index/ 目录）或 milvus（地址与集合名）")
    index_version: str = Field(description="已加载的索引版本；另一进程写入新版本后服务会自动换上")
    documents: int
    chunks: int
    embedder: str
    answerer: str = Field(description="默认回答器")
    answerers: list[str] = Field(description="可在请求中选择的回答器")
    formats: dict[str, list[str]] = Field(description="可导入的文件格式：名称 → 扩展名")
    limits: dict[str, int] = Field(
        description="请求上限：answer_passages 作答段落数 k，search_results 检索结果数 k，question_chars 问题字数"
    )
    index_created_at: str | None
    rebuild: RebuildStatus


MAX_EXPORT_TURNS = 200
MAX_EXPORT_ANSWER_CHARS = 20_000


class ExportCitation(_Request):
    n: Annotated[int, Field(ge=1), BeforeValidator(_integral)] = Field(description="回答中 [n] 的 n")
    reference: str | None = Field(None, max_length=2000, description="参考文献；缺省时用 title 与 section")
    title: str = Field("", max_length=500)
    section: str = Field("", max_length=2000)


class ExportTurn(_Request):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    answer: str = Field(max_length=MAX_EXPORT_ANSWER_CHARS, description="回答原文（含 [n]）")
    refused: bool = False
    refusal_reason: str | None = Field(None, max_length=500)
    citations: list[ExportCitation] = Field(default_factory=list, max_length=MAX_ANSWER_PASSAGES)


class ExportRequest(_Request):
    """要导出的问答：每个 turn 取 /api/ask 返回的 answer、refused、refusal_reason，citations 中每条取 n、reference、title、section。"""

    title: str | None = Field(None, max_length=200, description="文档标题（整段对话导出时用）")
    turns: list[ExportTurn] = Field(min_length=1, max_length=MAX_EXPORT_TURNS)


class EvalSetInfo(BaseModel):
    name: str = Field(description="eval/sets/ 中的文件名")
    items: int = Field(description="题数")


class EvalRunRequest(_Request):
    set: str = Field(
        min_length=1, max_length=255, description="要运行的评测集（GET /api/eval/sets 中的 name）"
    )


class EvalJobStatus(BaseModel):
    state: Literal["idle", "running", "done", "failed"]
    eval_set: str | None = None
    run: str | None = Field(None, description="完成后的评测结果名（GET /api/eval/runs/{run}）")
    stage: str | None = Field(None, description="作答 或 评分")
    done: int = 0
    total: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    error: ErrorDetail | None = None


class EvalRunInfo(BaseModel):
    run: str = Field(description="评测结果名（eval/runs/ 下的目录名）")
    eval_set: str
    created_at: str | None
    items: int
    metrics: dict[str, float | None] = Field(description="总体指标（含义见报告）")


class EvalComparison(BaseModel):
    markdown: str = Field(description="对比报告（Markdown）：配置差异、指标变化、变好与变差的条目")
