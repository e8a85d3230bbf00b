"""A saved web page (.html/.htm) with trafilatura: the main text with its headings, lists and
tables; navigation, breadcrumbs, font-size switches and footers are left out. Title, date and
publisher come from the page's metadata (gov.cn pages name them in ``<meta>`` tags).

A web page has no pages, so each line's locator is its paragraph number (``unit`` 段).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rag.cleaning import SourceLine
from rag.errors import DocumentError
from rag.readers import Extracted, PageProgress
from rag.readers.tables import table_lines

# <meta> names government CMSs use for the article itself (rather than the site).
_META_NAMES = {"title": ("ArticleTitle",), "publisher": ("ContentSource", "Source"), "date": ("PubDate",)}
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})")


def read(path: Path, on_page: PageProgress | None = None) -> Extracted:
    import trafilatura
    from lxml import etree

    data = path.read_bytes()
    try:
        tree = trafilatura.load_html(data)
    except Exception as e:  # lxml's parser errors on bytes that are not a page
        raise DocumentError(f"{path.name}：无法解析网页（文件损坏或不是 HTML）：{e}") from e
    if tree is None:
        raise DocumentError(f"{path.name}：无法解析网页（文件损坏或不是 HTML）")
    result = trafilatura.extract(
        tree, output_format="xml", include_tables=True, include_formatting=True, favor_recall=True
    )
    if not result:
        raise DocumentError(f"{path.name}：网页中没有找到正文（可能是目录页、需要脚本加载的页面或空白页）")
    body = etree.fromstring(result.encode("utf-8")).find("main")
    texts = list(_blocks(body)) if body is not None else []
    lines = [SourceLine(text, number, None, whole=True) for number, text in enumerate(texts, start=1)]
    if not lines:
        raise DocumentError(f"{path.name}：网页中没有找到正文")
    return Extracted(lines, _page_meta(tree, trafilatura.extract_metadata(tree)), unit="段")


def _blocks(element: Any) -> list[str]:
    """The main text as lines: headings in Markdown, list items and paragraphs as they are,
    table rows that name their column headers."""
    lines: list[str] = []
    for child in element:
        tag = child.tag
        if tag == "head":
            level = int((child.get("rend") or "h2").lstrip("h") or 2)
            if text := _text(child):
                lines.append("#" * min(level, 6) + " " + text)
        elif tag in ("p", "quote", "item", "code"):
            if text := _text(child):
                lines.append(text)
        elif tag == "table":
            lines.extend(_table(child))
        elif tag in ("div", "list", "main"):
            lines.extend(_blocks(child))
    return lines


def _text(element: Any) -> str:
    return " ".join("".join(element.itertext()).split())


def _table(table: Any) -> list[str]:
    rows = [[_text(cell) for cell in row.findall("cell")] for row in table.findall("row")]
    first = table.find("row")
    has_header = first is not None and any(c.get("role") == "head" for c in first.findall("cell"))
    return table_lines(rows, has_header)


def _page_meta(tree: Any, found: Any) -> dict[str, str]:
    meta: dict[str, str] = {}
    for key, names in _META_NAMES.items():
        for name in names:
            values = tree.xpath(f"//meta[@name='{name}']/@content")
            if values and str(values[0]).strip():
                meta[key] = str(values[0]).strip()
                break
    if found is not None:
        if found.title and "title" not in meta:
            meta["title"] = str(found.title).strip()
        if found.date and "date" not in meta:
            meta["date"] = str(found.date)
        if found.author:
            meta["author"] = str(found.author)
        if found.sitename and "publisher" not in meta:
            meta["publisher"] = str(found.sitename)
    if date := _DATE.search(meta.get("date", "")):
        meta["date"] = f"{date.group(1)}-{int(date.group(2)):02d}-{int(date.group(3)):02d}"
    return meta
