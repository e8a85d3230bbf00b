"""The web page in a real browser (headless Chromium) against the real server on loopback."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from pydantic import SecretStr

from rag.config import MAX_ANSWER_PASSAGES, MAX_QUESTION_CHARS, Settings
from tests.fixtures.servers import FakeLLM, llm_settings
from tests.rag.test_drafts import footnotes
from tests.server.test_documents import PDF_PAGES

QUESTION = "绿洲高新区的星火贷最高能贷多少？"
# The copy finishes after the click returns: wait (up to 10 s) for rich text on the clipboard.
READ_CLIPBOARD_HTML = """async () => {
  for (let tries = 0; tries < 100; tries++) {
    const [item] = await navigator.clipboard.read();
    if (item && item.types.includes("text/html")) return await (await item.getType("text/html")).text();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return "";
}"""
PDF_QUESTION = "雪岭高新区的冰川算力中心投资多少？"


@pytest.fixture
def site(live_app: Callable[..., str], mini_index: Settings) -> str:
    return live_app(mini_index)


def ask(page: Any, question: str) -> Any:
    """Type a question, press Enter, wait for the finished answer; returns its .turn element."""
    page.fill("#question", question)
    page.press("#question", "Enter")
    turn = page.locator(".turn").last
    turn.locator(".answer:not(.streaming) .answer-body .sentence").first.wait_for()
    return turn


def test_ask_hover_source_and_copy_markdown(page: Any, site: str) -> None:
    page.goto(site)
    tokens: list[str] = []
    page.on(
        "response",
        lambda r: tokens.append(r.headers.get("content-type", "")) if "/api/ask" in r.url else None,
    )
    turn = ask(page, QUESTION)
    assert any(t.startswith("text/event-stream") for t in tokens), "the answer was not streamed"
    body = turn.locator(".answer-body")
    assert "500万元" in body.inner_text()
    cited = turn.locator(".sentence", has=page.locator("sup.cite")).first
    marker = cited.locator("sup.cite a").first
    n = marker.get_attribute("data-n")
    assert re.fullmatch(r"\d+", n or "")

    marker.hover()
    card = page.locator("#hovercard")
    card.wait_for(state="visible")
    assert "《科技金融动态》" in card.inner_text() and "第" in card.inner_text()
    # The card marks where the passage says what the sentence says (the server's evidence span).
    quoted = re.sub(r"\[\d+\]|\s", "", cited.inner_text())
    assert re.sub(r"\s", "", card.locator("mark").inner_text()) == quoted

    marker.click()
    panel = page.locator("#source-panel")
    panel.wait_for(state="visible")
    assert "科技金融动态" in page.locator("#source-title").inner_text()
    assert "星火贷" in page.locator("#source-mark").inner_text()
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")

    turn.get_by_role("button", name=re.compile("复制 Markdown")).click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "[^1]" in copied and "\n[^1]: 科技金融动态[R]" in copied and "500万元" in copied
    # The Word copy puts rich text (superscript markers, a numbered reference list) beside plain text.
    turn.get_by_role("button", name=re.compile("复制（Word 格式）")).click()
    html = page.evaluate(READ_CLIPBOARD_HTML)
    assert "<sup>[1]</sup>" in html and '<li value="1">科技金融动态[R]' in html
    plain = page.evaluate("navigator.clipboard.readText()")
    assert "【1】" in plain and "参考文献：\n【1】科技金融动态[R]" in plain
    assert marker.inner_text() == "[1]"  # the number on screen is the number in the copies


def test_reload_keeps_the_conversation_and_its_citations(page: Any, site: str) -> None:
    page.goto(site)
    ask(page, QUESTION)
    follow_up = ask(page, "年利率呢？")
    assert "3.5%" in follow_up.locator(".answer-body").inner_text()
    before = page.locator(".turn .answer-body").all_inner_texts()

    page.reload()
    page.locator(".turn sup.cite a").first.wait_for()
    assert page.locator(".turn .answer-body").all_inner_texts() == before
    assert page.locator("#conversations li").count() == 1
    marker = page.locator(".turn").first.locator("sup.cite a").first
    marker.hover()
    assert "星火贷" in page.locator("#hovercard").inner_text()
    marker.click()
    assert "星火贷" in page.locator("#source-mark").inner_text()


def test_refusal_is_shown_with_the_closest_passages(page: Any, site: str) -> None:
    page.goto(site)
    turn = ask(page, "火星基地的氧气供应方案是什么？")
    assert "根据现有简报无法回答该问题" in turn.locator(".answer-body").inner_text()
    assert turn.locator(".refusal-reason").is_visible()
    assert turn.locator("sup.cite").count() == 0
    assert turn.locator(".answer-actions button").count() == 0  # nothing to put into a draft
    turn.locator(".closest summary").click()
    turn.locator(".closest .open-source").first.click()
    page.locator("#source-mark").wait_for()


def test_upload_ask_delete_in_the_browser(page: Any, site: str, make_pdf: Callable[..., Path]) -> None:
    pdf = make_pdf("雪岭简报.pdf", PDF_PAGES)
    page.goto(site)
    page.click("#tab-docs")
    page.set_input_files("#upload-input", str(pdf))
    page.click("#upload-button")
    status = page.locator("#upload-list .file-status")
    status.filter(has_text="已加入索引").wait_for()
    page.locator("#docs-table tbody tr", has_text="雪岭简报.pdf").wait_for()

    page.click("#tab-ask")
    turn = ask(page, PDF_QUESTION)
    assert "12亿元" in turn.locator(".answer-body").inner_text()
    references = turn.locator(".references").inner_text()
    assert "雪岭高新区简报[R]: 2." in references  # GB/T 7714: the page after the colon

    page.click("#tab-docs")
    row = page.locator("#docs-table tbody tr", has_text="雪岭简报.pdf")
    row.get_by_role("button", name=re.compile("^删除简报")).click()
    row.get_by_role("button", name=re.compile("^确认删除简报")).click()
    row.wait_for(state="detached")

    page.click("#tab-ask")
    after = ask(page, PDF_QUESTION)
    assert "雪岭" not in after.locator(".references").all_inner_texts().__str__()
    assert "12亿元" not in after.locator(".answer-body").inner_text()


def test_bad_upload_shows_a_chinese_error_next_to_the_file(page: Any, site: str, tmp_path: Path) -> None:
    scanned = tmp_path / "空白.txt"
    scanned.write_bytes(b"")
    page.goto(site)
    page.click("#tab-docs")
    page.set_input_files("#upload-input", str(scanned))
    page.click("#upload-button")
    failed = page.locator("#upload-list li", has_text="空白.txt").locator(".file-status.failed")
    failed.wait_for()
    assert "空白.txt" in failed.inner_text()


def test_rebuild_shows_progress_and_finishes(page: Any, site: str) -> None:
    page.goto(site)
    page.click("#tab-docs")
    page.click("#rebuild-button")
    page.locator("#rebuild-status", has_text="重建完成").wait_for()
    assert page.locator("#rebuild-progress").get_attribute("value") == "1"


def test_narrow_window_keeps_the_question_box_usable(page: Any, site: str) -> None:
    page.set_viewport_size({"width": 420, "height": 760})
    page.goto(site)
    assert page.locator("#sidebar").is_hidden()
    turn = ask(page, QUESTION)
    box = turn.bounding_box()
    assert box is not None and box["width"] <= 420
    page.click("#toggle-sidebar")
    assert page.locator("#sidebar").is_visible()


def test_keyboard_reaches_citations_and_download_gives_the_conversation(page: Any, site: str) -> None:
    page.goto(site)
    turn = ask(page, QUESTION)
    marker = turn.locator("sup.cite a").first
    marker.focus()
    page.locator("#hovercard").wait_for(state="visible")
    page.keyboard.press("Enter")
    page.locator("#source-mark").wait_for()
    page.keyboard.press("Escape")

    with page.expect_download() as download:
        page.click("#download-md")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("# 绿洲高新区的星火贷最高能贷多少？")
    assert "## 问：绿洲高新区的星火贷最高能贷多少？" in text and "[^1-1]: 科技金融动态[R]" in text


def test_unverified_llm_sentences_are_marked(
    page: Any, live_app: Callable[..., str], mini_index: Settings, fake_llm: FakeLLM
) -> None:
    fake_llm.script("绿洲高新区联合本地银行推出“星火贷”产品，最高500万元[1]。该产品由外星银行全额担保[1]。")
    page.goto(live_app(llm_settings(mini_index, fake_llm)))
    page.locator("#answerer option[value='llm']").wait_for(state="attached")
    page.click("#settings summary")
    page.select_option("#answerer", "llm")
    turn = ask(page, QUESTION)
    sentences = turn.locator(".sentence")
    assert sentences.count() == 2
    assert "unsupported" not in (sentences.nth(0).get_attribute("class") or "")
    assert "unsupported" in (sentences.nth(1).get_attribute("class") or "")
    assert turn.locator(".sentence.unsupported .unsupported-badge").inner_text() == "未核实"
    assert "找不到依据" in turn.locator(".notices").inner_text()


def test_a_keyed_service_asks_for_the_key_once_and_then_works(
    page: Any, live_app: Callable[..., str], mini_index: Settings
) -> None:
    keyed = mini_index.model_copy(
        update={"server": mini_index.server.model_copy(update={"api_key": SecretStr("page-key")})}
    )
    site = live_app(keyed)
    prompts: list[str] = []

    def answer(dialog: Any) -> None:
        prompts.append(dialog.message)
        dialog.accept("page-key")

    page.on("dialog", answer)
    page.goto(site)
    page.locator("#status").filter(has_text="篇简报").wait_for()
    assert len(prompts) == 1 and "API 密钥" in prompts[0]
    turn = ask(page, QUESTION)
    assert "500万元" in turn.locator(".answer-body").inner_text()
    assert len(prompts) == 1  # the key is remembered


def test_a_word_file_uploaded_with_its_publisher_then_retitled_in_the_documents_list(
    page: Any, site: str, tmp_path: Path
) -> None:
    from tests.fixtures.documents import write_docx

    docx = write_docx(tmp_path / "雪岭简报.docx")
    page.goto(site)
    page.click("#tab-docs")
    accept = page.locator("#upload-input").get_attribute("accept") or ""
    assert {".docx", ".doc", ".html", ".ofd", ".pdf"} <= set(accept.split(","))
    assert "Word" in page.locator("#upload-formats").inner_text()
    page.set_input_files("#upload-input", str(docx))
    page.locator(".upload-meta summary").click()
    page.fill("#upload-publisher", "雪岭市发展改革委")
    page.click("#upload-button")
    page.locator("#upload-list .file-status").filter(has_text="已加入索引").wait_for()
    row = page.locator("#docs-table tbody tr", has_text="雪岭简报.docx")
    assert "雪岭高新区工作简报" in row.inner_text() and "雪岭市发展改革委" in row.inner_text()

    row.get_by_role("button", name=re.compile("^编辑简报信息")).click()
    form = page.locator("form.meta-edit")
    form.locator("input[name=title]").fill("雪岭高新区2024年一季度简报")
    form.get_by_role("button", name="保存").click()
    page.locator("#docs-table tbody tr", has_text="雪岭高新区2024年一季度简报").wait_for()

    page.click("#tab-ask")
    turn = ask(page, "冰川算力中心总投资多少？")
    references = turn.locator(".references").inner_text()
    assert "雪岭高新区2024年一季度简报[R]. 2024-03-15: 一、产业发展." in references


def test_the_page_takes_its_limits_from_the_server(page: Any, site: str) -> None:
    page.goto(site)
    page.wait_for_function("document.querySelector('#k').max !== ''")
    assert page.locator("#k").get_attribute("max") == str(MAX_ANSWER_PASSAGES)
    assert page.locator("#question").get_attribute("maxlength") == str(MAX_QUESTION_CHARS)


def test_an_answer_downloads_as_a_word_document_with_footnotes(page: Any, site: str) -> None:
    page.goto(site)
    turn = ask(page, QUESTION)
    with page.expect_download() as download:
        turn.get_by_role("button", name="下载 Word").click()
    assert download.value.suggested_filename.endswith(".docx")
    referenced, texts = footnotes(Path(download.value.path()).read_bytes())
    assert referenced and all(t.startswith("科技金融动态[R]") for t in texts)
    with page.expect_download() as whole:
        page.locator("#download-docx").click()
    assert footnotes(Path(whole.value.path()).read_bytes())[1] == texts


def test_the_source_panel_shows_headings_marks_the_cited_sentence_and_follows_the_newest_answer(
    page: Any, site: str
) -> None:
    page.goto(site)
    turn = ask(page, "蓝色创业训练营有多少名创业者参加？")
    turn.locator("sup.cite a").first.click()
    page.locator("#source-mark").wait_for()
    source = page.locator("#source-text")
    assert not [line for line in source.inner_text().splitlines() if line.startswith("#")]  # no raw ##
    assert "创业孵化" in source.locator(".source-heading").all_inner_texts()
    # Within the passage, the sentence the answer quotes is the one marked.
    quoted = re.sub(r"\[\d+\]|\s", "", turn.locator(".sentence").first.inner_text())
    assert re.sub(r"\s", "", page.locator("#source-mark mark").inner_text()) == quoted

    ask(page, QUESTION)  # the panel is still open: it moves to the newest answer's source
    page.wait_for_function("document.querySelector('#source-title').textContent.includes('科技金融')")
    assert "星火贷" in page.locator("#source-mark mark").inner_text()


def test_at_800_px_the_source_panel_leaves_the_question_box_free(page: Any, site: str) -> None:
    page.set_viewport_size({"width": 800, "height": 700})
    page.goto(site)
    turn = ask(page, QUESTION)
    turn.locator("sup.cite a").first.click()
    page.locator("#source-mark").wait_for()
    panel, question = page.locator("#source-panel").bounding_box(), page.locator("#question").bounding_box()
    assert panel and question and panel["y"] + panel["height"] <= question["y"]
    page.fill("#question", "还能提问")  # not covered: it takes input
    assert page.locator("#question").input_value() == "还能提问"


def test_a_long_briefing_title_wraps_in_the_filter_list(page: Any, site: str) -> None:
    long_title = "关于进一步完善科技金融服务体系支持科技型中小企业融资的若干政策措施实施情况的调研报告" * 2
    page.goto(site)
    response = page.request.patch(
        f"{site.rstrip('/')}/api/documents/{quote('科技金融简报.txt')}", data={"title": long_title}
    )
    assert response.ok
    page.reload()
    page.locator("#settings summary").click()
    label = page.locator("#doc-filter label", has_text=long_title[:20])
    label.wait_for()
    box, fieldset = label.bounding_box(), page.locator("#doc-filter").bounding_box()
    assert box and fieldset and box["x"] + box["width"] <= fieldset["x"] + fieldset["width"] + 1
    assert long_title in label.inner_text().replace("\n", "")
