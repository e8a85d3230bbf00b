"""The 评测 tab in a real browser: upload a set, run it, read the Chinese summary, compare runs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rag.config import Settings
from tests.server.test_eval_api import SET


@pytest.fixture
def site(live_app: Callable[..., str], mini_index: Settings) -> str:
    return live_app(mini_index)


def run_set(page: Any, runs_after: int) -> None:
    """Start the chosen set and wait until its run is listed and its report shown."""
    page.click("#eval-start")
    page.wait_for_function(
        f"document.querySelectorAll('.eval-pick').length === {runs_after}", timeout=300_000
    )
    page.locator("#eval-status", has_text="评测完成").wait_for()
    page.locator(".eval-summary li").first.wait_for()


def test_upload_run_read_an_item_and_compare_two_runs(page: Any, site: str, tmp_path: Path) -> None:
    eval_set = tmp_path / "我的评测.jsonl"
    eval_set.write_text(
        "\n".join(json.dumps(item, ensure_ascii=False) for item in SET) + "\n", encoding="utf-8"
    )
    page.goto(site)
    page.click("#tab-eval")
    page.set_input_files("#eval-upload", str(eval_set))
    page.locator("#eval-status", has_text="已上传评测集 我的评测.jsonl（2 题）").wait_for()

    run_set(page, 1)
    summary = page.locator(".eval-summary").inner_text()
    assert "可回答的 1 道题" in summary and "不可回答的 1 道题" in summary and "1 道正确拒答" in summary
    assert page.locator("#eval-chart").evaluate("img => img.complete && img.naturalWidth > 0")
    page.locator(".eval-item-row", has_text="m1").click()
    item = page.locator("#eval-item")
    item.locator("h3").wait_for()
    assert "蓝色创业训练营有多少名创业者参加？" in item.inner_text() and "240" in item.inner_text()
    with page.expect_download() as download:
        page.click("#eval-download")
    assert Path(download.value.path()).read_text(encoding="utf-8").startswith("# 评测报告\n\n## 结论")

    run_set(page, 2)
    boxes = page.locator(".eval-pick")
    assert boxes.count() == 2
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click("#eval-compare")
    comparison = page.locator(".eval-comparison").inner_text()
    assert comparison.startswith("# 评测对比") and re.search(r"指标|配置", comparison)


def test_a_malformed_set_is_explained_in_chinese(page: Any, site: str, tmp_path: Path) -> None:
    bad = tmp_path / "坏的.jsonl"
    bad.write_text('{"id": "x", "question": "缺少字段"}\n', encoding="utf-8")
    page.goto(site)
    page.click("#tab-eval")
    page.set_input_files("#eval-upload", str(bad))
    page.locator("#eval-status", has_text="评测集有问题").wait_for()
    assert "第 1 行" in page.locator("#eval-status").inner_text()
