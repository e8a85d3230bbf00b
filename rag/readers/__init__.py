"""Format readers: one module per file type, chosen by the file's extension.

Every reader turns a file into the same thing, an ``Extracted``: its lines, each with a
locator (page for paged formats, else the line or paragraph number), and what the file says
about itself (title, author, date). Cleaning, chunking and indexing never see the format.
Reader modules are imported on first use: python-docx and trafilatura are slow to import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rag.cleaning import SourceLine
from rag.errors import DocumentError

PageProgress = Callable[[int, int], None]  # (pages done, pages in the file)


@dataclass(frozen=True)
class Extracted:
    """A file's lines and its own metadata (``title``, ``author``, ``date`` when it has them).

    ``unit`` names what ``SourceLine.line`` counts where there are no pages: 行 for a text
    file, 段 for formats read paragraph by paragraph (Word, web pages).
    """

    lines: list[SourceLine]
    meta: dict[str, str] = field(default_factory=dict)
    unit: str = "行"


@dataclass(frozen=True)
class Format:
    label: str  # the format's name in messages
    suffixes: tuple[str, ...]
    module: str  # the module whose ``read(path, on_page)`` returns an ``Extracted``


FORMATS = (
    Format("PDF", (".pdf",), "rag.readers.pdf"),
    Format("Word", (".docx",), "rag.readers.docx"),
    Format("Word 97–2003", (".doc",), "rag.readers.doc"),
    Format("网页", (".html", ".htm"), "rag.readers.html"),
    Format("OFD", (".ofd",), "rag.readers.ofd"),
    Format("文本", (".txt", ".md", ".markdown"), "rag.readers.text"),
)
SUPPORTED_SUFFIXES = tuple(suffix for fmt in FORMATS for suffix in fmt.suffixes)
SUPPORTED_LIST = "、".join(f"{fmt.label}（{' '.join(fmt.suffixes)}）" for fmt in FORMATS)


def format_of(name: str) -> Format | None:
    suffix = Path(name).suffix.lower()
    return next((fmt for fmt in FORMATS if suffix in fmt.suffixes), None)


def unsupported_type(name: str) -> str | None:
    """Why a file called ``name`` cannot be a briefing, or None when its type is supported."""
    if format_of(name):
        return None
    suffix = Path(name).suffix.lower()
    kind = f"类型 {suffix}" if suffix else "类型（没有扩展名）"
    return (
        f"{name}：不支持的文件{kind}。支持 {SUPPORTED_LIST}；"
        "其他格式（如 .wps、.xlsx、.pptx）请先另存为 .docx 或 PDF"
    )


def join_words(words: Iterable[str]) -> str:
    """Words of one line as laid out on a page: a space only between two Latin words or numbers."""
    text = ""
    for word in words:
        gap = text and text[-1].isascii() and text[-1].isalnum() and word[:1].isascii() and word[:1].isalnum()
        text += (" " if gap else "") + word
    return text


def read_file(path: Path, on_page: PageProgress | None = None) -> Extracted:
    """The lines and metadata of ``path``, read by the reader for its extension.
    Raises ``DocumentError`` (in Chinese, naming the file) when it cannot be read."""
    fmt = format_of(path.name)
    if fmt is None:
        raise DocumentError(unsupported_type(path.name) or path.name)
    reader = importlib.import_module(fmt.module)
    try:
        extracted: Extracted = reader.read(path, on_page)
    except OSError as e:
        raise DocumentError(f"{path.name}：无法读取文件：{e.strerror or e}") from e
    return extracted
