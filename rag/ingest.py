"""Read briefings of every supported format (``rag.readers``) into cleaned ``Document``s."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from rag.cleaning import clean_lines
from rag.errors import DocumentError, FileTooLargeError
from rag.headings import RANK_TOPIC
from rag.readers import SUPPORTED_SUFFIXES, PageProgress, read_file, unsupported_type
from rag.types import Document, Paragraph

MAX_FILE_BYTES = 200 * 1024 * 1024
_DATE_LINE = re.compile(r"^[（(]|\d{4}\s*年\s*\d{1,2}\s*月")
_BREADCRUMB = re.compile(r"\S\s*(?:>|＞|›|»|→)\s*\S.*(?:>|＞|›|»|→)")


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def list_sources(data_dir: Path) -> list[Path]:
    """Briefing files directly under ``data_dir``, sorted by name. Hidden files are not briefings
    (macOS ``._name.pdf`` metadata, editors' lock files; an upload may not start with a dot)."""
    if not data_dir.is_dir():
        return []
    return sorted(
        p
        for p in data_dir.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUPPORTED_SUFFIXES
    )


def load_document(
    path: Path,
    meta: dict[str, str] | None = None,
    digest: str | None = None,
    on_page: PageProgress | None = None,
) -> Document:
    """Read, clean and describe one briefing; raises ``DocumentError`` naming the file.
    ``on_page(done, total)`` follows a paged file (PDF, OFD) page by page."""
    suffix = path.suffix.lower()
    if why := unsupported_type(path.name):
        raise DocumentError(why)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise DocumentError(f"{path.name}：无法读取文件：{e}") from e
    if size == 0:
        raise DocumentError(f"{path.name}：文件为空")
    if size > MAX_FILE_BYTES:
        raise FileTooLargeError(
            f"{path.name}：文件过大（{format_size(size)}，上限 {format_size(MAX_FILE_BYTES)}）"
        )
    extracted = read_file(path, on_page)
    cleaned = clean_lines(extracted.lines)
    if not cleaned.text.strip():
        raise DocumentError(f"{path.name}：没有可提取的文字")
    # What the user set (data/briefings.toml, rag add options, the upload form) wins over
    # what the file says about itself.
    meta = dict(meta or {})
    title = (
        meta.get("title")
        or extracted.meta.get("title")
        or _guess_title(cleaned.text, cleaned.paragraphs)
        or path.stem
    )
    return Document(
        doc_id=path.name,
        title=title,
        path=path.name,
        kind=suffix.lstrip("."),
        content_hash=digest or content_hash(path),
        text=cleaned.text,
        paragraphs=cleaned.paragraphs,
        anchors=cleaned.anchors,
        meta=meta,
        unit=extracted.unit,
        file_meta={k: v for k, v in extracted.meta.items() if k != "title"},
    )


def format_size(size: int) -> str:
    """``size`` bytes for a message: 200 MB, 1.5 MB, 12 KB, 800 字节."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} 字节"


def _guess_title(text: str, paragraphs: list[Paragraph]) -> str | None:
    """A Markdown title, else the first short line (the masthead) before the body starts, passing
    over a page's breadcrumb (“首页 > 政务公开 > 政策文件”), date lines (“（2011年6月28日……通过）”)
    and bracketed labels (【字体：大 中 小】); never a section label (一、…, 第一章). Else the
    first title-like heading. None: the file name stands in."""
    for para in paragraphs:
        if para.rank == 0:
            return str(para.heading)
    for para in paragraphs[:4]:
        line = text[para.start : para.end]
        if _BREADCRUMB.search(line) or _DATE_LINE.search(line) or line.startswith("【"):
            continue
        if para.heading is not None and para.rank != RANK_TOPIC:
            break  # the sections have begun
        if 2 <= len(line) <= 40 and not re.search(r"[，。；！？,;]", line):
            return line
        break
    return next((str(p.heading) for p in paragraphs[:5] if p.heading and p.rank == RANK_TOPIC), None)
