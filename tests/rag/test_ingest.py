from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rag.chunking import chunk_document
from rag.config import ChunkingSettings, load_settings
from rag.errors import DocumentError
from rag.indexing import build_index
from rag.ingest import load_document, load_metadata
from rag.store import load_index
from tests.fixtures.corpus import BUNDLED_DATA, HashEmbedder, make_home

POLICY_PAGES = [
    ["【政策】", "（1）《关于加快科技成果转化的若干措施》", "简介：《措施》提出，对技术合同成交额超过一千万元的", "项目给予奖励，单个项目最高二百万元。"],
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
        [f"{places[n % 6 * 2 : n % 6 * 2 + 2]}高新区{actions[n % 4 * 2 : n % 4 * 2 + 2]}{fields[n % 5 * 2 : n % 5 * 2 + 2]}企业{n}家。"]
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


def test_scanned_pdf_without_text_layer_is_a_clear_error(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "扫描件.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(100, 100, 300, 300, fill=1)
    pdf.showPage()
    pdf.save()
    with pytest.raises(DocumentError, match="扫描件.pdf.*文字层"):
        load_document(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("损坏.pdf", b"%PDF-1.4\n this is not really a pdf", "损坏.pdf.*无法解析"),
        ("空文件.txt", b"", "空文件.txt.*为空"),
        ("表格.xlsx", b"PK\x03\x04", "表格.xlsx.*不支持"),
        ("空白.txt", "   \n\u3000\n\n".encode(), "空白.txt.*没有可提取的文字"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=message):
        load_document(path)


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8-sig"])
def test_text_files_in_gbk_or_with_bom_are_decoded(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "简报.txt"
    path.write_bytes("【现状】\n广东正推进基础研究十年“卓粤”计划。\n".encode(encoding))
    doc = load_document(path)
    assert doc.text.startswith("【现状】")
    assert "“卓粤”计划" in doc.text


def test_a_bad_file_does_not_stop_the_batch(tmp_path: Path) -> None:
    home = make_home(tmp_path, BUNDLED_DATA)
    (home / "data" / "扫描件.pdf").write_bytes(b"%PDF-1.4 garbage")
    for extra in list((home / "data").glob("*.txt"))[2:]:
        extra.unlink()
    report = build_index(load_settings(home=home), HashEmbedder())
    assert set(report.failed) == {"扫描件.pdf"}
    assert "扫描件.pdf" in report.failed["扫描件.pdf"]
    index = load_index(load_settings(home=home).index_dir)
    assert len(index.documents) == 2


def test_bundled_metadata_names_every_briefing_and_its_original_file() -> None:
    metadata = load_metadata(BUNDLED_DATA)
    files = sorted(p.name for p in BUNDLED_DATA.glob("*.txt"))
    assert sorted(metadata) == files
    originals = {meta["original"] for meta in metadata.values()}
    assert originals == {f"00{i}_" + h for i, h in enumerate(
        ["6339d00eea488fd2.txt", "901f5e2f18ad46d3.txt", "829b2ea816c2e38e.txt", "cde8cb80feb6ea73.txt", "9777ad143cb15cbb.txt"]
    )}
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
