"""Every command's --help reads in Chinese: titles, usage, the help option, value placeholders."""

from __future__ import annotations

import click
import pytest
import typer.main
from typer.testing import CliRunner

from rag.cli import app


def command_paths(command: click.Command, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, sub in getattr(command, "commands", {}).items():
        paths += command_paths(sub, (*prefix, name))
    return paths


PATHS = command_paths(typer.main.get_command(app))
ENGLISH = (
    "Usage",
    "Options",
    "Arguments",
    "Commands",
    "Show this message",
    "[required]",
    "[OPTIONS]",
    "COMMAND",
)
TYPE_NAMES = ("<bool>", "<str>", "<int", "<path>", "<float>", "list[")


def test_the_walk_finds_every_command() -> None:
    assert {" ".join(p) for p in PATHS} >= {
        "",
        "ask",
        "add",
        "describe",
        "serve",
        "eval",
        "eval run",
        "eval compare",
    }


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "rag" for p in PATHS])
def test_help_reads_in_chinese(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "用法：" in result.output and "显示帮助并退出" in result.output
    assert not [word for word in ENGLISH + TYPE_NAMES if word in result.output], result.output
