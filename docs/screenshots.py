"""Take the README's screenshots of the web page: python docs/screenshots.py

Serves the bundled briefings (building the index if needed) on a loopback port and drives
Debian's Chromium with Playwright; writes docs/screenshots/*.png, including the page's Word
export as LibreOffice prints it (needs ``soffice``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageOps
from playwright.sync_api import sync_playwright

from rag.config import load_settings
from rag.pipeline import Pipeline
from server.app import create_app
from server.background import running

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"


def word_page(docx: Path, png: Path) -> None:
    """The first page of a .docx as LibreOffice prints it (what a pasted or exported answer
    looks like in a word processor)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "答案.docx"
        shutil.copy(docx, source)
        subprocess.run(
            ["soffice", "--headless", "--convert-to", "pdf", "--outdir", tmp, str(source)],
            check=True,
            capture_output=True,
            timeout=180,
        )
        pdf = pdfium.PdfDocument(str(source.with_suffix(".pdf")))
        image = pdf[0].render(scale=1.5).to_pil().convert("RGB")
    # The text at the top and the footnotes at the bottom of the page, without the blank between.
    half = image.height // 2
    top, bottom = image.crop((0, 0, image.width, half)), image.crop((0, half, image.width, image.height))
    top, bottom = (part.crop(ImageOps.invert(part).getbbox() or (0, 0, 1, 1)) for part in (top, bottom))
    margin = 40
    width = max(top.width, bottom.width) + 2 * margin
    sheet = Image.new("RGB", (width, top.height + bottom.height + 3 * margin), "white")
    sheet.paste(top, (margin, margin))
    sheet.paste(bottom, (margin, top.height + 2 * margin))
    sheet.save(png)


def main() -> None:
    pipeline = Pipeline.from_settings(load_settings(home=REPO), build_missing=True)
    OUT.mkdir(parents=True, exist_ok=True)
    with running(create_app(pipeline=pipeline)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 720}, locale="zh-CN")
        page.goto(url)
        page.fill("#question", "广东的“卓粤”计划是什么？")
        page.press("#question", "Enter")
        page.locator(".answer:not(.streaming) .answer-actions button").first.wait_for(timeout=120_000)
        with page.expect_download() as download:
            page.get_by_role("button", name="下载 Word").click()
        word_page(Path(download.value.path()), OUT / "word.png")
        page.locator("sup.cite a").first.hover()
        page.locator("#hovercard").wait_for(state="visible")
        page.screenshot(path=str(OUT / "ask.png"))
        page.locator("sup.cite a").first.click()
        page.locator("#source-mark").wait_for()
        page.mouse.move(1, 1)
        page.screenshot(path=str(OUT / "source.png"))
        page.click("#tab-eval")
        page.select_option("#eval-set", "dev.jsonl")
        page.click("#eval-start")
        page.locator(".eval-summary li").first.wait_for(timeout=600_000)
        page.locator("#eval-chart").evaluate("img => img.decode()")
        page.set_viewport_size({"width": 1200, "height": 1100})
        page.screenshot(path=str(OUT / "eval.png"))
        page.set_viewport_size({"width": 1200, "height": 720})
        page.click("#tab-docs")
        page.locator("#docs-table tbody tr").first.wait_for()
        page.screenshot(path=str(OUT / "documents.png"))
        browser.close()


if __name__ == "__main__":
    main()
