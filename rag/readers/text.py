"""Plain text and Markdown: the encoding found from a BOM or by trying UTF-8 then GB18030;
Markdown's HTML comments, which a reader never sees, are left out."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from rag.cleaning import SourceLine
from rag.errors import DocumentError
from rag.readers import Extracted, PageProgress

# A byte-order mark decides the encoding (UTF-32 first: its LE mark starts with UTF-16's);
# without one, UTF-8 then GB18030 (a superset of GBK and GB2312).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
_TEXT_ENCODINGS = ("utf-8", "gb18030")


def decode_text(name: str, data: bytes) -> str:
    """The text of a .txt/.md file: a BOM (UTF-8, UTF-16, UTF-32) is honoured first, then UTF-8,
    then GB18030/GBK. NUL bytes without a BOM mean a binary file, not text."""
    for bom, encoding, label in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as e:
                raise DocumentError(
                    f"{name}：文件开头标明是 {label} 编码，但内容无法按 {label} 解码（文件可能已损坏）"
                ) from e
    if b"\x00" in data:
        raise DocumentError(
            f"{name}：不是文本文件（含有二进制内容），请确认文件类型；如果是没有 BOM 的 UTF-16 文本，请另存为 UTF-8"
        )
    for encoding in _TEXT_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DocumentError(f"{name}：无法识别文本编码（支持 UTF-8、GBK/GB18030，以及带 BOM 的 UTF-16）")


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_MARKDOWN = (".md", ".markdown")


def _without_comments(text: str) -> str:
    """``text`` with its HTML comments (``<!-- … -->``) blanked, their line and page breaks
    kept so that line and page numbers still hold."""
    return _HTML_COMMENT.sub(lambda comment: re.sub(r"[^\r\n\f]", "", comment[0]), text)


def read_text_lines(path: Path) -> list[SourceLine]:
    """Lines of a text file; a form feed starts a new page."""
    text = decode_text(path.name, path.read_bytes())
    if path.suffix.lower() in _MARKDOWN:
        text = _without_comments(text)
    has_pages = "\f" in text
    lines: list[SourceLine] = []
    page = 1
    # Only \n, \r\n and \r end a line: str.splitlines() would also break at \f (a page break
    # within the line) and at \v, \x1c–\x1e, \x85, \u2028, throwing line numbers off.
    for number, raw in enumerate(_LINE_BREAK.split(text.removesuffix("\n").removesuffix("\r")), start=1):
        parts = raw.split("\f")
        for i, part in enumerate(parts):
            if i:
                page += 1
            lines.append(SourceLine(part, number, page if has_pages else None))
    return lines


def read(path: Path, on_page: PageProgress | None = None) -> Extracted:
    return Extracted(read_text_lines(path))
