"""``rag add | describe | remove | list``: the briefings in the corpus. Registered on the main
app by ``rag.cli``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from rag.errors import BadInputError, batch_error


def add(
    ctx: typer.Context,
    files: Annotated[
        list[Path], typer.Argument(help="要加入的文件：PDF、Word（.docx/.doc）、网页（.html）、OFD、.txt/.md")
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="data/ 中已有同名简报时替换它（默认拒绝，保留原文件）")
    ] = False,
    title: Annotated[
        str | None, typer.Option("--title", help="简报标题（默认取自文件；只能用于单个文件）")
    ] = None,
    publisher: Annotated[str | None, typer.Option("--publisher", help="发布机构")] = None,
    date: Annotated[str | None, typer.Option("--date", help="日期，YYYY-MM-DD（默认取自文件）")] = None,
) -> None:
    """把简报复制到 data/ 并加入索引；已有同名简报时默认拒绝，加 --replace 才替换。"""
    from rag.cli import _print_report, _progress, _settings
    from rag.corpus import add_files
    from rag.embedders import get_embedder

    settings = _settings(ctx)
    meta = {k: v for k, v in {"title": title, "publisher": publisher, "date": date}.items() if v is not None}
    with _progress() as progress:
        report = add_files(
            settings, get_embedder(settings.embedder), files, progress, replace=replace, meta=meta
        )
    _print_report(report)
    if report.failed and not (report.added or report.updated):
        raise batch_error(list(report.errors().values()))  # the upload route's error for the same batch


def describe(
    ctx: typer.Context,
    doc: Annotated[str, typer.Argument(help="简报名称（rag list 中的“文件”列）")],
    title: Annotated[str | None, typer.Option("--title", help="标题（空字符串恢复为文件中的标题）")] = None,
    publisher: Annotated[str | None, typer.Option("--publisher", help="发布机构（空字符串清除）")] = None,
    date: Annotated[str | None, typer.Option("--date", help="日期，YYYY-MM-DD（空字符串清除）")] = None,
) -> None:
    """设置简报的标题、发布机构和日期（记在 data/briefings.toml），并更新索引与引用。"""
    from rag.cli import _print_report, _progress, _settings
    from rag.corpus import set_metadata
    from rag.embedders import get_embedder

    settings = _settings(ctx)
    if title is None and publisher is None and date is None:
        raise BadInputError("请至少指定 --title、--publisher、--date 之一")
    with _progress() as progress:
        report = set_metadata(
            settings,
            get_embedder(settings.embedder),
            doc,
            {"title": title, "publisher": publisher, "date": date},
            progress,
        )
    _print_report(report)


def remove(
    ctx: typer.Context,
    doc: Annotated[str, typer.Argument(help="简报名称（rag list 中的“文件”列）")],
) -> None:
    """从语料和索引中移除一篇简报（文件移到 data/.removed/）。"""
    from rag.cli import _print_report, _progress, _settings
    from rag.corpus import remove_document
    from rag.embedders import get_embedder

    settings = _settings(ctx)
    with _progress() as progress:
        report = remove_document(settings, get_embedder(settings.embedder), doc, progress)
    _print_report(report)


def list_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """列出已索引的简报。"""
    from rag.backends import open_store
    from rag.cli import _settings, out

    settings = _settings(ctx)
    index = open_store(settings).load()
    rows = index.document_summaries()
    if as_json:
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("文件", "标题", "发布单位", "日期", "分块")
    for row in rows:
        table.add_row(*(escape(str(row[key])) for key in ("doc", "title", "publisher", "date", "chunks")))
    out.print(table)
    out.print(
        f"索引 {settings.index_name}，嵌入模型 {index.embedder}，共 {len(rows)} 篇、{len(index.chunks)} 个分块。"
    )
