"""Read briefings (.txt, .md, .pdf) into cleaned ``Document``s."""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.cleaning import SourceLine, clean_lines
from rag.errors import DocumentError, FileTooLargeError
from rag.types import Document

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf")
METADATA_FILE = "briefings.toml"
MAX_FILE_BYTES = 200 * 1024 * 1024
_TEXT_ENCODINGS = ("utf-8-sig", "gb18030")
PageProgress = Callable[[int, int], None]  # (pages done, pages in the PDF)


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def list_sources(data_dir: Path) -> list[Path]:
    """Briefing files directly under ``data_dir``, sorted by name."""
    if not data_dir.is_dir():
        return []
    return sorted(
        p for p in data_dir.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
    )


def load_metadata(data_dir: Path) -> dict[str, dict[str, str]]:
    """Per-file metadata from ``data/briefings.toml`` (title, publisher, date, original)."""
    path = data_dir / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise DocumentError(f"元数据文件 {path} 格式错误：{e}") from e
    return {name: {k: str(v) for k, v in entry.items()} for name, entry in raw.items() if isinstance(entry, dict)}


def names_by_original(data_dir: Path) -> dict[str, str]:
    """Original file name (``original`` in the metadata, an eval set's ``source``) -> name in ``data/``."""
    return {meta["original"]: name for name, meta in load_metadata(data_dir).items() if "original" in meta}


def read_text_lines(path: Path) -> list[SourceLine]:
    """Lines of a text file; a form feed starts a new page."""
    data = path.read_bytes()
    for encoding in _TEXT_ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DocumentError(f"{path.name}：无法识别文本编码（支持 UTF-8 与 GBK/GB18030）")
    has_pages = "\f" in text
    lines: list[SourceLine] = []
    page = 1
    for number, raw in enumerate(text.splitlines(), start=1):
        parts = raw.split("\f")
        for i, part in enumerate(parts):
            if i:
                page += 1
            lines.append(SourceLine(part, number, page if has_pages else None))
    return lines


def read_pdf_lines(path: Path, on_page: PageProgress | None = None) -> list[SourceLine]:
    """Lines of a PDF's text layer, page by page (1-based pages); ``on_page(done, total)``
    after each page. Each page's parsed layout is dropped once its text is out, so memory
    holds the text, not the layout, of a long PDF."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfplumber.utils.exceptions import PdfminerException

    lines: list[SourceLine] = []
    number = 0
    try:
        with pdfplumber.open(path) as pdf:
            total = len(pdf.pages)
            for page_number, page in enumerate(pdf.pages, start=1):
                text = page.extract_text() or ""
                page.close()
                for raw in text.splitlines():
                    number += 1
                    lines.append(SourceLine(raw, number, page_number))
                # Blank separator so a page break reads as a break between lines.
                lines.append(SourceLine("", number, page_number))
                if on_page:
                    on_page(page_number, total)
    except (PDFSyntaxError, PdfminerException, ValueError, KeyError, TypeError) as e:
        raise DocumentError(f"{path.name}：无法解析 PDF（文件损坏或已加密）：{e}") from e
    if not any(line.text.strip() for line in lines):
        raise DocumentError(f"{path.name}：PDF 没有可提取的文字层（可能是扫描件），请先做 OCR 再导入")
    return lines


def load_document(
    path: Path, meta: dict[str, str] | None = None, digest: str | None = None, on_page: PageProgress | None = None
) -> Document:
    """Read, clean and describe one briefing; raises ``DocumentError`` naming the file.
    ``on_page(done, total)`` follows a PDF page by page."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{path.name}：不支持的文件类型 {suffix or '（无扩展名）'}，支持 .pdf .txt .md")
    try:
        size = path.stat().st_size
    except OSError as e:
        raise DocumentError(f"{path.name}：无法读取文件：{e}") from e
    if size == 0:
        raise DocumentError(f"{path.name}：文件为空")
    if size > MAX_FILE_BYTES:
        raise FileTooLargeError(f"{path.name}：文件过大（{size // (1024 * 1024)} MB，上限 {MAX_FILE_BYTES // (1024 * 1024)} MB）")
    lines = read_pdf_lines(path, on_page) if suffix == ".pdf" else read_text_lines(path)
    cleaned = clean_lines(lines)
    if not cleaned.text.strip():
        raise DocumentError(f"{path.name}：没有可提取的文字")
    meta = dict(meta or {})
    title = meta.get("title") or _guess_title(cleaned.text, cleaned.paragraphs) or path.stem
    return Document(
        doc_id=path.name,
        title=title,
        path=path.name,
        kind=suffix.lstrip("."),
        content_hash=digest or content_hash(path),
        text=cleaned.text,
        paragraphs=cleaned.paragraphs,
        anchors=cleaned.anchors,
        meta={k: v for k, v in meta.items() if k != "title"},
    )


def _guess_title(text: str, paragraphs: list[Any]) -> str | None:
    """A Markdown title, else a short first line (the masthead), else the first heading."""
    for para in paragraphs:
        if para.rank == 0:
            return str(para.heading)
    first = text[paragraphs[0].start : paragraphs[0].end] if paragraphs else ""
    if 2 <= len(first) <= 40 and not re.search(r"[，。；！？,;]", first):
        return first
    return next((str(p.heading) for p in paragraphs[:5] if p.heading), None)
