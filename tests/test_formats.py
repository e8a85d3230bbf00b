"""`rag add` of a Word file, a saved web page, an OFD and a legacy .doc, then a question about
each: the answer cites the right title, section and page (or paragraph where there are no pages)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.config import Settings
from rag.readers import ocr
from tests.fixtures.documents import SNOW_TITLE, write_docx, write_html, write_ofd
from tests.fixtures.pdfs import write_scanned_pdf, write_table_pdf

runner = CliRunner()


def ask(home: Path, question: str) -> dict[str, object]:
    result = runner.invoke(app, ["--home", str(home), "ask", question, "--json"])
    assert result.exit_code == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def citation_of(answer: dict[str, object], doc: str) -> dict[str, str]:
    citations = answer["citations"]
    assert isinstance(citations, list)
    cited = [c for c in citations if c["doc"] == doc]
    assert cited, answer
    return dict(cited[0])


def test_each_format_is_added_and_answers_with_its_own_citation(mini_index: Settings, tmp_path: Path) -> None:
    files = [
        write_docx(tmp_path / "雪岭简报.docx"),
        write_html(tmp_path / "雪岭条例.html"),
        write_ofd(tmp_path / "雪岭办法.ofd"),
        write_table_pdf(tmp_path / "珠三角政策表.pdf", ruled=False),
    ]
    result = runner.invoke(app, ["--home", str(mini_index.home), "add", *map(str, files)])
    assert result.exit_code == 0, result.stderr
    assert "新增 4 篇" in result.stderr

    answer = ask(mini_index.home, "冰川算力中心总投资多少？")
    assert "12亿元" in str(answer["answer"])
    cited = citation_of(answer, "雪岭简报.docx")
    # Small sections are merged: the passage spans 一、 and its （一）, paragraphs 3 to 5.
    assert (cited["title"], cited["section"], cited["page"]) == (SNOW_TITLE, "一、产业发展", "第3–5段")

    answer = ask(mini_index.home, "雪岭市冰雪科技专项资金每年安排多少？")
    assert "三亿元" in str(answer["answer"])
    cited = citation_of(answer, "雪岭条例.html")
    assert cited["title"] == "雪岭市科技创新促进条例" and cited["section"].startswith("第二章 研究开发")

    answer = ask(mini_index.home, "首次认定的高新技术企业奖励多少？")
    assert "三十万元" in str(answer["answer"])
    cited = citation_of(answer, "雪岭办法.ofd")
    assert cited["title"] == "雪岭市科技型企业培育办法" and cited["page"] in {"第2页", "第1–2页"}

    answer = ask(mini_index.home, "深圳的科技创新政策是什么时间出台的？")
    assert "2022年1月5日" in str(answer["answer"])
    cited = citation_of(answer, "珠三角政策表.pdf")
    assert (cited["section"], cited["page"]) == ("【政策】", "第1页")

    listed = runner.invoke(app, ["--home", str(mini_index.home), "list", "--json"])
    rows = {row["doc"]: row for row in json.loads(listed.stdout)}
    assert rows["雪岭条例.html"]["publisher"] == "雪岭市科学技术局"
    assert rows["雪岭条例.html"]["date"] == "2023-05-10"


def test_a_legacy_word_file_is_added_and_cited(mini_index: Settings, legacy_doc: Path) -> None:
    result = runner.invoke(app, ["--home", str(mini_index.home), "add", str(legacy_doc)])
    assert result.exit_code == 0, result.stderr
    answer = ask(mini_index.home, "联合实验室最高资助多少？")
    assert "五百万元" in str(answer["answer"])
    cited = citation_of(answer, legacy_doc.name)
    assert cited["title"] == "雪岭市科技创新促进条例" and cited["section"].startswith("第二章 研究开发")


def test_rag_add_and_describe_set_the_title_publisher_and_date(mini_index: Settings, tmp_path: Path) -> None:
    home = str(mini_index.home)
    docx = write_docx(tmp_path / "雪岭简报.docx")
    result = runner.invoke(app, ["--home", home, "add", str(docx), "--publisher", "雪岭市发展改革委"])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["--home", home, "describe", "雪岭简报.docx", "--title", "雪岭一季度简报"])
    assert result.exit_code == 0, result.stderr and "更新 1 篇" in result.stderr
    rows = {
        row["doc"]: row for row in json.loads(runner.invoke(app, ["--home", home, "list", "--json"]).stdout)
    }
    assert (rows["雪岭简报.docx"]["title"], rows["雪岭简报.docx"]["publisher"]) == (
        "雪岭一季度简报",
        "雪岭市发展改革委",
    )
    assert (
        citation_of(ask(mini_index.home, "冰川算力中心总投资多少？"), "雪岭简报.docx")["title"]
        == "雪岭一季度简报"
    )

    # The index is rebuilt from data/ with the same descriptions.
    assert runner.invoke(app, ["--home", home, "index", "--rebuild"]).exit_code == 0
    rows = {
        row["doc"]: row for row in json.loads(runner.invoke(app, ["--home", home, "list", "--json"]).stdout)
    }
    assert rows["雪岭简报.docx"]["title"] == "雪岭一季度简报"


def test_rag_add_refuses_a_title_for_several_files_and_a_bad_date(
    mini_index: Settings, tmp_path: Path
) -> None:
    home = str(mini_index.home)
    files = [str(write_docx(tmp_path / "一.docx")), str(write_ofd(tmp_path / "二.ofd"))]
    result = runner.invoke(app, ["--home", home, "add", *files, "--title", "同一个标题"])
    assert result.exit_code == 1 and "标题只能为单个文件设置" in result.stderr
    result = runner.invoke(app, ["--home", home, "add", files[0], "--date", "2024/03/15"])
    assert result.exit_code == 1 and "日期格式应为 YYYY-MM-DD" in result.stderr
    assert not (mini_index.data_dir / "一.docx").exists()


@pytest.mark.skipif(not ocr.available(), reason="the OCR extra is not installed")
def test_a_scanned_pdf_is_added_and_cited_by_page(mini_index: Settings, tmp_path: Path) -> None:
    pages = [
        ["【现状】", "雪岭高新区今年新增专精特新企业三十二家。"],
        ["【经验】", "雪岭高新区设立了规模八亿元的冰雪装备产业基金。"],
    ]
    scan = write_scanned_pdf(tmp_path / "雪岭扫描件.pdf", pages)
    result = runner.invoke(app, ["--home", str(mini_index.home), "add", str(scan)])
    assert result.exit_code == 0, result.stderr
    answer = ask(mini_index.home, "雪岭高新区设立了多大规模的产业基金？")
    assert "八亿元" in str(answer["answer"])
    cited = citation_of(answer, "雪岭扫描件.pdf")
    assert (cited["section"], cited["page"]) == ("【经验】", "第2页")
