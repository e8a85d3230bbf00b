"""Read briefings (.txt, .md, .pdf) into cleaned ``Document``s."""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import itertools
import json
import os
import queue
import re
import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rag.cleaning import SourceLine, clean_lines
from rag.errors import DocumentError, FileTooLargeError
from rag.types import Document

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf")
METADATA_FILE = "briefings.toml"
MAX_FILE_BYTES = 200 * 1024 * 1024
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
_CID = re.compile(r"\(cid:\d+\)")  # how pdfminer writes a glyph its font gives no Unicode for
PageProgress = Callable[[int, int], None]  # (pages done, pages in the PDF)


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


def load_metadata(data_dir: Path) -> dict[str, dict[str, str]]:
    """Per-file metadata from ``data/briefings.toml`` (title, publisher, date, original)."""
    path = data_dir / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise DocumentError(f"元数据文件 {path} 格式错误：{e}") from e
    return {
        name: {k: str(v) for k, v in entry.items()} for name, entry in raw.items() if isinstance(entry, dict)
    }


def names_by_original(data_dir: Path) -> dict[str, str]:
    """Original file name (``original`` in the metadata, an eval set's ``source``) -> name in ``data/``."""
    return {meta["original"]: name for name, meta in load_metadata(data_dir).items() if "original" in meta}


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


def read_text_lines(path: Path) -> list[SourceLine]:
    """Lines of a text file; a form feed starts a new page."""
    text = decode_text(path.name, path.read_bytes())
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


# A PDF of at least this many pages is read by worker processes, each a block of its pages:
# starting one (a fresh interpreter importing pdfplumber) costs about as much as 10 pages.
PARALLEL_MIN_PAGES = 40
MAX_PDF_WORKERS = 8


def pdf_workers() -> int:
    """Worker processes for one long PDF: one per CPU this process may use, at most 8."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(cpus, MAX_PDF_WORKERS)


def read_pdf_lines(
    path: Path, on_page: PageProgress | None = None, workers: int | None = None
) -> list[SourceLine]:
    """Lines of a PDF's text layer, page by page (1-based pages); ``on_page(done, total)``
    as each page is read. A PDF of ``PARALLEL_MIN_PAGES`` pages or more is read by ``workers``
    processes (default ``pdf_workers()``). Each page's parsed layout is dropped once its text
    is out, so memory holds the text, not the layout, of a long PDF. A PDF that cannot be read
    (encrypted, damaged, cut short, no text layer, glyphs without Unicode) raises ``DocumentError``."""
    workers = workers or pdf_workers()
    with _open_pdf(path) as pdf:
        total = _page_count(path, pdf)
        if workers > 1 and total >= PARALLEL_MIN_PAGES:
            texts = _texts_in_workers(path, total, workers, on_page)
        else:
            texts = []
            for text in _page_texts(path, pdf):
                texts.append(text)
                if on_page:
                    on_page(len(texts), total)
    lines: list[SourceLine] = []
    number = 0
    for page_number, text in enumerate(texts, start=1):
        for raw in text.splitlines():
            number += 1
            lines.append(SourceLine(raw, number, page_number))
        # Blank separator so a page break reads as a break between lines.
        lines.append(SourceLine("", number, page_number))
    if not any(line.text.strip() for line in lines):
        raise DocumentError(f"{path.name}：PDF 没有可提取的文字层（可能是扫描件），请先做 OCR 再导入")
    undecoded = sum(len(_CID.findall(line.text)) for line in lines)
    if undecoded:
        decoded = sum(len("".join(_CID.sub("", line.text).split())) for line in lines)
        if undecoded >= decoded:
            raise DocumentError(
                f"{path.name}：PDF 的文字无法解码（字体没有 Unicode 映射，只能得到 (cid:…) 编码），"
                "请另存为可复制文字的 PDF 或做 OCR 再导入"
            )
        lines = [SourceLine(_CID.sub("", line.text), line.line, line.page) for line in lines]
    return lines


@contextlib.contextmanager
def _open_pdf(path: Path, pages: list[int] | None = None) -> Iterator[Any]:
    """pdfplumber's PDF (only ``pages``, 1-based, when given); errors become ``DocumentError``."""
    import pdfplumber

    try:
        pdf = pdfplumber.open(path, pages=pages)
    except Exception as e:  # pdfminer's errors on bad input are many and loosely typed
        raise _pdf_error(path, e) from e
    try:
        yield pdf
    finally:
        with contextlib.suppress(Exception):  # closing walks the pages again: they may be what is broken
            pdf.close()
        pdf.stream.close()


def _page_count(path: Path, pdf: Any) -> int:
    try:
        return len(pdf.pages)
    except Exception as e:
        raise _pdf_error(path, e) from e


def _page_texts(path: Path, pdf: Any) -> Iterator[str]:
    """The text of each page of the open ``pdf``, one page at a time."""
    try:
        for page in pdf.pages:
            text = page.extract_text() or ""
            page.close()
            yield text
    except Exception as e:
        raise _pdf_error(path, e) from e


def _iter_page_texts(path: Path, start: int, stop: int) -> Iterator[str]:
    """The text of pages ``start`` to ``stop - 1`` (0-based), one page at a time (a worker's share)."""
    with _open_pdf(path, list(range(start + 1, stop + 1))) as pdf:
        yield from _page_texts(path, pdf)


# A worker prints one JSON line [page index, text] per page, or the error on stderr.
_WORKER = """
import json, sys
from pathlib import Path
from rag.errors import DocumentError
from rag.ingest import _iter_page_texts
path, start, stop = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
try:
    for index, text in enumerate(_iter_page_texts(path, start, stop), start):
        print(json.dumps([index, text], ensure_ascii=False), flush=True)
except DocumentError as e:
    sys.exit(e.message)
"""


def _texts_in_workers(path: Path, total: int, workers: int, on_page: PageProgress | None) -> list[str]:
    """Page texts read by ``workers`` processes, each a contiguous block of pages; ``on_page``
    counts pages as they arrive from any of them. Workers are fresh interpreters rather than
    forks: the server reads uploads from a thread, and forking a threaded process is unsafe."""
    bounds = [total * i // workers for i in range(workers + 1)]
    arrived: queue.Queue[tuple[int, str] | None] = queue.Queue()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), str(start), str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        for start, stop in itertools.pairwise(bounds)
    ]

    def relay(proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            index, text = json.loads(line)
            arrived.put((index, text))
        arrived.put(None)

    readers = [threading.Thread(target=relay, args=(proc,), daemon=True) for proc in procs]
    for reader in readers:
        reader.start()
    texts: list[str] = [""] * total
    try:
        done = finished = 0
        while finished < len(procs):
            item = arrived.get()
            if item is None:
                finished += 1
                continue
            texts[item[0]] = item[1]
            done += 1
            if on_page:
                on_page(done, total)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for proc in procs:
        _, error = proc.communicate()
        if proc.returncode:
            message = error.strip().splitlines()[-1] if error.strip() else f"退出码 {proc.returncode}"
            if not message.startswith(path.name):
                message = f"{path.name}：读取 PDF 的子进程出错：{message}"
            raise DocumentError(message)
    return texts


def _pdf_error(path: Path, error: Exception) -> DocumentError:
    from pdfminer.pdfdocument import PDFEncryptionError
    from pdfplumber.utils.exceptions import PdfminerException

    cause = error.args[0] if isinstance(error, PdfminerException) and error.args else error
    if isinstance(cause, PDFEncryptionError):
        return DocumentError(f"{path.name}：PDF 已加密（需要密码才能打开），请先解除密码再导入")
    if isinstance(cause, OSError):
        return DocumentError(f"{path.name}：无法读取文件：{cause.strerror or cause}")
    detail = str(cause).strip()[:120] or type(cause).__name__
    return DocumentError(f"{path.name}：无法解析 PDF（文件损坏或不完整）：{detail}")


def unsupported_type(name: str) -> str | None:
    """Why a file called ``name`` cannot be a briefing, or None when its type is supported."""
    suffix = Path(name).suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return None
    return f"{name}：不支持的文件类型 {suffix or '（无扩展名）'}，支持 .pdf .txt .md"


def load_document(
    path: Path,
    meta: dict[str, str] | None = None,
    digest: str | None = None,
    on_page: PageProgress | None = None,
) -> Document:
    """Read, clean and describe one briefing; raises ``DocumentError`` naming the file.
    ``on_page(done, total)`` follows a PDF page by page."""
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
    try:
        lines = read_pdf_lines(path, on_page) if suffix == ".pdf" else read_text_lines(path)
    except OSError as e:
        raise DocumentError(f"{path.name}：无法读取文件：{e.strerror or e}") from e
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


def format_size(size: int) -> str:
    """``size`` bytes for a message: 200 MB, 1.5 MB, 12 KB, 800 字节."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} 字节"


def _guess_title(text: str, paragraphs: list[Any]) -> str | None:
    """A Markdown title, else a short first line (the masthead), else the first heading."""
    for para in paragraphs:
        if para.rank == 0:
            return str(para.heading)
    first = text[paragraphs[0].start : paragraphs[0].end] if paragraphs else ""
    if 2 <= len(first) <= 40 and not re.search(r"[，。；！？,;]", first):
        return first
    return next((str(p.heading) for p in paragraphs[:5] if p.heading), None)
