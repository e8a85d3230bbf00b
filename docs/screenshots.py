"""Take the README's screenshots of the web page: python docs/screenshots.py

Serves the bundled briefings (building the index if needed) on a loopback port and drives
Debian's Chromium with Playwright; writes docs/screenshots/*.png.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

from rag.config import load_settings
from rag.pipeline import Pipeline
from server.app import create_app
from server.background import running

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"


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
        page.locator("sup.cite a").nth(1).hover()
        page.locator("#hovercard").wait_for(state="visible")
        page.screenshot(path=str(OUT / "ask.png"))
        page.locator("sup.cite a").nth(1).click()
        page.locator("#source-mark").wait_for()
        page.mouse.move(1, 1)
        page.screenshot(path=str(OUT / "source.png"))
        page.click("#tab-docs")
        page.locator("#docs-table tbody tr").first.wait_for()
        page.screenshot(path=str(OUT / "documents.png"))
        browser.close()


if __name__ == "__main__":
    main()
