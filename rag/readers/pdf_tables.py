"""Tables on a PDF page, written as rows that name their column headers.

pdfplumber finds ruled tables (cells drawn with lines). A three-line table (三线表: a rule
above the header, one below it and one under the last row, no vertical lines) has no cells
to find, so a run of three or more full-width horizontal rules marks one, and its columns are
found from the alignment of the text between the rules. The page's other text is read above,
between and below the tables, so reading order is kept.
"""

from __future__ import annotations

from typing import Any

from rag.readers.tables import table_lines

Box = tuple[float, float, float, float]  # x0, top, x1, bottom
_RULE_MIN_WIDTH = 0.3  # a rule spans at least this share of the page's width
_TEXT_COLUMNS = {"vertical_strategy": "text", "horizontal_strategy": "text"}


def page_text(page: Any) -> str:
    """The text of a pdfplumber page, each table replaced by its rows (``table_lines``)."""
    if not page.lines and not page.rects:  # no drawn lines: no table (the common, fast case)
        return str(page.extract_text() or "")
    tables = _tables(page)
    if not tables:
        return str(page.extract_text() or "")
    x0, top, x1, bottom = page.bbox
    parts: list[str] = []
    y = top
    for (_, t_top, _, t_bottom), rows in sorted(tables, key=lambda table: table[0][1]):
        if t_top > y:
            parts.append(page.crop((x0, y, x1, t_top)).extract_text() or "")
        parts.append("\n".join(table_lines(rows)))
        y = max(y, t_bottom)
    if y < bottom:
        parts.append(page.crop((x0, y, x1, bottom)).extract_text() or "")
    return "\n".join(part for part in parts if part.strip())


def _tables(page: Any) -> list[tuple[Box, list[list[str]]]]:
    found: list[tuple[Box, list[list[str]]]] = []
    for table in page.find_tables():
        rows = [[cell or "" for cell in row] for row in table.extract()]
        if len(rows) >= 2 and max(len(row) for row in rows) >= 2:
            found.append((tuple(table.bbox), rows))
    for box in _three_line_boxes(page):
        if any(_overlaps(box, other) for other, _ in found):
            continue
        x0, top, x1, bottom = box
        region = page.crop((x0 - 1, top - 1, x1 + 1, bottom + 1))
        rows = _join_continued_rows(region.extract_table(_TEXT_COLUMNS) or [])
        if len(rows) >= 2 and max(len(row) for row in rows) >= 2:
            found.append((box, rows))
    return found


def _three_line_boxes(page: Any) -> list[Box]:
    """Regions bounded by three or more horizontal rules of the same span."""
    x0, _, x1, _ = page.bbox
    rules: dict[tuple[int, int], list[float]] = {}
    for line in [*page.lines, *page.rects]:
        if abs(line["bottom"] - line["top"]) > 2 or line["x1"] - line["x0"] < _RULE_MIN_WIDTH * (x1 - x0):
            continue
        rules.setdefault((round(line["x0"]), round(line["x1"])), []).append(line["top"])
    return [
        (float(left), min(tops), float(right), max(tops))
        for (left, right), tops in rules.items()
        if len({round(top) for top in tops}) >= 3
    ]


def _join_continued_rows(rows: list[list[str | None]]) -> list[list[str]]:
    """Rows of text-aligned columns; a row whose first cell is empty continues the row above
    (a cell wrapped onto a second line)."""
    joined: list[list[str]] = []
    for row in rows:
        cells = [cell or "" for cell in row]
        if not any(cells):
            continue
        if joined and not cells[0] and len(cells) == len(joined[-1]):
            joined[-1] = [a + b for a, b in zip(joined[-1], cells, strict=True)]
        else:
            joined.append(cells)
    return joined


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
