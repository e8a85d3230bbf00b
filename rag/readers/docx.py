"""Word .docx with python-docx: paragraphs in document order, heading styles as headings,
Word's automatic numbering written out (一、 （一） 1.), tables as rows that name their
column headers, footnotes after the paragraph that cites them, and the core properties.

Word has no fixed pages, so each line's locator is its paragraph number (``unit`` 段).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from rag.cleaning import SourceLine
from rag.errors import DocumentError
from rag.readers import Extracted, PageProgress
from rag.readers.archive import open_zip
from rag.readers.numbering import Numbering
from rag.readers.tables import table_lines

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_TITLE_STYLES = {"title", "标题"}
# Core-property titles that name the file or the template rather than the document.
_PLACEHOLDER_TITLE = re.compile(
    r"^(microsoft word - |wps |.*\.docx?$|(word )?document\s*\d*$|文档\s*\d*$|新建.*文档)", re.IGNORECASE
)


def read(path: Path, on_page: PageProgress | None = None) -> Extracted:
    open_zip(path, "Word").close()
    import docx

    try:
        document = docx.Document(str(path))
        lines = _promote_title(list(_lines(document)))
    except DocumentError:
        raise
    except Exception as e:  # python-docx raises KeyError, ValueError and lxml errors on damaged parts
        detail = str(e).strip()[:120] or type(e).__name__
        raise DocumentError(f"{path.name}：无法解析 Word 文件（文件损坏或不是 .docx）：{detail}") from e
    if not any(line.text.strip() for line in lines):
        raise DocumentError(f"{path.name}：Word 文件中没有文字（可能只有图片或扫描页），请导入含文字的版本")
    return Extracted(lines, _core_meta(document), unit="段")


def _lines(document: Any) -> Iterator[SourceLine]:
    from docx.table import Table

    numbering = Numbering.of(document)
    notes = _footnotes(document)
    cited: dict[str, int] = {}
    number = 0
    for block in document.iter_inner_content():
        texts = _table_rows(block) if isinstance(block, Table) else _paragraph(block, numbering, notes, cited)
        if texts:  # the locator counts blocks as Word shows them: a table's rows and a
            number += 1  # paragraph's footnotes share its number
        for text in texts:
            yield SourceLine(text, number, None, whole=True)


def _promote_title(lines: list[SourceLine]) -> list[SourceLine]:
    """Without a Title-style paragraph, a heading of the top level that is the first heading and
    the only one of its level is the document's title (a title set in 标题 1, sections in 标题 2)."""
    levels = [len(line.text) - len(line.text.lstrip("#")) for line in lines if line.text.startswith("#")]
    if not levels or 1 in levels:
        return lines
    top = min(levels)
    if levels[0] != top or levels.count(top) != 1:
        return lines
    first = next(i for i, line in enumerate(lines) if line.text.startswith("#"))
    title = lines[first].text.lstrip("#").strip()
    return [*lines[:first], replace(lines[first], text=f"# {title}"), *lines[first + 1 :]]


def _paragraph(
    paragraph: Any, numbering: Numbering, notes: dict[str, str], cited: dict[str, int]
) -> list[str]:
    """The paragraph as lines: its numbering label and text (a heading as Markdown), then the
    footnotes it cites."""
    text, refs = _runs_text(paragraph._p, cited)
    text = text.strip()
    if not text:
        return []
    label = numbering.label(paragraph)
    if label:
        text = f"{label} {text}" if label[-1].isascii() and label[-1].isalnum() else label + text
    level = _heading_level(paragraph)
    if level is not None:
        text = "#" * min(level + 1, 6) + " " + text
    return [text, *(f"注{cited[ref]}：{notes[ref]}" for ref in refs if notes.get(ref))]


def _runs_text(element: Any, cited: dict[str, int]) -> tuple[str, list[str]]:
    """Text of a paragraph as Word shows it (deleted revisions and field codes left out), with
    “（注N）” where a footnote is cited; also the ids of the footnotes cited."""
    parts: list[str] = []
    refs: list[str] = []
    for node in element.iter(f"{W}t", f"{W}tab", f"{W}br", f"{W}cr", f"{W}footnoteReference"):
        if node.tag == f"{W}t":
            parts.append(node.text or "")
        elif node.tag == f"{W}footnoteReference":
            ref = node.get(f"{W}id", "")
            cited.setdefault(ref, len(cited) + 1)
            refs.append(ref)
            parts.append(f"（注{cited[ref]}）")
        else:
            parts.append(" ")
    return "".join(parts), refs


def _heading_level(paragraph: Any) -> int | None:
    """0 for the document title, 1–9 for headings: by style name (English or Chinese), else by
    the outline level set on the paragraph or its style."""
    style = paragraph.style
    name = (style.name or "").strip() if style is not None else ""
    if name.lower() in _TITLE_STYLES:
        return 0
    if match := _HEADING_STYLE.match(name):
        return int(match.group(1))
    element = paragraph._p
    while element is not None:
        values = element.xpath("./w:pPr/w:outlineLvl/@w:val")
        if values:
            level = int(values[0])
            return level + 1 if level < 9 else None
        element = style.element if style is not None else None
        style = style.base_style if style is not None else None
    return None


def _table_rows(table: Any) -> list[str]:
    """Each row as one line, its cells named by the header row (``rag.readers.tables``)."""
    rows: list[list[str]] = []
    for row in table.rows:
        seen: set[int] = set()
        cells: list[str] = []
        for cell in row.cells:  # a merged cell is listed once per grid column it spans
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(p.text.strip() for p in cell.paragraphs if p.text.strip()))
        rows.append(cells)
    return table_lines(rows)


def _footnotes(document: Any) -> dict[str, str]:
    """Footnote id → its text (the separator notes Word keeps as ids -1 and 0 left out)."""
    from lxml import etree

    for rel in document.part.rels.values():
        if rel.reltype.endswith("/footnotes") and not rel.is_external:
            root = etree.fromstring(rel.target_part.blob)
            notes = {}
            for note in root.iter(f"{W}footnote"):
                if note.get(f"{W}type") in ("separator", "continuationSeparator", "continuationNotice"):
                    continue
                text = "".join(t.text or "" for t in note.iter(f"{W}t")).strip()
                if text:
                    notes[note.get(f"{W}id", "")] = text
            return notes
    return {}


def _core_meta(document: Any) -> dict[str, str]:
    """Title, author and date from the file's properties, when they describe the document."""
    props = document.core_properties
    meta: dict[str, str] = {}
    title = (props.title or "").strip()
    if title and not _PLACEHOLDER_TITLE.match(title):
        meta["title"] = title
    if author := (props.author or "").strip():
        meta["author"] = author
    # The last save stands for the date of the version read: “created” is often a template's.
    if saved := props.modified or props.created:
        meta["date"] = saved.date().isoformat()
    return meta
