"""Prompt templates are files: ``prompts/<name>.zh.md`` with ``$variables`` (string.Template).

A project home may override any of them with its own ``prompts/<name>.zh.md``.
"""

from __future__ import annotations

import string
from pathlib import Path

from rag.errors import PromptError

SHIPPED_PROMPTS = Path(__file__).resolve().parent.parent / "prompts"


def prompt_path(name: str, home: Path | None = None) -> Path:
    for folder in ([home / "prompts"] if home else []) + [SHIPPED_PROMPTS]:
        path = folder / f"{name}.zh.md"
        if path.is_file():
            return path
    raise PromptError(f"找不到提示词 {name}.zh.md（在 {SHIPPED_PROMPTS} 或项目目录的 prompts/ 中）")


def render_prompt(name: str, home: Path | None = None, **values: str) -> str:
    """The prompt with every ``$variable`` filled; a missing or unknown one is a ``PromptError``."""
    path = prompt_path(name, home)
    template = string.Template(path.read_text(encoding="utf-8"))
    try:
        return template.substitute(values)
    except KeyError as e:
        raise PromptError(f"提示词 {path.name} 使用了未提供的变量 ${e.args[0]}") from e
    except ValueError as e:
        raise PromptError(f"提示词 {path.name} 格式错误：{e}") from e


def shipped_prompt_names() -> list[str]:
    return sorted(path.name.removesuffix(".zh.md") for path in SHIPPED_PROMPTS.glob("*.zh.md"))
