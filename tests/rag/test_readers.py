"""Each format's reader gives the document a researcher sees: its title, its sections, its
tables and footnotes as text, and a locator (page, or paragraph where there are no pages)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.chunking import chunk_document
from rag.config import ChunkingSettings
from rag.errors import DocumentError
from rag.ingest import load_document
from rag.readers import doc as doc_reader
from rag.readers import ocr, read_file
from rag.readers.numbering import chinese_number, format_number
from rag.types import Chunk
from tests.fixtures.documents import SNOW_TITLE, scanned_ofd_bytes, write_docx, write_html, write_ofd
from tests.fixtures.pdfs import write_scanned_pdf, write_table_pdf


def chunk_with(chunks: list[Chunk], text: str) -> Chunk:
    return next(chunk for chunk in chunks if text in chunk.text)


def test_word_headings_numbering_footnotes_and_tables_become_sections_and_text(tmp_path: Path) -> None:
    doc = load_document(write_docx(tmp_path / "简报.docx"))
    assert doc.title == SNOW_TITLE and doc.kind == "docx"
    assert doc.file_meta == {"author": "雪岭高新区管委会", "date": "2024-03-15"}
    # Word's automatic numbering is written out as the reader sees it.
    assert [p.heading for p in doc.paragraphs if p.heading] == [
        SNOW_TITLE,
        "一、产业发展",
        "（一）重点项目",
        "二、人才引进",
    ]
    assert "增长12%。（注1）" in doc.text or "增长12%（注1）。" in doc.text
    assert "注1：数据来源：雪岭高新区统计局2023年年报。" in doc.text
    assert "园区：冰雪装备园；企业数：42家；产值：86亿元。" in doc.text
    chunks = chunk_document(doc, ChunkingSettings(min_chars=0))
    project = chunk_with(chunks, "冰川算力中心")
    assert project.section == ("一、产业发展", "（一）重点项目")
    assert project.location == "第5段"  # Word has no fixed pages: the paragraph number
    assert chunk_with(chunks, "寒地测试场").section == ("二、人才引进",)


def test_word_title_falls_back_from_a_placeholder_property_to_the_title_paragraph(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "简报.docx", core_title="Microsoft Word - 简报.doc", author="")
    doc = load_document(path)
    assert doc.title == SNOW_TITLE
    assert "author" not in doc.file_meta


def test_metadata_the_user_sets_wins_over_the_files_own(tmp_path: Path) -> None:
    doc = load_document(write_docx(tmp_path / "简报.docx"), {"title": "自定标题", "date": "2024-04-01"})
    assert doc.title == "自定标题" and doc.info("date") == "2024-04-01"
    assert doc.info("author") == "雪岭高新区管委会"


@pytest.mark.parametrize(
    ("n", "fmt", "text"), [(1, "chineseCounting", "一"), (12, "chineseCounting", "十二")]
)
def test_word_number_formats(n: int, fmt: str, text: str) -> None:
    assert format_number(n, fmt) == text


def test_chinese_numbers_as_word_counts_them() -> None:
    assert [chinese_number(n) for n in (9, 10, 11, 20, 35, 100, 105, 112)] == [
        "九",
        "十",
        "十一",
        "二十",
        "三十五",
        "一百",
        "一百零五",
        "一百一十二",
    ]
    assert [
        format_number(n, f) for n, f in ((3, "decimalEnclosedCircle"), (4, "upperRoman"), (2, "lowerLetter"))
    ] == [
        "③",
        "IV",
        "b",
    ]


@pytest.mark.parametrize("charset", ["utf-8", "gbk"])
def test_a_saved_web_page_keeps_its_article_and_drops_the_sites_furniture(
    tmp_path: Path, charset: str
) -> None:
    doc = load_document(write_html(tmp_path / "条例.html", charset))
    assert doc.title == "雪岭市科技创新促进条例"
    assert doc.file_meta == {"publisher": "雪岭市科学技术局", "date": "2023-05-10"}
    for furniture in ("首页", "字体", "版权所有", "网站标识码"):
        assert furniture not in doc.text
    chunks = chunk_document(doc, ChunkingSettings(min_chars=0))
    article = chunk_with(chunks, "冰雪科技专项资金")
    assert article.section[0] == "第二章 研究开发"
    assert article.location.endswith("段")
    assert "项目类别：联合实验室；资助上限：五百万元。" in doc.text


def test_ofd_text_is_put_back_into_lines_by_position_with_exact_pages(tmp_path: Path) -> None:
    pages: list[tuple[int, int]] = []
    extracted = read_file(write_ofd(tmp_path / "办法.ofd"), lambda done, total: pages.append((done, total)))
    assert pages == [(1, 2), (2, 2)]
    assert extracted.meta == {
        "title": "雪岭市科技型企业培育办法",
        "author": "雪岭市科学技术局",
        "date": "2024-01-02",
    }
    doc = load_document(tmp_path / "办法.ofd")
    assert "第八条　对首次认定的高新技术企业，给予一次性奖励三十万元。" in doc.text.replace(" ", "　")
    assert doc.locate(doc.text.index("三十万元")).page == 2
    assert doc.locate(doc.text.index("为加快培育")).page == 1


def test_legacy_doc_is_read_through_libreoffice_or_antiword(
    legacy_doc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    through_libreoffice = load_document(legacy_doc)
    assert "第十条" in through_libreoffice.text and "冰雪科技专项资金" in through_libreoffice.text
    assert "第二章 研究开发" in {p.heading for p in through_libreoffice.paragraphs if p.heading}

    if not doc_reader.shutil.which("antiword"):
        pytest.skip("antiword is not installed")
    real_which = doc_reader.shutil.which
    monkeypatch.setattr(
        doc_reader.shutil, "which", lambda name: None if "office" in name else real_which(name)
    )
    through_antiword = load_document(legacy_doc)
    assert "冰雪科技专项资金" in through_antiword.text
    assert "项目类别：联合实验室；资助上限：五百万元。" in through_antiword.text


def test_legacy_doc_without_a_converter_says_how_to_convert(
    legacy_doc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(doc_reader.shutil, "which", lambda name: None)
    with pytest.raises(
        DocumentError, match=r"雪岭市条例\.doc：读取旧版 \.doc 需要 antiword 或 LibreOffice.*另存为"
    ):
        load_document(legacy_doc)


SCANNED_PAGES = [
    ["【现状】", "雪岭高新区设立冰川算力中心，总投资12亿元。"],
    ["【经验】", "海港高新区对引进的领军人才给予最高三百万元安家补贴。"],
]


@pytest.mark.skipif(not ocr.available(), reason="the OCR extra is not installed")
def test_a_scanned_pdf_is_read_by_ocr_with_exact_pages(tmp_path: Path) -> None:
    pages: list[tuple[int, int]] = []
    path = write_scanned_pdf(tmp_path / "扫描简报.pdf", SCANNED_PAGES, text_pages=[1])
    doc = load_document(path, on_page=lambda done, total: pages.append((done, total)))
    assert pages == [(1, 2), (2, 2)]
    text = doc.text.replace(" ", "")
    assert "冰川算力中心，总投资12亿元" in text  # page 1: its text layer
    assert "最高三百万元安家补贴" in text  # page 2: a picture, read by OCR
    assert doc.locate(doc.text.index("海港")).page == 2
    assert doc.locate(doc.text.index("冰川")).page == 1


def test_a_scan_without_the_ocr_extra_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "available", lambda: False)
    path = write_scanned_pdf(tmp_path / "扫描件.pdf", SCANNED_PAGES)
    with pytest.raises(
        DocumentError,
        match=r"扫描件\.pdf：PDF 没有可提取的文字层（可能是扫描件）。安装 OCR 扩展.*briefing-rag\[ocr\]",
    ):
        load_document(path)


@pytest.mark.parametrize("ruled", [True, False], ids=["ruled", "three-line"])
def test_pdf_tables_become_rows_that_name_their_headers(tmp_path: Path, ruled: bool) -> None:
    doc = load_document(write_table_pdf(tmp_path / "政策表.pdf", ruled))
    lines = doc.text.splitlines()
    assert "地区：深圳；出台时间：2022年1月5日；政策文件：深科技创新规〔2022〕2号。" in lines
    assert "地区：珠海；出台时间：2022年6月1日；政策文件：珠科规〔2022〕3号，配套实施细则另行发布。" in lines
    # The text around the table keeps its place.
    order = [
        doc.text.index(s) for s in ("具体如下表所示", "地区：广州", "地区：珠海", "上述政策均已进入实施阶段")
    ]
    assert order == sorted(order)


def test_a_web_page_saved_as_text_gets_its_headline_as_title_not_its_breadcrumb(tmp_path: Path) -> None:
    page = tmp_path / "网页.txt"
    page.write_text(
        "首页 > 政务公开 > 政策文件\n【字体：大 中 小】\n雪岭市科技创新促进条例\n"
        "（2023年5月10日雪岭市人民代表大会常务委员会通过）\n"
        + "".join(
            f"第{n}条 本市推进科技创新，支持企业、高等学校和科研机构开展第{n}类研究开发活动。\n"
            for n in "一二三四五六"
        ),
        encoding="utf-8",
    )
    assert load_document(page).title == "雪岭市科技创新促进条例"


@pytest.mark.skipif(not ocr.available(), reason="the OCR extra is not installed")
def test_a_scanned_ofd_is_read_by_ocr_from_its_page_images(tmp_path: Path) -> None:
    path = tmp_path / "扫描办法.ofd"
    path.write_bytes(scanned_ofd_bytes(SCANNED_PAGES))
    doc = load_document(path)
    assert doc.title == "雪岭市科技型企业培育办法（扫描件）"
    text = doc.text.replace(" ", "")
    assert "冰川算力中心，总投资12亿元" in text and "最高三百万元安家补贴" in text
    assert doc.locate(doc.text.index("海港")).page == 2


def test_a_scanned_ofd_without_the_ocr_extra_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "available", lambda: False)
    path = tmp_path / "扫描办法.ofd"
    path.write_bytes(scanned_ofd_bytes(SCANNED_PAGES))
    with pytest.raises(
        DocumentError, match=r"扫描办法\.ofd：OFD 文件中没有文字（可能是扫描件）。安装 OCR 扩展"
    ):
        load_document(path)


def test_markdowns_html_comments_are_not_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "条例.md"
    path.write_text(
        "# 某市科技创新条例\n\n2022年8月30日 某市人大常委会会议通过\n\n<!-- INFO END -->\n\n"
        "## 第一章 总则\n\n<!-- 编辑\n备注 -->\n第一条 为了促进科技创新，制定本条例。\n",
        encoding="utf-8",
    )
    document = load_document(path)
    assert "INFO END" not in document.text and "备注" not in document.text and "<!--" not in document.text
    # lines keep their numbers: the article is still on line 11
    assert document.locate(document.text.index("第一条")).line == 11
