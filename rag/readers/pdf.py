"""PDF: the text layer page by page with pdfplumber (tables as rows, ``pdf_tables``; scanned
pages by OCR, ``ocr``), long PDFs in worker processes."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.cleaning import SourceLine
from rag.errors import DocumentError
from rag.readers import Extracted, PageProgress, join_words, ocr
from rag.readers.pdf_tables import page_text

_CID = re.compile(r"\(cid:\d+\)")  # how pdfminer writes a glyph its font gives no Unicode for


# The title is the largest type on the first page, when it stands out from the body text.
_TITLE_SIZE_RATIO = 1.2
_MAX_TITLE_CHARS = 80


def read(path: Path, on_page: PageProgress | None = None) -> Extracted:
    lines = read_pdf_lines(path, on_page)
    title = first_page_title(path)
    return Extracted(lines, {"title": title} if title else {})


def first_page_title(path: Path) -> str | None:
    """The run of lines set in the largest type on page 1, when that type is clearly larger
    than the page's body text: a title, never a running header, a date or an authority line
    (those are set small). None for a page of one size (then the text decides)."""
    with _open_pdf(path, [1]) as pdf:
        try:
            words = pdf.pages[0].extract_words(extra_attrs=["size"]) if pdf.pages else []
        except Exception:  # the text pass reports a broken page; a title is only a nicety
            return None
    rows: dict[int, list[dict[str, Any]]] = {}
    for word in words:
        rows.setdefault(round(word["top"] / 2), []).append(word)
    lines = [
        (max(w["size"] for w in row), join_words(w["text"] for w in row)) for _, row in sorted(rows.items())
    ]
    if len(lines) < 2:
        return None
    sizes = sorted(size for size, text in lines for _ in text)
    body = sizes[len(sizes) // 2]
    largest = max(size for size, _ in lines)
    if largest < _TITLE_SIZE_RATIO * body:
        return None
    first = next(i for i, (size, _) in enumerate(lines) if size >= 0.95 * largest)
    run = []
    for size, text in lines[first:]:
        if size < 0.95 * largest:
            break
        run.append(text)
    title = "".join(run).strip()
    return title if 2 <= len(title) <= _MAX_TITLE_CHARS else None


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
        if ocr.available():
            raise DocumentError(f"{path.name}：PDF 没有可提取的文字层（可能是扫描件），OCR 也没有识别出文字")
        raise DocumentError(f"{path.name}：PDF 没有可提取的文字层（可能是扫描件）。{ocr.INSTALL_HINT}")
    undecoded = sum(len(_CID.findall(line.text)) for line in lines)
    if undecoded:
        decoded = sum(len("".join(_CID.sub("", line.text).split())) for line in lines)
        if undecoded >= decoded:
            raise DocumentError(
                f"{path.name}：PDF 的文字无法解码（字体没有 Unicode 映射，只能得到 (cid:…) 编码），"
                f"请另存为可复制文字的 PDF 再导入，或{ocr.INSTALL_HINT}"
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


def _page_texts(path: Path, pdf: Any, first: int = 0) -> Iterator[str]:
    """The text of each page of the open ``pdf`` (whose first page is page ``first``, 0-based,
    of the file), one page at a time; a page without a text layer, or whose fonts give no
    Unicode for its glyphs, is read by OCR when the extra is installed."""
    scan: Any = None
    try:
        for index, page in enumerate(pdf.pages, start=first):
            text = page_text(page)
            page.close()
            if (not text.strip() or _undecodable(text)) and ocr.available():
                if scan is None:
                    import pypdfium2

                    scan = pypdfium2.PdfDocument(path)
                text = "\n".join(ocr.page_lines(scan[index]))
            yield text
    except DocumentError:
        raise
    except Exception as e:
        raise _pdf_error(path, e) from e
    finally:
        if scan is not None:
            scan.close()


def _undecodable(text: str) -> bool:
    """Whether most of a page's glyphs came out as (cid:N) codes (a font without Unicode)."""
    codes = len(_CID.findall(text))
    return codes > 0 and codes >= len("".join(_CID.sub("", text).split()))


def _iter_page_texts(path: Path, start: int, stop: int) -> Iterator[str]:
    """The text of pages ``start`` to ``stop - 1`` (0-based), one page at a time (a worker's share)."""
    with _open_pdf(path, list(range(start + 1, stop + 1))) as pdf:
        yield from _page_texts(path, pdf, start)


# A worker prints one JSON line [page index, text] per page, or the error on stderr.
_WORKER = """
import json, sys
from pathlib import Path
from rag.errors import DocumentError
from rag.readers.pdf import _iter_page_texts
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
