"""OFD (GB/T 33190, the national format for official e-documents), read with the standard
library: a zip of XML parts. ``OFD.xml`` names the document (DocInfo: title, author, dates)
and its root ``Document.xml``, which lists the pages; each page's ``Content.xml`` places text
objects at coordinates (millimetres). Text is put back into lines by its position.

Page templates (running headers, seals' frames) and annotations are left out. A page with no
text objects (a scan) is read by OCR from its images when the ``ocr`` extra is installed.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from pathlib import Path

from rag.cleaning import SourceLine
from rag.errors import DocumentError
from rag.readers import Extracted, PageProgress, ocr
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
            media = _media(archive, doc_path, document)
            lines: list[SourceLine] = []
            number = 0
            for page_number, page_path in enumerate(pages, start=1):
                page = _xml(archive, page_path)
                texts = _page_lines(page) or _scanned_lines(archive, page, media)
                for text in texts:
                    number += 1
                    lines.append(SourceLine(text, number, page_number))
                lines.append(SourceLine("", number, page_number))
                if on_page:
                    on_page(page_number, len(pages))
        except (ET.ParseError, KeyError, ValueError) as e:
            raise DocumentError(f"{path.name}：无法解析 OFD 文件（文件损坏或不完整）：{e}") from e
    if not any(line.text.strip() for line in lines):
        hint = "OCR 也没有识别出文字" if ocr.available() else ocr.INSTALL_HINT
        raise DocumentError(f"{path.name}：OFD 文件中没有文字（可能是扫描件）。{hint}")
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


def _media(archive: zipfile.ZipFile, doc_path: str, document: ET.Element) -> dict[str, str]:
    """Resource ID → the zip part of each image the document's resource files list."""
    base = posixpath.dirname(doc_path)
    found: dict[str, str] = {}
    for tag in ("PublicRes", "DocumentRes"):
        for location in document.iter(f"{NS}{tag}"):
            if not location.text:
                continue
            res_path = _resolve(base, location.text.strip())
            if res_path not in archive.namelist():
                continue
            res = _xml(archive, res_path)
            res_base = _resolve(posixpath.dirname(res_path), res.get("BaseLoc", "."))
            for item in res.iter(f"{NS}MultiMedia"):
                file = item.findtext(f"{NS}MediaFile")
                if file and item.get("ID"):
                    found[item.get("ID", "")] = _resolve(res_base, file.strip())
    return found


def _scanned_lines(archive: zipfile.ZipFile, page: ET.Element, media: dict[str, str]) -> list[str]:
    """A page without text objects read by OCR from its images, top to bottom (none without
    the extra)."""
    if not ocr.available():
        return []
    import io

    import numpy as np
    from PIL import Image

    images = sorted(
        (_origin(obj.get("Boundary", "0 0 0 0"))[::-1], media[obj.get("ResourceID", "")])
        for obj in page.iter(f"{NS}ImageObject")
        if obj.get("ResourceID", "") in media
    )
    lines: list[str] = []
    for _, part in images:
        try:
            with Image.open(io.BytesIO(archive.read(part))) as picture:
                pixels = np.asarray(picture.convert("RGB"))
        except (OSError, Image.DecompressionBombError):  # not an image, or a bomb: nothing to read
            continue
        lines.extend(ocr.image_lines(pixels))
    return lines


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
