"""OFD (GB/T 33190, the national format for official e-documents), read with the standard
library: a zip of XML parts. ``OFD.xml`` names the document (DocInfo: title, author, dates)
and its root ``Document.xml``, which lists the pages; each page's ``Content.xml`` places text
objects at coordinates (millimetres). Text is put back into lines by its position.

Page templates (running headers, seals' frames) and annotations are left out; a page with no
text objects (a scan) has no text.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from pathlib import Path

from rag.cleaning import SourceLine
from rag.errors import DocumentError
from rag.readers import Extracted, PageProgress
from rag.readers.archive import open_zip

NS = "{http://www.ofdspec.org/2016}"
# Two runs whose baselines differ by less than this share a line (mm; body text is 3.5–5.5 mm).
_SAME_LINE_MM = 1.5


def read(path: Path, on_page: PageProgress | None = None) -> Extracted:
    with open_zip(path, "OFD") as archive:
        try:
            root = _xml(archive, "OFD.xml")
            body = root.find(f"{NS}DocBody")
            doc_root = body.findtext(f"{NS}DocRoot") if body is not None else None
            if body is None or not doc_root:
                raise DocumentError(f"{path.name}：不是有效的 OFD 文件（OFD.xml 中没有文档）")
            doc_path = _resolve("", doc_root)
            document = _xml(archive, doc_path)
            pages = [
                _resolve(posixpath.dirname(doc_path), page.get("BaseLoc", ""))
                for page in document.iter(f"{NS}Page")
                if page.get("BaseLoc")
            ]
            lines: list[SourceLine] = []
            number = 0
            for page_number, page_path in enumerate(pages, start=1):
                for text in _page_lines(_xml(archive, page_path)):
                    number += 1
                    lines.append(SourceLine(text, number, page_number))
                lines.append(SourceLine("", number, page_number))
                if on_page:
                    on_page(page_number, len(pages))
        except (ET.ParseError, KeyError, ValueError) as e:
            raise DocumentError(f"{path.name}：无法解析 OFD 文件（文件损坏或不完整）：{e}") from e
    if not any(line.text.strip() for line in lines):
        raise DocumentError(f"{path.name}：OFD 文件中没有文字（可能是扫描件），请导入含文字的版本")
    return Extracted(lines, _doc_info(body))


def _xml(archive: zipfile.ZipFile, name: str) -> ET.Element:
    return ET.fromstring(archive.read(name))


def _resolve(base: str, location: str) -> str:
    """A part's name in the zip: ``location`` is absolute (``/Doc_0/…``) or relative to ``base``."""
    if location.startswith("/"):
        return posixpath.normpath(location.lstrip("/"))
    return posixpath.normpath(posixpath.join(base, location))


def _page_lines(page: ET.Element) -> list[str]:
    """The page's text objects grouped into lines by baseline, top to bottom, left to right."""
    runs: list[tuple[float, float, str]] = []
    for obj in page.iter(f"{NS}TextObject"):
        x0, y0 = _origin(obj.get("Boundary", "0 0 0 0"))
        for code in obj.iter(f"{NS}TextCode"):
            if code.text:
                runs.append((y0 + float(code.get("Y", 0)), x0 + float(code.get("X", 0)), code.text))
    rows: dict[float, list[tuple[float, str]]] = defaultdict(list)
    baselines: list[float] = []
    for y, x, text in sorted(runs):
        if not baselines or y - baselines[-1] >= _SAME_LINE_MM:
            baselines.append(y)
        rows[baselines[-1]].append((x, text))
    return ["".join(text for _, text in sorted(rows[y])) for y in baselines]


def _origin(boundary: str) -> tuple[float, float]:
    x, y, *_ = (float(v) for v in boundary.split())
    return x, y


def _doc_info(body: ET.Element) -> dict[str, str]:
    info = body.find(f"{NS}DocInfo")
    if info is None:
        return {}
    meta = {
        key: value.strip()
        for key, tag in (("title", "Title"), ("author", "Author"), ("date", "CreationDate"))
        if (value := info.findtext(f"{NS}{tag}")) and value.strip()
    }
    if "date" in meta:
        meta["date"] = meta["date"][:10]
    return meta
