"""Tables as text that can be retrieved and quoted row by row.

Each row becomes one sentence naming its column headers (“地区：广州；时间：2021年3月10日；
文件：……。”), so a row read alone still says what its numbers are. Used by every reader that
finds tables (Word, web pages, PDF).
"""

from __future__ import annotations


def table_lines(rows: list[list[str]], has_header: bool = True) -> list[str]:
    """One line per row of ``rows`` (cells as text). With a header row (the first, when
    ``has_header`` and at least two of its cells are filled) every value is named by its
    column's header; a row of another width (a group title spanning the table) stays as is."""
    rows = [[" ".join(cell.split()) for cell in cells] for cells in rows]
    rows = [cells for cells in rows if any(cells)]
    header = rows[0] if rows else []
    if not has_header or len(rows) < 2 or sum(1 for name in header if name) < 2:
        return [row_sentence(cells) for cells in rows]
    lines = []
    for cells in rows[1:]:
        if len(cells) != len(header):
            lines.append(row_sentence(cells))
            continue
        named = [
            f"{name}：{value}" if name else value for name, value in zip(header, cells, strict=True) if value
        ]
        lines.append(row_sentence(named))
    return lines


def row_sentence(cells: list[str]) -> str:
    """Cells joined by “；” into one sentence ending in “。”."""
    text = "；".join(cell.rstrip("。；;") for cell in cells if cell)
    return text + "。" if text else ""
