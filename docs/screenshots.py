"""Take the README's screenshots of the web page: python docs/screenshots.py

Serves the bundled briefings (building the index if needed) on a loopback port and drives
Debian's Chromium with Playwright; writes docs/screenshots/*.png.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from rag.config import load_settings
from rag.pipeline import Pipeline
from server.app import create_app

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"


def serve() -> str:
    pipeline = Pipeline.from_settings(load_settings(home=REPO), build_missing=True)
    server = uvicorn.Server(uvicorn.Config(create_app(pipeline=pipeline), host="127.0.0.1", port=0, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not (server.started and server.servers):
        time.sleep(0.05)
    return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


def main() -> None:
    url = serve()
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
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
