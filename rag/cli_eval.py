"""``rag eval``: run an eval set (``rag eval run``, or ``rag eval SET``), compare two runs
(``rag eval compare``) and draft a set from the briefings (``rag eval draft-set``). Registered
on the main app by ``rag.cli``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from rag.cli_help import ChineseGroup, ChineseTyper
from rag.config import MAX_ANSWER_PASSAGES


class _EvalCommands(ChineseGroup):
    """``rag eval SET`` is short for ``rag eval run SET``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


eval_app = ChineseTyper(
    cls=_EvalCommands,
    help="评测：rag eval <评测集> 运行并写出报告；rag eval compare <结果A> <结果B> 逐条对比两次结果；rag eval draft-set 从简报起草评测集。",
    no_args_is_help=True,
)


@eval_app.command("run")
def eval_run(
    ctx: typer.Context,
    eval_set: Annotated[Path, typer.Argument(help="评测集 JSONL（格式见 eval/README.md）")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="输出目录，默认 eval/runs/<时间>-<评测集>")
    ] = None,
    k: Annotated[
        int | None,
        typer.Option("-k", min=1, max=MAX_ANSWER_PASSAGES, help="交给回答器的段落数，默认 answer.passages"),
    ] = None,
    answerer: Annotated[
        str | None,
        typer.Option("--answerer", "-a", help="回答器：extractive、llm 或 llm:<预设名>，默认按配置"),
    ] = None,
    judge: Annotated[
        str, typer.Option("--judge", "-j", help="支持判定：offline（默认，不需下载）、llm 或 llm:<预设名>")
    ] = "offline",
) -> None:
    """运行评测集：每条经与 rag ask 相同的流程作答（带 history 的追问先改写），写出 run.jsonl、report.json、report.md 与 chart.png。"""
    from rag.answerers import check_answerer
    from rag.cli import _pipeline, _progress, _settings, err
    from rag.eval_run import evaluate_set, new_run_dir, write_outputs
    from rag.evaluate import load_eval_set

    settings = _settings(ctx)
    load_eval_set(eval_set)  # a malformed set fails before the index is loaded
    check_answerer(answerer or settings.answerer, settings)
    pipeline = _pipeline(settings)
    target = out_dir or new_run_dir(settings.home, eval_set)
    with _progress() as progress:
        evaluation = evaluate_set(pipeline, eval_set, k, answerer, judge, progress)
    write_outputs(evaluation, target)
    _print_metrics(evaluation.report)
    err.print(f"结果已写入 {target}（report.md 列出最差条目及原因）")


def _print_metrics(report: dict[str, Any]) -> None:
    from rag.cli import out
    from rag.eval_format import metric_label, report_trivial_note, trivial_set
    from rag.evaluate import HEADLINE, LOWER_IS_BETTER

    trivial, note = trivial_set(report), report_trivial_note(report)
    table = Table("指标", "数值", "备注", title="全部条目（按题型、按简报见 report.md）")
    for key in HEADLINE:
        value = report.get(key)
        remark = note if key in trivial else ("越低越好" if key in LOWER_IS_BETTER else "")
        table.add_row(metric_label(key), "–" if value is None else f"{value:.3f}", escape(remark))
    out.print(table)


@eval_app.command("compare")
def eval_compare(
    run_a: Annotated[Path, typer.Argument(help="结果 A：rag eval 的输出目录（或其中的 report.json）")],
    run_b: Annotated[Path, typer.Argument(help="结果 B：同上")],
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="同时把对比写入此 Markdown 文件")
    ] = None,
) -> None:
    """逐条对比两次评测结果：配置差异、指标变化、变好与变差的条目。"""
    from rich.markdown import Markdown

    from rag.cli import err, out
    from rag.eval_compare import compare_reports, render_comparison

    text = render_comparison(compare_reports(run_a, run_b))
    out.print(Markdown(text))
    if out_file:
        out_file.write_text(text, encoding="utf-8")
        err.print(f"对比已写入 {out_file}")


@eval_app.command("draft-set")
def eval_draft_set(
    ctx: typer.Context,
    docs: Annotated[
        list[str] | None, typer.Argument(help="简报文件名（rag list 中的“文件”列）；不给则用全部简报")
    ] = None,
    per_doc: Annotated[int, typer.Option("--per-doc", min=1, max=50, help="每篇简报最多起草的题数")] = 5,
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="写到此文件，默认 eval/sets/draft-<时间>.jsonl")
    ] = None,
    llm: Annotated[
        str | None,
        typer.Option("--llm", help="再请大模型把每道题改写得更自然：llm 或 llm:<预设名>（见“大模型后端”）"),
    ] = None,
) -> None:
    """从简报起草评测集：把陈述数量的句子（“共有 240 名创业者参加”）改成问这个数量的问题，原句作证据、数量作关键事实。是草稿（draft: true），请逐条核对、修改或删除后再用。"""
    from rag.cli import _pipeline, _settings, err, out
    from rag.errors import UnknownDocumentError
    from rag.eval_draft import draft_items, reworded_by_llm

    settings = _settings(ctx)
    documents = _pipeline(settings).index.documents
    unknown = [doc for doc in docs or [] if doc not in documents]
    if unknown:
        raise UnknownDocumentError(f"未找到简报：{'、'.join(unknown)}。现有简报：{'、'.join(documents)}")
    chosen = [documents[doc] for doc in docs] if docs else list(documents.values())
    items = draft_items(chosen, per_doc)
    if llm:
        items, kept = reworded_by_llm(items, {d.doc_id: d.title for d in chosen}, settings, llm)
        if kept:
            err.print(f"[yellow]注意[/]：{kept} 道题大模型没有改写好（失败或泄露了答案），保留了离线草稿")
    target = out_file or settings.home / "eval" / "sets" / f"draft-{datetime.now():%Y%m%d-%H%M%S}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8"
    )
    for item in items:
        out.print(f"{item['id']}  {item['question']}  → {item['answer_keywords'][0]}")
    err.print(
        f"已起草 {len(items)} 道题，写入 {target}。这是草稿：请逐条核对问题是否通顺、答案是否唯一，"
        "改好后删去 draft 字段，并可补充不可回答题；用 python eval/check_set.py 检查。"
    )
