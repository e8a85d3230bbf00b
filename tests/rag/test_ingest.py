from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from rag import ingest
from rag.chunking import chunk_document
from rag.config import ChunkingSettings, load_settings
from rag.corpus import add_files
from rag.errors import DocumentError, FileTooLargeError
from rag.indexing import build_index
from rag.ingest import load_document
from rag.metadata import load_metadata
from rag.readers import ocr, unsupported_type
from rag.readers import pdf as pdf_reader
from rag.readers.pdf import PARALLEL_MIN_PAGES, read_pdf_lines
from rag.store import current_version, load_index
from tests.fixtures.corpus import BUNDLED_DATA, MINI_DATA, HashEmbedder, make_home
from tests.fixtures.pdfs import (
    GOOD_PAGES,
    SMALL_LIMIT,
    BadFile,
    bad_files,
    break_last_stream,
    pdf_bytes,
    write_pdf,
)

POLICY_PAGES = [
    [
        "【政策】",
        "（1）《关于加快科技成果转化的若干措施》",
        "简介：《措施》提出，对技术合同成交额超过一千万元的",
        "项目给予奖励，单个项目最高二百万元。",
    ],
    ["【现状】", "绿洲高新区联合本地银行推出“星火贷”产品，为科技型中小", "企业提供最高五百万元的信用贷款。"],
    ["【经验】", "海港高新区设立人才专项，对引进的海洋工程领军人才给予", "最高三百万元安家补贴。"],
]


def test_pdf_chunks_keep_their_pages_and_drop_headers_and_page_numbers(make_pdf: Callable[..., Path]) -> None:
    path = make_pdf("政策简报.pdf", POLICY_PAGES, header="广东省政协提案参考材料")
    doc = load_document(path)
    assert doc.kind == "pdf"
    assert "广东省政协提案参考材料" not in doc.text
    assert "星火贷" in doc.text
    chunks = chunk_document(doc, ChunkingSettings(min_chars=0))
    pages = {chunk.section[0]: (chunk.page_start, chunk.page_end) for chunk in chunks}
    assert pages["【政策】"] == (1, 1)
    assert pages["【现状】"] == (2, 2)
    assert pages["【经验】"] == (3, 3)
    # Wrapped lines are rejoined without spaces, page numbers are gone.
    assert "信用贷款" in doc.text and "中小企业提供" in doc.text
    assert not any(line.strip() in {"1", "2", "3"} for line in doc.text.splitlines())
    assert next(c for c in chunks if c.section[0] == "【现状】").location == "第2页"


def test_a_long_pdf_reports_progress_page_by_page(make_pdf: Callable[..., Path], tmp_path: Path) -> None:
    places, actions, fields = "山城海港江岸湖滨林川云岭", "引进设立扶持培育", "芯片生物新材料装备"
    pages = [
        [
            f"{places[n % 6 * 2 : n % 6 * 2 + 2]}高新区{actions[n % 4 * 2 : n % 4 * 2 + 2]}{fields[n % 5 * 2 : n % 5 * 2 + 2]}企业{n}家。"
        ]
        for n in range(12)
    ]
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    make_pdf("长篇简报.pdf", pages).rename(home / "data" / "长篇简报.pdf")
    events: list[tuple[str, int, int]] = []
    build_index(load_settings(home=home), HashEmbedder(), progress=lambda *event: events.append(event))
    page_events = [(done, total) for stage, done, total in events if stage == "pages"]
    assert page_events == [(n, 12) for n in range(1, 13)]
    # Pages are read before anything is embedded.
    assert events.index(("pages", 12, 12)) < min(i for i, e in enumerate(events) if e[0] == "embed")


def test_reading_a_pdf_holds_one_page_layout_at_a_time(tmp_path: Path) -> None:
    # A 1,000-page PDF stays in bounded memory because each page's parsed layout (characters,
    # boxes) is dropped once its text is out; only the text accumulates. Kept layouts would
    # make the peak grow with the page count (about 2.5 MB a page here).
    import tracemalloc

    def peak_reading(pages: int) -> int:
        lines = [f"第{n}页：科技成果转化引导基金设立规模{n}亿元，支持早期项目落地。" * 2 for n in range(20)]
        pdf = write_pdf(tmp_path / f"{pages}页.pdf", [lines] * pages)
        tracemalloc.start()
        try:
            read_pdf_lines(pdf, workers=1)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak_reading(2)  # imports and caches, once
    assert peak_reading(24) < 2 * peak_reading(6)


def test_a_pdf_read_in_this_process_is_opened_once(
    make_pdf: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pdfplumber

    pdf = make_pdf("简报.pdf", [[f"第{n}页：高新区引进企业{n}家。"] for n in range(5)])
    opened: list[Path] = []
    real_open = pdfplumber.open
    monkeypatch.setattr(
        pdfplumber, "open", lambda path, *a, **kw: opened.append(path) or real_open(path, *a, **kw)
    )
    events: list[tuple[int, int]] = []
    lines = read_pdf_lines(pdf, lambda done, total: events.append((done, total)), workers=1)
    assert opened == [pdf] and events == [(n, 5) for n in range(1, 6)]
    assert {line.page for line in lines if line.text.strip()} == {1, 2, 3, 4, 5}


def test_a_long_pdf_read_by_worker_processes_gives_the_same_lines_and_counts_every_page(
    make_pdf: Callable[..., Path],
) -> None:
    pages = [
        [f"第{n}页：高新区引进企业{n}家，设立基金{n * 3}亿元。", f"◆专题{n}"]
        for n in range(PARALLEL_MIN_PAGES + 8)
    ]
    pdf = make_pdf("长篇简报.pdf", pages)
    events: list[int] = []
    in_workers = read_pdf_lines(pdf, lambda done, total: events.append(done), workers=3)
    assert in_workers == read_pdf_lines(pdf, workers=1)
    assert events == list(range(1, len(pages) + 1))
    assert {line.page for line in in_workers if "第47页" in line.text} == {48}


def test_a_damaged_page_read_by_a_worker_process_names_the_file(tmp_path: Path) -> None:
    pdf = tmp_path / "第41页损坏.pdf"
    pages = [[f"第{n}页：高新区引进企业{n}家。"] for n in range(PARALLEL_MIN_PAGES + 1)]
    pdf.write_bytes(break_last_stream(pdf_bytes(pages)))
    with pytest.raises(DocumentError, match=r"第41页损坏\.pdf：无法解析 PDF（文件损坏或不完整）"):
        read_pdf_lines(pdf, workers=2)


@pytest.mark.parametrize("bad", bad_files(), ids=lambda bad: bad.name)
def test_bad_files_name_the_file_and_say_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: BadFile
) -> None:
    monkeypatch.setattr(ingest, "MAX_FILE_BYTES", SMALL_LIMIT)
    path = tmp_path / bad.name
    path.write_bytes(bad.content)
    with pytest.raises(DocumentError, match=bad.message) as caught:
        load_document(path)
    assert isinstance(caught.value, FileTooLargeError) == (bad.code == "too_large")


def test_a_file_at_the_size_limit_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "MAX_FILE_BYTES", SMALL_LIMIT)
    text = "【现状】\n绿洲高新区推出“星火贷”产品。\n".encode()
    path = tmp_path / "正好.txt"
    path.write_bytes(text + b" " * (SMALL_LIMIT - len(text)))
    assert "星火贷" in load_document(path).text


TEXT = "【现状】\n广东正推进基础研究十年“卓粤”计划。\n"


@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param(TEXT.encode("gb18030"), id="gb18030"),
        pytest.param(TEXT.encode("gbk"), id="gbk"),
        pytest.param(TEXT.encode("utf-8"), id="utf-8"),
        pytest.param(TEXT.encode("utf-8-sig"), id="utf-8-bom"),
        pytest.param(codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), id="utf-16-le-bom"),
        pytest.param(codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), id="utf-16-be-bom"),
        pytest.param(codecs.BOM_UTF32_LE + TEXT.encode("utf-32-le"), id="utf-32-le-bom"),
    ],
)
def test_text_files_in_gbk_or_with_bom_are_decoded(tmp_path: Path, encoded: bytes) -> None:
    path = tmp_path / "简报.txt"
    path.write_bytes(encoded)
    doc = load_document(path)
    assert doc.text.startswith("【现状】")
    assert "广东正推进基础研究十年“卓粤”计划。" in doc.text and "\ufeff" not in doc.text


def test_an_encrypted_pdf_that_opens_without_a_password_is_read(make_pdf: Callable[..., Path]) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption

    # Owner password only, copying and printing forbidden: no password is needed to read it.
    locked = StandardEncryption("", ownerPassword="owner", canPrint=0, canCopy=0, canModify=0)
    lines = ["Xueling Hi-Tech Zone", "The glacier computing centre cost 1.2 billion yuan."]
    doc = load_document(make_pdf("encrypted.pdf", [lines], font="Helvetica", encrypt=locked))
    assert "glacier computing centre cost 1.2 billion yuan" in doc.text


def test_glyphs_without_unicode_are_dropped_not_indexed_as_cid_codes(tmp_path: Path) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    # An encrypted reportlab PDF reads its CJK font as (cid:N) codes (see write_pdf), its Latin text fine.
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "mixed.pdf"
    pdf = canvas.Canvas(str(path), encrypt=StandardEncryption("", ownerPassword="owner"))
    pdf.setFont("Helvetica", 12)
    pdf.drawString(72, 760, "The glacier computing centre cost 1.2 billion yuan.")
    pdf.setFont("STSong-Light", 12)
    pdf.drawString(72, 740, "雪岭")
    pdf.showPage()
    pdf.save()
    doc = load_document(path)
    assert "glacier computing centre" in doc.text and "cid:" not in doc.text


# An encrypted reportlab PDF reads its CJK font as (cid:N) codes (see write_pdf): a font
# without Unicode, as some real PDFs have.
def undecodable_pdf(path: Path) -> Path:
    from reportlab.lib.pdfencrypt import StandardEncryption

    path.write_bytes(pdf_bytes(GOOD_PAGES, encrypt=StandardEncryption("", ownerPassword="owner")))
    return path


@pytest.mark.skipif(not ocr.available(), reason="the OCR extra is not installed")
def test_pages_whose_glyphs_have_no_unicode_are_read_by_ocr(tmp_path: Path) -> None:
    doc = load_document(undecodable_pdf(tmp_path / "无法解码.pdf"))
    assert "cid:" not in doc.text
    assert "冰川算力中心" in doc.text.replace(" ", "")
    assert doc.locate(doc.text.index("冰川")).page == 2


def test_glyphs_without_unicode_and_no_ocr_say_how_to_read_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "available", lambda: False)
    with pytest.raises(
        DocumentError, match=r"无法解码\.pdf：PDF 的文字无法解码.*pip install 'briefing-rag\[ocr\]'"
    ):
        load_document(undecodable_pdf(tmp_path / "无法解码.pdf"))


def _unreadable(bad: BadFile) -> bool:
    """Bad files that ``rag index`` sees: of a type it reads (others in data/ are not briefings)."""
    return unsupported_type(bad.name) is None


def test_rag_index_skips_every_bad_file_naming_it_and_indexes_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "MAX_FILE_BYTES", SMALL_LIMIT)
    home = make_home(tmp_path, MINI_DATA)
    bad = [b for b in bad_files() if _unreadable(b)]
    for b in bad:
        (home / "data" / b.name).write_bytes(b.content)
    # Not briefings, so not reported: macOS metadata beside a copied file, a hidden partial copy.
    (home / "data" / "._科技金融简报.txt").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    (home / "data" / ".雪岭简报.pdf").write_bytes(b"%PDF-1.4\n")
    report = build_index(load_settings(home=home), HashEmbedder())
    assert set(report.failed) == {b.name for b in bad}
    for b in bad:
        assert re.match(b.message, report.failed[b.name]), (b.name, report.failed[b.name])
    index = load_index(load_settings(home=home).index_dir)
    assert set(index.documents) == {"海港高新区通讯.md", "科技金融简报.txt"}
    assert report.added == sorted(index.documents)


def test_rag_add_copies_only_readable_files_and_leaves_the_index_alone_when_none_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "MAX_FILE_BYTES", SMALL_LIMIT)
    settings = load_settings(home=make_home(tmp_path, MINI_DATA))
    embedder = HashEmbedder()
    build_index(settings, embedder)
    before = current_version(settings.index_dir)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    for b in bad_files():
        (incoming / b.name).write_bytes(b.content)

    report = add_files(settings, embedder, [incoming / b.name for b in bad_files()])
    assert set(report.failed) == {b.name for b in bad_files()}
    for b in bad_files():
        assert re.match(b.message, report.failed[b.name]), (b.name, report.failed[b.name])
    assert not report.written and current_version(settings.index_dir) == before
    # Nothing of them in data/: no copy, no partial file, no hidden leftover.
    assert sorted(p.name for p in settings.data_dir.iterdir()) == ["海港高新区通讯.md", "科技金融简报.txt"]

    good = write_pdf(incoming / "雪岭简报.pdf", GOOD_PAGES)
    report = add_files(settings, embedder, [incoming / "扫描件.pdf", good, incoming / "截断.pdf"])
    assert report.added == ["雪岭简报.pdf"] and set(report.failed) == {"扫描件.pdf", "截断.pdf"}
    assert "扫描件.pdf" in report.failed["扫描件.pdf"] and "截断.pdf" in report.failed["截断.pdf"]
    assert set(load_index(settings.index_dir).documents) == {
        "海港高新区通讯.md",
        "科技金融简报.txt",
        "雪岭简报.pdf",
    }
    assert sorted(p.name for p in settings.data_dir.iterdir()) == [
        "海港高新区通讯.md",
        "科技金融简报.txt",
        "雪岭简报.pdf",
    ]


def test_rag_add_reads_each_file_once_with_page_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Checking a file before copying it and indexing it afterwards used to read a long PDF twice.
    settings = load_settings(home=make_home(tmp_path, MINI_DATA))
    build_index(settings, HashEmbedder())
    good = write_pdf(tmp_path / "雪岭简报.pdf", GOOD_PAGES)
    pages_read: list[int] = []
    real_read = pdf_reader.read_pdf_lines
    monkeypatch.setattr(
        pdf_reader, "read_pdf_lines", lambda path, *a, **kw: pages_read.append(1) or real_read(path, *a, **kw)
    )
    events: list[tuple[str, int, int]] = []
    report = add_files(settings, HashEmbedder(), [good], progress=lambda *e: events.append(e))
    assert report.added == ["雪岭简报.pdf"] and len(pages_read) == 1
    assert [e for e in events if e[0] == "pages"] == [
        ("pages", n, len(GOOD_PAGES)) for n in range(1, len(GOOD_PAGES) + 1)
    ]


def test_bundled_metadata_names_every_briefing_and_its_original_file() -> None:
    metadata = load_metadata(BUNDLED_DATA)
    files = sorted(p.name for p in BUNDLED_DATA.glob("*.txt"))
    assert sorted(metadata) == files
    originals = {meta["original"] for meta in metadata.values()}
    assert originals == {
        f"00{i}_" + h
        for i, h in enumerate(
            [
                "6339d00eea488fd2.txt",
                "901f5e2f18ad46d3.txt",
                "829b2ea816c2e38e.txt",
                "cde8cb80feb6ea73.txt",
                "9777ad143cb15cbb.txt",
            ]
        )
    }
    for meta in metadata.values():
        assert meta["title"] and meta["publisher"]


def test_bundled_text_matches_the_shared_corpus_byte_for_byte() -> None:
    shared = BUNDLED_DATA.parent.parent / "shared" / "corpus"
    if not shared.is_dir():
        pytest.skip("../shared/corpus is not beside this checkout")
    for name, meta in load_metadata(BUNDLED_DATA).items():
        assert (BUNDLED_DATA / name).read_bytes() == (shared / meta["original"]).read_bytes()


def test_title_comes_from_metadata_then_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text("# 海港高新区通讯\n\n## 园区发展\n\n海港高新区引进项目18个。\n", encoding="utf-8")
    assert load_document(path).title == "海港高新区通讯"
    assert load_document(path, {"title": "自定义标题"}).title == "自定义标题"
