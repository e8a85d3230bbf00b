"""References for drafts, in the convention of Chinese research writing (``[draft] citation_style``).

- ``gbt7714`` (default), GB/T 7714—2015 for a report: ``发布单位. 标题[R]. 日期: 页码.``, the
  locator after the colon being the page (``5``, ``5-6``) or, for a file without pages, the
  section (``第三章 第十条``), which is what a reader of the original can find. An unknown
  publisher or date is left out rather than guessed.
- ``plain``: ``《标题》，发布单位，日期，章节，第5页。``

A line span (``第650–714行``) means nothing to a reader of the original, so it never appears in a
reference; it stays in the JSON (``page``) for tools.
"""

from __future__ import annotations

from typing import Literal

from rag.types import Chunk, Citation

CitationStyle = Literal["gbt7714", "plain"]


def pages(chunk: Chunk) -> str:
    """The passage's pages as GB/T 7714 writes them (``5``, ``5-6``); "" for a file without pages."""
    if chunk.page_start is None:
        return ""
    if chunk.page_end is None or chunk.page_end == chunk.page_start:
        return str(chunk.page_start)
    return f"{chunk.page_start}-{chunk.page_end}"


def section(chunk: Chunk) -> str:
    """The section path as a reader writes it: ``第三章 第十条`` (no breadcrumb arrows)."""
    return " ".join(chunk.section)


def format_reference(chunk: Chunk, publisher: str, date: str, style: CitationStyle) -> str:
    """One reference for the passage ``chunk`` of a briefing by ``publisher``, dated ``date``."""
    page = pages(chunk)
    if style == "plain":
        parts = [f"《{chunk.title}》", publisher, date, section(chunk), f"第{page}页" if page else ""]
        return "，".join(p for p in parts if p) + "。"
    head = f"{publisher}. " if publisher else ""
    locator = page or section(chunk)
    where = ": ".join(p for p in (date, locator) if p)
    return f"{head}{chunk.title}[R]" + (f". {where}" if date else f": {where}" if where else "") + "."


def reference_of(citation: Citation) -> str:
    """The citation's reference (set by the pipeline in the configured style; GB/T 7714 without
    publisher and date for a citation made elsewhere)."""
    return citation.reference or format_reference(citation.chunk, "", "", "gbt7714")
