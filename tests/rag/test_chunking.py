"""Section chunking on verbatim excerpts of the bundled briefings and on the full briefings.

The excerpts (``tests/data/excerpts``, listed in test_cleaning.py) are byte-for-byte line
ranges of ``data/*.txt``. Expected heading paths below were written by reading the excerpts.

Heading titles are compared exactly. The Wingdings bullets U+F075/U+F0D8 that the 提案参考
PDFs use as section markers become ◆/➢ in the cleaned text, and the marker is not part of
the title (see ``test_section_titles_carry_no_private_use_glyphs``).

Tests marked ``xfail(strict=True)`` pin down known bugs; each reason says what is wrong.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from rag.chunking import chunk_document
from rag.cleaning import SourceLine, clean_lines
from rag.config import ChunkingSettings
from rag.sentences import CLOSERS, TERMINAL
from rag.types import HEADING_SEPARATOR, Chunk, Document
from tests.fixtures.briefings import (
    ALL_EXCERPTS,
    BRIEFINGS,
    BULLET_GLYPH,
    PRIVATE_USE,
    briefing,
    excerpt,
    raw_lines,
    squash,
)

SETTINGS = ChunkingSettings()


KABOZI = "提案参考-加快解决卡脖子问题.txt"
GAODUAN = "提案参考-加快广东高端制造设备进口.txt"
HUOJU = "火炬动态-2022年第6期.txt"


# --------------------------------------------------------------------------- helpers


@cache
def chunks_of(kind: str, name: str) -> list[Chunk]:
    doc = excerpt(name) if kind == "excerpt" else briefing(name)
    return chunk_document(doc, SETTINGS)


def document(kind: str, name: str) -> Document:
    return excerpt(name) if kind == "excerpt" else briefing(name)


def sections_with(chunks: list[Chunk], needle: str) -> set[tuple[str, ...]]:
    """Heading paths of every chunk whose text contains ``needle``."""
    found = {c.section for c in chunks if needle in c.text}
    assert found, f"no chunk contains {needle!r}"
    return found


def split_pairs(chunks: list[Chunk]) -> list[tuple[Chunk, Chunk]]:
    """Consecutive pieces of one split section: same heading path and overlapping text."""
    return [
        (a, b) for a, b in itertools.pairwise(chunks) if a.section == b.section and b.char_start < a.char_end
    ]


def heading_only(doc: Document, chunk: Chunk) -> bool:
    """Whether the chunk's span holds nothing but pure (non-inline) heading paragraphs."""
    body = [
        p
        for p in doc.paragraphs
        if p.start < chunk.char_end and p.end > chunk.char_start and (p.heading is None or p.inline)
    ]
    return not body or chunk.text in chunk.section


_ids: Counter[str] = Counter()


def case(name: str, *values: Any, bug: str | None = None) -> Any:
    """A parametrize row with an ASCII id (excerpt stem + number), xfail when ``bug`` is given."""
    stem = Path(name).stem if name.isascii() else "briefing"
    _ids[stem] += 1
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(name, *values, marks=marks, id=f"{stem}-{_ids[stem]}")


ALL_DOCS = [pytest.param("excerpt", n, id=Path(n).stem) for n in ALL_EXCERPTS] + [
    pytest.param("briefing", n, id=f"briefing-{i}") for i, n in enumerate(BRIEFINGS)
]


# --------------------------------------------------------------------------- heading paths


@pytest.mark.parametrize(
    ("name", "sentence", "section"),
    [
        case(
            "kabozi_cover_policy.txt",
            "审议通过时间：2022年2月28日中央全面深化改革委员会",
            ("【政策】", "中央相关政策文件", "（1）《关于推进国有企业打造原创技术策源地的指导意见》"),
        ),
        case(
            "kabozi_cover_policy.txt",
            "为进一步优化集成电路产业和软件产业发展环境",
            (
                "【政策】",
                "中央相关政策文件",
                "（2）国务院印发《新时期促进集成电路产业和软件产业高质量发展若干政策》（国发〔2020〕8号）",
            ),
        ),
        case("kabozi_cover_policy.txt", "关键核心技术是国之重器", ()),
        case(
            "kabozi_xianzhuang.txt",
            "我国成为“世界工厂”是国际分工发展与我国产业基础相结合的产物",
            ("【现状】", "产业链供应链重塑对我国带来的挑战", "二是损害我国良性发展的产业集群结构"),
        ),
        case(
            "kabozi_xianzhuang.txt",
            "只要缺少当中关键技术一环",
            ("【现状】", "增强产业链供应链韧性须先破解“卡脖子”问题"),
        ),
        case(
            "kabozi_wenti.txt",
            "我省仍处在复杂技术设备的进口替代初期",
            ("【问题】", "政协委员反映的我省产业发展技术“卡脖子”问题"),
        ),
        case(
            "kabozi_wenti.txt",
            "国内晶圆制造业在全国同业总值的占比在逐年提高",
            ("【问题】", "集成电路产业链存在结构性不平衡"),
        ),
        case(
            "kabozi_wenti.txt",
            "深圳国资国企产业布局主要以基础设施公用事业为主体",
            ("【问题】", "国资国企打造原创技术策源地的制约因素（以深圳为例）"),
        ),
        case("kabozi_wenti.txt", "为什么我国的产业缺乏核心技术", ("【问题】", "我国企业对基础研究投入少")),
        case(
            "gaoduan_cover.txt",
            "关键核心技术是要不来、买不来、讨不来的",
            (),
            bug="cover table of contents: the last ◆ headline '广东高端制造品牌汇聚强大向“新”力' is "
            "followed directly by the cover's preface, so it is not demoted like the ◆ list above it "
            "and the preface ('习近平总书记指出…', '针对省政协委员…') is filed under that headline",
        ),
        case("gaoduan_gongyemuji.txt", "答案便是珠三角巨大的应用市场优势", ("广东“工业母机”突围记",)),
        case(
            "gaoduan_zhuanjia_wenti.txt",
            "我国工业制造发展历史相对较短",
            ("专家对加快高端制造设备发展工作的建议",),
        ),
        case(
            "gaoduan_zhuanjia_wenti.txt",
            "从日本、德国、意大利、荷兰等地进口顶尖的高端设备",
            ("【问题】", "政协委员反映我省高端制造设备进口方面存在的问题"),
        ),
        case(
            "gaoduan_zhuanjia_wenti.txt",
            "高端制造设备的研发，可以从整机逐渐过渡到关键零部件",
            ("【问题】", "政协委员反映我省高端制造设备进口方面存在的问题"),
        ),
        case(
            "zhengxie_fanjie_lv.txt",
            "京津冀世界级城市群，应该以国家科技创新力量为主体",
            ("因地制宜地打造科技创新区域模式和推进体制机制改革（樊杰）",),
        ),
        case(
            "zhengxie_fanjie_lv.txt",
            "我国科研投入近年来呈不断增加趋势",
            ("提升科技成果转化推进高水平科技自立自强（吕跃广）", "一是必须确立科技创新的价值导向"),
        ),
        case(
            "zhengxie_fanjie_lv.txt",
            "要建立企业参与科技项目的机制",
            ("提升科技成果转化推进高水平科技自立自强（吕跃广）", "二是必须确立企业创新主体地位"),
        ),
        case("zhengxie_ouyang.txt", "良渚实验室作为新型高能级科创平台", ("打造高能级科创平台（欧阳宏伟）",)),
        case(
            "zhengxie_ouyang.txt",
            "在尖端装备领域，仍然存在一些深层次的问题和矛盾",
            ("构建新型科研创新体系（李陟）",),
        ),
        case("xixian_pagebreak.txt", "科学无国界，科学家有祖国", ("大力弘扬科学家精神",)),
        case("xixian_pagebreak.txt", "惟创新者胜。现在", ("大力弘扬科学家精神",)),
        # （来源：人民网）ends the article; the next one (上海) has no title line in the text.
        case("xixian_pagebreak.txt", "上海市认真贯彻落实习近平总书记重要指示批示精神", ()),
        case(
            "xixian_pagebreak.txt",
            "创新是引领发展的第一动力，关键核心技术要不来",
            ("瞄准关键核心技术突破持续发力，不断培育发展新优势",),
            bug="the subheading '瞄准关键核心技术突破持续发力，不断培育发展新优势' is its own paragraph "
            "but is not taken for a title because it contains a comma, so its body stays at the top "
            "level () of the untitled 上海 article",
        ),
        case("xixian_qingdao.txt", "全市共引进集聚各类人才24.14万人", ("激发动力",)),
        case("xixian_qingdao.txt", "要完善以企业为主体的人才引育用机制", ("创新之源",)),
        case(
            "huoju_toc.txt",
            "科技部火炬中心党委理论学习中心组召开2022年第一次集中学习会",
            (
                "火炬在行动",
                "科技部火炬中心党委理论学习中心组集中学习习近平总书记 在全国两会上的重要讲话精神",
            ),
        ),
        case(
            "huoju_toc.txt",
            "中国银行研究设计“中银创新积分贷”专属产品",
            ("科技部火炬中心与中国银行开展科技金融“一体两翼”行动",),
        ),
        case(
            "huoju_report.txt",
            "能源危机、石油霸权、气候变化",
            (
                "研究报告",
                "全球科技革命背景下产业发展趋势研究",
                "一、未来产业发展趋势的三个判断",
                "一是未来产业发展的底层逻辑即将发生根本性改变",
            ),
        ),
        case(
            "huoju_report.txt",
            "历史经验表明,科技革命的诞生地与产业变革的引领地并不一定重合",
            ("研究报告", "全球科技革命背景下产业发展趋势研究", "二、我国已逐渐具备触发产业跃迁的能量基础"),
        ),
        case(
            "huoju_report.txt",
            "组织高校院所、产业研究院与科技型企业开展前沿科学技术预测",
            (
                "研究报告",
                "全球科技革命背景下产业发展趋势研究",
                "四、以新产业发展理念科学部署创新链",
                "一是加强前沿科技部署,谋划未来产业布局",
            ),
        ),
    ],
)
def test_heading_path_of_a_sentence_in_an_excerpt(name: str, sentence: str, section: tuple[str, ...]) -> None:
    assert sections_with(chunks_of("excerpt", name), sentence) == {section}


@pytest.mark.parametrize(
    ("name", "sentence", "section"),
    [
        case(KABOZI, "全球半导体产品的销售额达到了5559亿美元", ("【现状】", "全球集成电路需求旺盛")),
        case(
            KABOZI,
            "短板决定成败，是集成电路的产业特性",
            ("【问题】", "集成电路人才培养亟待解决产融难题"),
        ),
        case(
            KABOZI,
            "中国芯片看上海，上海芯片看张江",
            ("【经验】", "加快解决技术“卡脖子”难题的地方经验", "上海如何集聚和发展壮大张江“芯”力量"),
        ),
        case(
            GAODUAN,
            "这台机器的第一次透视是我",
            ("【经验】", "加快高端制造设备发展的国内经验", "我国大型医疗设备正一个接一个攻克“卡脖子”难题"),
        ),
        case(GAODUAN, "机床被誉为“工业母机”，是制造机器的机器", ("【现状】", "广东“工业母机”突围记")),
        case(
            HUOJU,
            "襄阳高新区“一个龙头、六大支柱”产业实现产值389.9亿元",
            ("襄阳高新区实现工业经济精彩开局",),
        ),
    ],
)
def test_heading_path_of_a_sentence_in_a_briefing(name: str, sentence: str, section: tuple[str, ...]) -> None:
    assert sections_with(chunks_of("briefing", name), sentence) == {section}


def test_section_titles_carry_no_private_use_glyphs() -> None:
    # data line: "\uf075 全球集成电路需求旺盛"; the cleaned text shows "◆全球集成电路需求旺盛".
    chunks = chunks_of("briefing", KABOZI)
    assert {c.section for c in chunks if "全球半导体产品的销售额" in c.text} == {
        ("【现状】", "全球集成电路需求旺盛")
    }
    assert not any(PRIVATE_USE.search(title) for c in chunks for title in c.section)


@pytest.mark.parametrize(("kind", "name"), ALL_DOCS)
def test_section_titles_carry_no_bullet_glyphs(kind: str, name: str) -> None:
    titles = sorted({title for c in chunks_of(kind, name) for title in c.section})
    assert [t for t in titles if PRIVATE_USE.search(t) or BULLET_GLYPH.search(t)] == []


@pytest.mark.xfail(
    strict=True,
    reason="the table-of-contents line '科技部火炬中心发布2022年工作要点' (火炬动态 line 14) is taken "
    "for a section title, so the rest of the contents list is filed under it",
)
def test_table_of_contents_entries_do_not_open_sections() -> None:
    for section in sections_with(chunks_of("briefing", HUOJU), "-【高质量发展看高新区】"):
        assert "科技部火炬中心发布2022年工作要点" not in section


# --------------------------------------------------------------------------- chunk invariants


@pytest.mark.parametrize(("kind", "name"), ALL_DOCS)
def test_chunk_text_is_the_document_slice(kind: str, name: str) -> None:
    doc = document(kind, name)
    chunks = chunks_of(kind, name)
    assert chunks
    for c in chunks:
        assert c.text == doc.text[c.char_start : c.char_end]
        assert c.text == c.text.strip()
        assert c.doc_id == doc.doc_id and c.title == doc.title
    assert [c.char_start for c in chunks] == sorted(c.char_start for c in chunks)
    assert len({c.chunk_id for c in chunks}) == len(chunks)


@pytest.mark.parametrize("name", BRIEFINGS, ids=[f"briefing-{i}" for i in range(len(BRIEFINGS))])
def test_full_briefing_has_no_bare_heading_chunk_and_respects_max_chars(name: str) -> None:
    doc = briefing(name)
    chunks = chunks_of("briefing", name)
    assert len(chunks) > 10
    too_long = [(c.chunk_id, len(c.text)) for c in chunks if len(c.text) > SETTINGS.max_chars]
    assert too_long == []
    bare = [c.chunk_id for c in chunks if heading_only(doc, c)]
    assert bare == []


@pytest.mark.parametrize("name", ALL_EXCERPTS, ids=[Path(n).stem for n in ALL_EXCERPTS])
def test_no_excerpt_chunk_is_heading_text_only(name: str) -> None:
    doc = excerpt(name)
    for c in chunks_of("excerpt", name):
        assert not heading_only(doc, c), c.text
        assert len(c.text) <= SETTINGS.max_chars


@pytest.mark.parametrize(("kind", "name"), ALL_DOCS)
def test_chunks_start_and_end_at_paragraph_or_sentence_boundaries(kind: str, name: str) -> None:
    doc = document(kind, name)
    starts = {p.start for p in doc.paragraphs}
    ends = {p.end for p in doc.paragraphs}
    for c in chunks_of(kind, name):
        assert c.char_end in ends or c.text.rstrip(CLOSERS)[-1] in TERMINAL, c.text[-30:]
        assert c.char_start in starts or doc.text[: c.char_start].rstrip(CLOSERS)[-1] in TERMINAL, c.text[:30]


@pytest.mark.parametrize(("kind", "name"), ALL_DOCS)
def test_pieces_of_a_split_section_overlap_by_whole_sentences(kind: str, name: str) -> None:
    doc = document(kind, name)
    for a, b in split_pairs(chunks_of(kind, name)):
        shared = doc.text[b.char_start : a.char_end]
        assert 0 < len(shared) <= SETTINGS.overlap_chars
        assert a.text.endswith(shared) and b.text.startswith(shared)
        assert a.text.rstrip(CLOSERS)[-1] in TERMINAL
        # The overlap starts at a sentence (or paragraph) start of the first piece.
        assert doc.text[: b.char_start].rstrip(CLOSERS)[-1] in TERMINAL + "\n"


def test_a_long_real_section_is_split_with_overlap() -> None:
    chunks = [
        c for c in chunks_of("excerpt", "gaoduan_gongyemuji.txt") if c.section[-1] == "广东“工业母机”突围记"
    ]
    assert len(chunks) >= 3
    assert len(split_pairs(chunks)) >= 1
    assert all(c.text[-1] in TERMINAL + CLOSERS for c in chunks)


def _long_section_document() -> Document:
    sentence = "广东推进基础研究十年“卓粤”计划，支持企业牵头组建创新联合体第{n}批。"
    body = "".join(sentence.format(n=n) for n in range(1, 31))
    wrapped = [body[i : i + 30] for i in range(0, len(body), 30)]
    lines = [SourceLine("【经验】", 1, None), SourceLine("广东企业科技特派员实践", 2, None)]
    lines += [SourceLine(text, n, None) for n, text in enumerate(wrapped, start=3)]
    cleaned = clean_lines(lines)
    return Document(
        "synthetic.txt",
        "合成简报",
        "synthetic.txt",
        "txt",
        "0",
        cleaned.text,
        cleaned.paragraphs,
        cleaned.anchors,
    )


def test_a_long_section_is_split_at_sentence_ends_with_bounded_overlap() -> None:
    doc = _long_section_document()
    chunks = chunk_document(doc, SETTINGS)
    assert len(chunks) >= 3
    assert {c.section for c in chunks} == {("【经验】", "广东企业科技特派员实践")}
    for c in chunks:
        assert len(c.text) <= SETTINGS.max_chars
        assert c.text.endswith("批。")
        assert c.text.startswith("广东推进基础研究")
    for a, b in itertools.pairwise(chunks):
        overlap = a.char_end - b.char_start
        assert 0 < overlap <= SETTINGS.overlap_chars
    assert chunks[0].char_start == doc.paragraphs[-1].start
    assert chunks[-1].char_end == doc.paragraphs[-1].end


# --------------------------------------------------------------------------- merging


def test_tiny_sections_merge_with_a_neighbour_under_the_shared_path() -> None:
    # 三是…加强有组织的科研。(one short sentence of body) is far below min_chars.
    chunks = chunks_of("excerpt", "zhengxie_fanjie_lv.txt")
    [merged] = [c for c in chunks if "有组织的科研是我们解决重大关键技术" in c.text]
    assert len(merged.text) >= SETTINGS.min_chars
    assert "四是加快构建适应创新发展的人才培养机制" in merged.text
    assert merged.section == ("提升科技成果转化推进高水平科技自立自强（吕跃广）",)


def test_tiny_sections_do_not_merge_across_top_level_sections() -> None:
    chunks = chunks_of("briefing", KABOZI)
    for c in chunks:
        if "【政策】" in c.section:
            assert "【现状】" not in c.text
    [first_state] = [c for c in chunks if "一是来自海外的直接投资相对减少" in c.text]
    assert first_state.section[0] == "【现状】"
    assert "八个方面重点措施" not in first_state.text


@pytest.mark.parametrize(("kind", "name"), ALL_DOCS)
def test_source_lines_never_stand_alone_as_a_chunk(kind: str, name: str) -> None:
    alone = [c.text for c in chunks_of(kind, name) if re.fullmatch(r"[（(](来源|供稿)[^\n]*[）)]", c.text)]
    assert alone == []


def test_synthetic_tiny_section_merges_and_takes_the_shared_path() -> None:
    long_a = "高新区坚持以高质量发展为主题，推进供给侧结构性改革，高质量发展成效日益彰显。" * 4
    long_c = "襄阳高新区从结构调整、企业技改、项目建设等方面入手，全力推动工业经济稳增长。" * 4
    texts = [
        "## 高质量发展看高新区",
        "### 无锡高新区",
        long_a,
        "### 长春高新区",
        "长春高新区集聚生物医药企业558家。",
        "### 威海高新区",
        long_c,
    ]
    cleaned = clean_lines([SourceLine(t, n, None) for n, t in enumerate(texts, start=1)])
    doc = Document("s.md", "合成", "s.md", "md", "0", cleaned.text, cleaned.paragraphs, cleaned.anchors)
    chunks = chunk_document(doc, SETTINGS)
    [tiny] = [c for c in chunks if "集聚生物医药企业558家" in c.text]
    assert len(tiny.text) > len("长春高新区集聚生物医药企业558家。")
    assert tiny.section == ("高质量发展看高新区",)
    assert all(len(c.text) <= SETTINGS.max_chars for c in chunks)


# --------------------------------------------------------------------------- embed text


@pytest.mark.parametrize(("kind", "name"), ALL_DOCS)
def test_embed_text_starts_with_the_heading_path(kind: str, name: str) -> None:
    doc = document(kind, name)
    for c in chunks_of(kind, name):
        path = HEADING_SEPARATOR.join((doc.title, *c.section))
        assert c.heading_path == path
        assert c.embed_text == f"{path}\n{c.text}"


def test_embed_text_of_a_real_chunk() -> None:
    [c] = [c for c in chunks_of("excerpt", "kabozi_xianzhuang.txt") if "我国成为“世界工厂”" in c.text]
    first_line = c.embed_text.split("\n", 1)[0]
    assert (
        first_line
        == "摘录 kabozi_xianzhuang.txt › 【现状】 › 产业链供应链重塑对我国带来的挑战 › 二是损害我国良性发展的产业集群结构"
    )


# --------------------------------------------------------------------------- line spans


@pytest.mark.parametrize("name", ALL_EXCERPTS, ids=[Path(n).stem for n in ALL_EXCERPTS])
def test_line_spans_bracket_the_source_lines_of_the_chunk(name: str) -> None:
    doc = excerpt(name)
    source = raw_lines(name)
    for c in chunks_of("excerpt", name):
        assert 1 <= c.line_start <= c.line_end <= len(source)
        assert c.page_start is None and c.page_end is None
        inside = [a.line for a in doc.anchors if c.char_start <= a.offset < c.char_end]
        assert all(c.line_start <= line <= c.line_end for line in inside)
        # The chunk's first characters come from line_start, its last ones from line_end.
        later = [a.offset for a in doc.anchors if a.offset > c.char_start] + [c.char_end]
        head = doc.text[c.char_start : min(later[0], c.char_end)]
        tail = doc.text[max(doc.locate(c.char_end - 1).offset, c.char_start) : c.char_end]
        assert squash(head) and squash(head) in squash(source[c.line_start - 1]), (c.chunk_id, head)
        assert squash(tail) and squash(tail) in squash(source[c.line_end - 1]), (c.chunk_id, tail)


@pytest.mark.parametrize(
    ("name", "sentence", "first_line", "last_line"),
    [
        # The sentence is broken by the page break at excerpt line 70 ("28").
        case("gaoduan_gongyemuji.txt", "答案便是珠三角巨大的应用市场优势", 64, 74),
        # Broken by the page break at excerpt line 45 (" 5 ").
        case("xixian_pagebreak.txt", "惟创新者强，惟创新者胜。", 41, 47),
        case("kabozi_xianzhuang.txt", "二是损害我国良性发展的产业集群结构。", 26, 26),
    ],
)
def test_chunk_spanning_a_sentence_covers_its_source_lines(
    name: str, sentence: str, first_line: int, last_line: int
) -> None:
    chunks = [c for c in chunks_of("excerpt", name) if sentence in c.text]
    assert chunks
    for c in chunks:
        assert c.line_start <= first_line and c.line_end >= last_line
        assert c.location.startswith("第") and c.location.endswith("行")


@pytest.mark.parametrize(
    ("name", "lead_in", "first_item"),
    [
        (
            "全国政协教科卫体委员会-科技自立自强助力中国式现代化.txt",
            "增强高水平科技自立自强能力，建议：",
            "一是建好用好国家实验室体系",
        ),
        (GAODUAN, "海外布局和发展呈现出三个特点：", "一是在欧美地区以研发、技术合作为主"),
    ],
)
def test_a_lead_in_ending_with_a_colon_stays_with_the_list_it_introduces(
    name: str, lead_in: str, first_item: str
) -> None:
    [chunk] = [c for c in chunks_of("briefing", name) if lead_in in squash(c.text)]
    assert first_item in squash(chunk.text)
