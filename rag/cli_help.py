"""Command-line help in Chinese: panel titles, the usage line, the help option and value
placeholders (文本, 整数, 路径 rather than ``<str>``, ``<int>``, ``<path>``; none for a switch).

Typer writes these in English; ``ChineseTyper`` gives every command and group it creates the
classes below, which fill them in when help is shown, and set the panel titles and notes when
help or an error is about to be shown (typer imports its rich help module, 70 ms, only then).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import typer
from typer._click.exceptions import ClickException
from typer.core import TyperArgument, TyperCommand, TyperGroup
from typer.exceptions import Abort
from typer.models import CommandFunctionType


def chinese_labels() -> None:
    """Typer's panel titles and notes, in Chinese."""
    import typer.rich_utils as rich_help

    rich_help.ARGUMENTS_PANEL_TITLE = "参数"
    rich_help.OPTIONS_PANEL_TITLE = "选项"
    rich_help.COMMANDS_PANEL_TITLE = "命令"
    rich_help.ERRORS_PANEL_TITLE = "错误"
    rich_help.REQUIRED_LONG_STRING = "[必填]"
    rich_help.DEFAULT_STRING = "[默认：{}]"
    rich_help.ENVVAR_STRING = "[环境变量：{}]"
    rich_help.DEPRECATED_STRING = "（已弃用）"
    rich_help.ABORTED_TEXT = "已中止。"
    rich_help.RICH_HELP = "用 [blue]'{command_path} {help_option}'[/] 查看帮助。"


HELP_OPTION_TEXT = "显示帮助并退出。"
_PLACEHOLDERS = {
    str: "文本",
    int: "整数",
    float: "数字",
    "Path": "路径",
}


def placeholder(param: Any) -> str:
    """What a value of ``param`` is, in Chinese: 文本, 整数, 路径…; "" for a switch."""
    if getattr(param, "is_flag", False):
        return ""
    annotation = param.type_descriptor.annotation
    inner = (
        getattr(annotation, "__args__", (annotation,))[0] if getattr(param, "multiple", False) else annotation
    )
    name = _PLACEHOLDERS.get(inner) or _PLACEHOLDERS.get(getattr(inner, "__name__", ""), "值")
    return f"{name}（可多次）" if getattr(param, "multiple", False) else name


def _argument_type(param: Any, ctx: Any) -> str:
    return placeholder(param)


class _Chinese:
    """What the command and group classes share: the help option, placeholders, the usage
    line, and the Chinese labels set before typer shows help or an error."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        chinese_labels()
        super().format_help(ctx, formatter)  # type: ignore[misc]

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)  # type: ignore[misc]
        except (ClickException, Abort):
            chinese_labels()
            raise

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except (ClickException, Abort):
            chinese_labels()
            raise

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION_TEXT
            option.metavar = ""
        return option

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if isinstance(param, TyperArgument):
                # An argument's type column ignores its metavar: give it the placeholder directly.
                param.display_type_rich = partial(_argument_type, param)  # type: ignore[method-assign]
            elif param.metavar is None:
                param.metavar = placeholder(param)
        return params

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix="用法：")


class ChineseCommand(_Chinese, TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "options_metavar": "[选项]"})


class ChineseGroup(_Chinese, TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(
            *args, **{**kwargs, "options_metavar": "[选项]", "subcommand_metavar": "命令 [参数]..."}
        )


class ChineseTyper(typer.Typer):
    """A ``typer.Typer`` whose commands show their help in Chinese."""

    def __init__(self, *, cls: type[TyperGroup] = ChineseGroup, **kwargs: Any) -> None:
        super().__init__(cls=cls, **kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[CommandFunctionType], CommandFunctionType]:
        kwargs.setdefault("cls", ChineseCommand)
        return super().command(*args, **kwargs)
