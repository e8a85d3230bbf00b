"""Readers: how much of each format's text comes out right, and what OCR costs.

    python bench/readers.py              # updates the "Readers" section of BENCHMARKS.md
    python bench/readers.py --json       # one JSON object instead
    python bench/readers.py --ocr-pages 4

Ground truth is the text we wrote. The eight regulations (eval/corpora/regulations/source) are
laid out as Word (python-docx), a saved web page and an image-only PDF (the eval corpus's PDF
layout rasterised at 150 dpi, a scan); the table PDFs are ``POLICY_TABLE`` ruled and as a
three-line table. Character accuracy is 1 − (edit distance / characters expected), on the body
text with whitespace removed (so line breaks and spacing do not count). OCR seconds per page
are the median over pages, against reading the same pages' text layer in the same process.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "eval" / "corpora"))

import regulations  # noqa: E402
from report import machine_info  # noqa: E402
from scale import publish  # noqa: E402

SECTION = "## Readers"


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def accuracy(expected: str, got: str) -> float:
    expected, got = "".join(expected.split()), "".join(got.split())
    return max(0.0, 1 - edit_distance(expected, got) / max(len(expected), 1))


def written_text(reg: regulations.Regulation) -> str:
    """Everything the Word and web-page layouts hold: title, date lines, headings and articles."""
    return reg.title + "".join(regulations.dated_lines(reg)) + "".join(text for _, text in reg.blocks)


def measure_formats(work: Path) -> dict[str, Any]:
    from rag.ingest import load_document
    from tests.rag.test_structure import write_docx, write_html

    results: dict[str, list[float]] = {"docx": [], "html": []}
    titles = {"docx": 0, "html": 0}
    names = sorted(p.stem for p in regulations.SOURCE.glob("*.md") if p.stem != "README")
    for name in names:
        reg = regulations.parse(regulations.SOURCE / f"{name}.md")
        for kind, write in (("docx", write_docx), ("html", write_html)):
            path = work / f"{name}.{kind}"
            write(reg, path)
            doc = load_document(path)
            results[kind].append(accuracy(written_text(reg), doc.text))
            titles[kind] += doc.title == reg.title
    return {
        kind: {"documents": len(names), "accuracy": statistics.mean(values), "titles": titles[kind]}
        for kind, values in results.items()
    }


def measure_tables(work: Path) -> dict[str, Any]:
    from rag.ingest import load_document
    from rag.readers.tables import table_lines
    from tests.fixtures.pdfs import POLICY_TABLE, write_table_pdf

    expected = table_lines([list(row) for row in POLICY_TABLE])
    out = {}
    for ruled in (True, False):
        doc = load_document(write_table_pdf(work / f"table-{ruled}.pdf", ruled))
        lines = set(doc.text.splitlines())
        out["ruled" if ruled else "three-line"] = {
            "rows": len(expected),
            "rows_exact": sum(row in lines for row in expected),
        }
    return out


def measure_ocr(work: Path, pages: int) -> dict[str, Any]:
    import pypdfium2

    from rag.readers import ocr
    from rag.readers.pdf import read_pdf_lines

    if not ocr.available():
        return {"available": False}
    reg = regulations.parse(regulations.SOURCE / "北京市促进科技成果转化条例.md")
    text_pdf = work / "text.pdf"
    regulations.pdf_layout(reg, "第 {} 页", text_pdf)
    source = pypdfium2.PdfDocument(text_pdf)
    total, pages = len(source), min(pages, len(source))
    truth = [source[i].get_textpage().get_text_range() for i in range(pages)]
    scan = pypdfium2.PdfDocument(_rasterise(text_pdf, work / "scan.pdf", pages))
    started = time.perf_counter()
    ocr._engine()  # loading the models, once per process
    load_s = time.perf_counter() - started
    ocr_times, scores = [], []
    for index in range(pages):
        started = time.perf_counter()
        lines = ocr.page_lines(scan[index])
        ocr_times.append(time.perf_counter() - started)
        scores.append(accuracy(truth[index], "".join(lines)))
    text_times = []
    for _ in range(3):
        started = time.perf_counter()
        read_pdf_lines(text_pdf, workers=1)
        text_times.append((time.perf_counter() - started) / total)
    per_page, text_page = statistics.median(ocr_times), statistics.median(text_times)
    short, long = (
        _rasterise(text_pdf, work / "scan-2.pdf", 2),
        _rasterise(text_pdf, work / "scan-n.pdf", total),
    )
    return {
        "rss_mb": {2: _peak_rss_reading(short), total: _peak_rss_reading(long)},
        "available": True,
        "pages": pages,
        "dpi": ocr.RENDER_DPI,
        "model_load_s": load_s,
        "s_per_page": per_page,
        "text_layer_s_per_page": text_page,
        "ratio": per_page / text_page,
        "accuracy": statistics.mean(scores),
        "accuracy_min": min(scores),
    }


def _peak_rss_reading(pdf: Path) -> float:
    """Peak resident memory (MB) of a fresh process that reads ``pdf`` (OCR on every page)."""
    code = (
        "import resource, sys; from pathlib import Path; from rag.ingest import load_document; "
        "load_document(Path(sys.argv[1])); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(pdf)], capture_output=True, text=True, check=True, cwd=REPO
    )
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def _rasterise(source: Path, target: Path, pages: int) -> Path:
    """The first ``pages`` pages of ``source`` as pictures at 150 dpi: a scan of it."""
    import pypdfium2
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    document = pypdfium2.PdfDocument(source)
    out = canvas.Canvas(str(target))
    for index in range(pages):
        page = document[index]
        width, height = page.get_size()
        out.setPageSize((width, height))
        out.drawImage(ImageReader(page.render(scale=150 / 72).to_pil()), 0, 0, width, height)
        out.showPage()
    out.save()
    return target


def render_section(result: dict[str, Any]) -> str:
    formats, tables, scan = result["formats"], result["tables"], result["ocr"]
    lines = [
        SECTION,
        "",
        f"`python bench/readers.py` on {result['machine']['cpu']} ({result['machine']['cores']} cores), commit "
        f"{result['machine']['git']}. Ground truth is the text written into each file (title, date lines, headings, articles); character accuracy is "
        "1 − edit distance / expected characters, whitespace removed.",
        "",
        "| Format | Documents | Body-text character accuracy | Titles right |",
        "|---|---|---|---|",
    ]
    for kind, label in (("docx", "Word (.docx, python-docx)"), ("html", "Web page (.html, trafilatura)")):
        f = formats[kind]
        lines.append(f"| {label} | {f['documents']} | {f['accuracy']:.4f} | {f['titles']}/{f['documents']} |")
    lines += ["", "| PDF table | Rows | Rows read exactly (header-named) |", "|---|---|---|"]
    for kind, t in tables.items():
        lines.append(f"| {kind} | {t['rows']} | {t['rows_exact']} |")
    lines.append("")
    if scan.get("available"):
        lines += [
            f"OCR (RapidOCR PP-OCRv6 small, onnxruntime, {scan['dpi']} dpi) on {scan['pages']} scanned pages of a "
            "regulation (a 150 dpi image-only PDF of the eval corpus's PDF layout):",
            "",
            "| Character accuracy (mean / worst page) | s per page (median) | Text layer s per page | Ratio | Model load (s) |",
            "|---|---|---|---|---|",
            f"| {scan['accuracy']:.4f} / {scan['accuracy_min']:.4f} | {scan['s_per_page']:.2f} | "
            f"{scan['text_layer_s_per_page']:.3f} | {scan['ratio']:.0f}× | {scan['model_load_s']:.2f} |",
            "",
            "Peak memory of a fresh process reading the scan, by its length: "
            + ", ".join(f"{pages} pages {mb:.0f} MB" for pages, mb in scan["rss_mb"].items())
            + ".",
            "",
            f"A 300-page scan takes about {300 * scan['s_per_page'] / 60:.0f} minutes on this machine.",
        ]
    else:
        lines.append("OCR: the `ocr` extra is not installed, so it was not measured.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ocr-pages", type=int, default=4)
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object; leave BENCHMARKS.md alone"
    )
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result = {
            "machine": machine_info(REPO),
            "formats": measure_formats(work),
            "tables": measure_tables(work),
            "ocr": measure_ocr(work, args.ocr_pages),
        }
    publish(result, render_section, SECTION, args.out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
