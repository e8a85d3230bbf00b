"""Cleaning of PDF-extracted briefing text, on verbatim excerpts of the bundled briefings.

The excerpts under ``tests/data/excerpts`` are byte-for-byte line ranges of ``data/*.txt``:

=============================  =========================================================  ==========
excerpt                        briefing (data/…)                                          lines
=============================  =========================================================  ==========
kabozi_cover_policy.txt        提案参考-加快解决卡脖子问题.txt                            1–103
kabozi_xianzhuang.txt          提案参考-加快解决卡脖子问题.txt                            757–873
kabozi_wenti.txt               提案参考-加快解决卡脖子问题.txt                            1587–1706
zhengxie_fanjie_lv.txt         全国政协教科卫体委员会-科技自立自强助力中国式现代化.txt    1–54
zhengxie_ouyang.txt            全国政协教科卫体委员会-科技自立自强助力中国式现代化.txt    93–136
gaoduan_cover.txt              提案参考-加快广东高端制造设备进口.txt                      1–49
gaoduan_gongyemuji.txt         提案参考-加快广东高端制造设备进口.txt                      1316–1404
gaoduan_zhuanjia_wenti.txt     提案参考-加快广东高端制造设备进口.txt                      1542–1657
xixian_pagebreak.txt           西咸研究-科技创新专题-2020年12月.txt                       100–219
xixian_qingdao.txt             西咸研究-科技创新专题-2020年12月.txt                       432–551
huoju_toc.txt                  火炬动态-2022年第6期.txt                                   1–72
huoju_report.txt               火炬动态-2022年第6期.txt                                   216–298
=============================  =========================================================  ==========

Known cleaning bugs are pinned down with ``xfail(strict=True)`` (``case(..., bug=...)``), the
reason saying what is wrong; none is open at the moment. When a bug is fixed the test starts
passing and strict xfail turns that into a failure: remove the marker then.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rag.cleaning import SourceLine, clean_lines
from rag.types import Document
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

EXCERPT_IDS = [Path(name).stem for name in ALL_EXCERPTS]
KABOZI = "提案参考-加快解决卡脖子问题.txt"

_IDEOGRAPH = "\u3400-\u4dbf\u4e00-\u9fff"


# --------------------------------------------------------------------------- helpers


def paragraphs(doc: Document) -> list[str]:
    return [doc.text[p.start : p.end] for p in doc.paragraphs]


def anchor_spans(doc: Document) -> list[tuple[int, int, int]]:
    """(start, end, source line) of every run of cleaned text that one source line produced."""
    bounds = [a.offset for a in doc.anchors[1:]] + [len(doc.text)]
    return [(a.offset, end, a.line) for a, end in zip(doc.anchors, bounds, strict=True)]


_ids: Counter[str] = Counter()


def case(name: str, *values: Any, bug: str | None = None) -> Any:
    """A parametrize row with an ASCII id (excerpt stem + number), xfail when ``bug`` is given."""
    stem = Path(name).stem
    _ids[stem] += 1
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(name, *values, marks=marks, id=f"{stem}-{_ids[stem]}")


def page_lines(pages: list[list[str]], header: str, footer: str) -> list[SourceLine]:
    """SourceLines of a paginated PDF: every page opens with ``header`` and ends with ``footer``."""
    lines: list[SourceLine] = []
    for page, body in enumerate(pages, start=1):
        for text in (header, *body, footer.format(page=page)):
            lines.append(SourceLine(text, len(lines) + 1, page))
    return lines


# --------------------------------------------------------------------------- hard wraps


@pytest.mark.parametrize(
    ("name", "joined"),
    [
        # Lines 23/25: a wrap with a blank line in between, inside a word (经济高|质量).
        case(
            "kabozi_cover_policy.txt",
            "对破解“卡脖子”难题、推动经济高质量发展、保障国家安全具有十分重要的意义。",
        ),
        # Lines 55/57: the wrap falls between a year and 年 (…计划。2022|年 4月 15 日).
        case("kabozi_cover_policy.txt", "广东正推进基础研究十年“卓粤”计划。2022年4月15日，广东省委书记李希"),
        case(
            "kabozi_xianzhuang.txt",
            "一是来自海外的直接投资相对减少。有关国家制造业回归的实质是产业资本的收缩",
        ),
        case("zhengxie_fanjie_lv.txt", "各国在发展过程中，科技促进欠发达地区发展往往主要靠的是行政力量"),
        case(
            "gaoduan_zhuanjia_wenti.txt",
            "结合南沙的港科大，大学城中大、华工、暨大、广工等高校，形成产学融合的工业研发纽带",
        ),
        case(
            "xixian_qingdao.txt",
            "举办2019年度青岛市科学技术奖励大会，既是对获奖者的表彰，也是对科技工作者的肯定和鼓励",
        ),
        case("huoju_toc.txt", "以奋发有为的姿态和优异的工作成绩迎接党的二十大胜利召开。"),
    ],
)
def test_hard_wrapped_lines_are_rejoined_without_spaces(name: str, joined: str) -> None:
    assert joined in excerpt(name).text


@pytest.mark.parametrize("name", ALL_EXCERPTS, ids=EXCERPT_IDS)
def test_no_space_is_inserted_at_a_wrap_between_cjk(name: str) -> None:
    doc = excerpt(name)
    starts = {p.start for p in doc.paragraphs}
    wraps = [a.offset for a in doc.anchors if a.offset not in starts]
    assert wraps, "the excerpt has hard-wrapped paragraphs"
    for offset in wraps:
        left, right = doc.text[offset - 1], doc.text[offset : offset + 2]
        if right.startswith(" "):
            # Only a wrap between two ASCII words (“Knometa Research”) may get a space.
            assert left.isascii() and left.isalnum() and right[1:].isascii(), doc.text[
                offset - 20 : offset + 20
            ]


@pytest.mark.parametrize("name", ALL_EXCERPTS, ids=EXCERPT_IDS)
def test_blank_lines_between_wrapped_lines_vanish(name: str) -> None:
    doc = excerpt(name)
    nonblank = [line for line in raw_lines(name) if line.strip()]
    assert "\n\n" not in doc.text
    assert all(text.strip() for text in paragraphs(doc))
    assert len(doc.paragraphs) < len(nonblank), "wrapped lines were joined into paragraphs"


@pytest.mark.parametrize(
    ("name", "first_ends", "second_starts"),
    [
        case(
            "kabozi_cover_policy.txt",
            "要优化财政科技投入，重点投向战略性、关键性领域。",
            "我国面临的很多“卡脖子”技术问题",
        ),
        case(
            "kabozi_xianzhuang.txt",
            "的直接投资相对减少，尽管绝对量仍会增加。",
            "二是损害我国良性发展的产业集群结构。",
        ),
        case("zhengxie_fanjie_lv.txt", "我国更具有这方面的体制优势。", "二是适应市场规律"),
        case("gaoduan_gongyemuji.txt", "110万台（套）数控系统落地。", "对于发展数控机床产业而言"),
        case(
            "xixian_qingdao.txt",
            "创新之道，唯在得人，青岛深谙其中深意。",
            "举办2019年度青岛市科学技术奖励大会",
        ),
        case("huoju_report.txt", "正在发生深刻变革。", "一是未来产业发展的底层逻辑即将发生根本性改变。"),
    ],
)
def test_real_paragraph_breaks_are_kept(name: str, first_ends: str, second_starts: str) -> None:
    texts = paragraphs(excerpt(name))
    hits = [i for i, text in enumerate(texts) if text.endswith(first_ends)]
    assert len(hits) == 1, f"one paragraph ends with {first_ends!r}"
    assert texts[hits[0] + 1].startswith(second_starts)


# --------------------------------------------------------------------------- page breaks


@pytest.mark.parametrize(
    ("name", "page_line", "joined"),
    [
        # data/提案参考-加快广东高端制造设备进口.txt line 1385 "28 ", blank and " " lines around it.
        case(
            "gaoduan_gongyemuji.txt",
            70,
            "企业如何才能借势突围？答案便是珠三角巨大的应用市场优势，包括电子信息",
        ),
        # data/西咸研究-科技创新专题-2020年12月.txt line 144 " 5 ".
        case("xixian_pagebreak.txt", 45, "惟创新者进，惟创新者强，惟创新者胜。现在，我国经济社会发展"),
    ],
)
def test_page_number_is_dropped_and_broken_sentence_rejoined(name: str, page_line: int, joined: str) -> None:
    doc = excerpt(name)
    number = raw_lines(name)[page_line - 1].strip()
    assert number.isdigit()
    assert joined in doc.text
    assert number not in paragraphs(doc)
    assert page_line not in {a.line for a in doc.anchors}


# --------------------------------------------------------------------------- characters


def test_misencoded_quotes_become_curly_quotes() -> None:
    name = "kabozi_cover_policy.txt"
    assert sum(line.count("‚") + line.count("‛") for line in raw_lines(name)) == 8
    text = excerpt(name).text
    assert "‚" not in text and "‛" not in text
    assert "对破解“卡脖子”难题" in text
    assert "基础研究十年“卓粤”计划" in text
    assert "强调：“强化源头供给" in text and "‘从0到1’的原创成果。”" in text
    assert text.count("“") == text.count("”")


def test_two_characters_ending_a_sentence_on_their_own_line_end_the_line_before() -> None:
    # A table cell wraps after a closing quote: “问题。” is the end of that sentence, not a paragraph.
    body = "一是来自海外的直接投资相对减少。有关国家制造业回归的实质是产业资本的收缩。"
    cell = [
        "着重解决好集成电路高端芯片制造、人工智能算",
        "法算力、生物医药“救命药”等“关键命门”",
        "问题。",
        "江苏",
    ]
    lines = [SourceLine(text, n, None) for n, text in enumerate([body, body, *cell, body], start=1)]
    paragraphs = clean_lines(lines).text.split("\n")
    assert (
        "着重解决好集成电路高端芯片制造、人工智能算法算力、生物医药“救命药”等“关键命门”问题。" in paragraphs
    )
    assert "江苏" in paragraphs
    # a label or a title is not a wrapped line: “暂无。” stays its own paragraph
    labelled = clean_lines(
        [SourceLine(t, n, None) for n, t in enumerate([body, "联系电话", "暂无。", body], 1)]
    )
    assert "暂无。" in labelled.text.split("\n")


def test_fullwidth_spaces_are_normalised() -> None:
    lines = [
        SourceLine("\u3000\u3000关键核心技术是国之重器，2021\u3000年\u30005\u3000月 28 日，", 1, None),
        SourceLine("\u3000习近平总书记强调要加强原创性、引领性科技攻关。", 2, None),
    ]
    cleaned = clean_lines(lines)
    assert "\u3000" not in cleaned.text
    assert (
        cleaned.text
        == "关键核心技术是国之重器，2021年5月28日，习近平总书记强调要加强原创性、引领性科技攻关。"
    )


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        # Source: "2021 年 5 月 28 日，".
        case("kabozi_cover_policy.txt", "2021年5月28日，在中国科学院第二十次院士大会"),
        case(
            "kabozi_cover_policy.txt",
            "审议通过时间：2022年2月28日中央全面深化改革委员会第二十四次会议审议通过",
        ),
        case("kabozi_cover_policy.txt", "（国发〔2020〕8号）"),  # "8 号）"
        case("xixian_qingdao.txt", "举办2019年度青岛市科学技术奖励大会"),  # "举办 2019 年度"
        case("gaoduan_gongyemuji.txt", "截至目前已有110万台（套）数控系统落地"),  # line break + "110 万台"
    ],
)
def test_spaces_between_digits_and_cjk_are_removed(name: str, cleaned: str) -> None:
    assert cleaned in excerpt(name).text


@pytest.mark.parametrize("name", ALL_EXCERPTS, ids=EXCERPT_IDS)
def test_no_space_left_between_a_digit_and_a_cjk_character(name: str) -> None:
    stray = re.findall(f"[{_IDEOGRAPH}] +\\d|\\d +[{_IDEOGRAPH}]", excerpt(name).text)
    assert stray == []


# --------------------------------------------------------------------------- page furniture


_PAGES = [
    [
        "【政策】",
        "关键核心技术是国之重器，对破解“卡脖子”难题、推动经济高",
        "质量发展、保障国家安全具有十分重要的意义。要加快突破一批",
    ],
    [
        "关键核心技术，瞄准人工智能、量子信息、集成电路、先进制造等",
        "前沿领域，前瞻部署一批战略性、储备性技术研发项目。",
    ],
    ["广东正推进基础研究十年“卓粤”计划，力争取得一批前瞻性、原", "创性重大科技成果。"],
    ["要优化财政科技投入，重点投向战略性、关键性领域，引导企业加", "大基础研究投入。", "（来源：南方日报）"],
    ["我国面临的很多“卡脖子”技术问题，根子是基础理论研究跟不上。"],
]


@pytest.mark.parametrize(
    "footer", ["{page}", "- {page} -", "第 {page} 页", "{page}/5"], ids=["bare", "dashes", "di-ye", "of-5"]
)
@pytest.mark.parametrize("header", ["广东省政协提案参考", "提案参考（2022年第5期）"], ids=["plain", "dated"])
def test_running_headers_and_page_numbers_are_dropped(header: str, footer: str) -> None:
    cleaned = clean_lines(page_lines(_PAGES, header, footer))
    texts = [cleaned.text[p.start : p.end] for p in cleaned.paragraphs]
    assert header not in cleaned.text
    assert not any(re.search(r"\d", text) and len(text) < 8 for text in texts), texts
    # Lines that appear once at a page edge are content and stay.
    assert texts[0] == "【政策】"
    assert "（来源：南方日报）" in texts
    # Sentences broken by the page breaks are rejoined.
    assert "要加快突破一批关键核心技术，瞄准人工智能" in cleaned.text
    assert "引导企业加大基础研究投入。" in cleaned.text


# --------------------------------------------------------------------------- anchors


@pytest.mark.parametrize("name", ALL_EXCERPTS, ids=EXCERPT_IDS)
def test_anchors_map_cleaned_text_back_to_source_lines(name: str) -> None:
    doc = excerpt(name)
    source = raw_lines(name)
    offsets = [a.offset for a in doc.anchors]
    assert offsets == sorted(set(offsets)), "anchors are strictly increasing"
    assert [a.line for a in doc.anchors] == sorted(a.line for a in doc.anchors)
    # Every paragraph starts exactly at an anchor …
    assert {p.start for p in doc.paragraphs} <= set(offsets)
    # … and the text of each anchor is the text of its source line, modulo cleaning.
    for start, end, line in anchor_spans(doc):
        assert squash(doc.text[start:end]) == squash(source[line - 1]), (line, source[line - 1])


@pytest.mark.parametrize(
    ("name", "sentence", "line"),
    [
        case("kabozi_cover_policy.txt", "我国面临的很多“卡脖子”技术问题", 51),
        case("gaoduan_gongyemuji.txt", "巨大的应用市场优势", 74),
        case("xixian_pagebreak.txt", "胜。现在，我国经济社会发展", 47),
        case("huoju_report.txt", "一是加强前沿科技部署", 59),
    ],
)
def test_locate_finds_the_source_line_of_a_sentence(name: str, sentence: str, line: int) -> None:
    doc = excerpt(name)
    assert doc.locate(doc.text.index(sentence)).line == line
    assert squash(sentence)[:6] in squash(raw_lines(name)[line - 1])


# --------------------------------------------------------------------------- Wingdings bullets


@pytest.mark.parametrize(
    ("kind", "name"),
    [pytest.param("excerpt", n, id=Path(n).stem) for n in ALL_EXCERPTS]
    + [pytest.param("briefing", n, id=f"briefing-{i}") for i, n in enumerate(BRIEFINGS)],
)
def test_private_use_bullets_are_not_kept(kind: str, name: str) -> None:
    cleaned = excerpt(name) if kind == "excerpt" else briefing(name)
    assert PRIVATE_USE.findall(cleaned.text) == []
    titles = [p.heading for p in cleaned.paragraphs if p.heading is not None]
    # classify_heading strips the ◆/➢ marker: a title carries neither a PUA glyph nor a bullet.
    assert [t for t in titles if PRIVATE_USE.search(t) or BULLET_GLYPH.search(t)] == []


@pytest.mark.parametrize(
    ("name", "paragraph", "title"),
    [
        # Excerpt line 3: "\uf075 产业链供应链重塑对我国带来的挑战 ".
        ("kabozi_xianzhuang.txt", "◆产业链供应链重塑对我国带来的挑战", "产业链供应链重塑对我国带来的挑战"),
        # data/提案参考-加快解决卡脖子问题.txt: "\uf0d8 上海如何集聚和发展壮大张江“芯”力量".
        (KABOZI, "➢上海如何集聚和发展壮大张江“芯”力量", "上海如何集聚和发展壮大张江“芯”力量"),
    ],
    ids=["u+f075", "u+f0d8"],
)
def test_private_use_bullets_become_visible_bullets(name: str, paragraph: str, title: str) -> None:
    doc = excerpt(name) if name.isascii() else briefing(name)
    assert [p.heading for p in doc.paragraphs if doc.text[p.start : p.end] == paragraph] == [title]


# --------------------------------------------------------------------------- standalone lines


@pytest.mark.parametrize(
    ("name", "paragraph"),
    [
        # A byline ending in ）before the next expert's statement.
        case("gaoduan_zhuanjia_wenti.txt", "（段宝岩，中国工程院院士、西安电子科技大学教授）"),
        # A subtitle ending in ）before the title line 因地制宜地打造….
        case(
            "zhengxie_fanjie_lv.txt",
            "——全国政协教科卫体委员会学习贯彻习近平总书记在民革科技界环境资源界联组会上的重要讲话精神（三）",
        ),
        # A ◆ title line as wide as a wrapped line, before its body '面临产业布局制约。…'.
        case("kabozi_wenti.txt", "◆国资国企打造原创技术策源地的制约因素（以深圳为例）"),
        # A subheading with a comma, before its body '创新是引领发展的第一动力…'.
        case("xixian_pagebreak.txt", "瞄准关键核心技术突破持续发力，不断培育发展新优势"),
        # Controls: standalone lines that were always kept apart.
        case("kabozi_wenti.txt", "（胡彩梅，中国（深圳）综合开发研究院金融发展与国资国企研究所副所长）"),
        case("xixian_qingdao.txt", "创新之道，唯在得人，青岛深谙其中深意。"),
    ],
)
def test_standalone_line_stays_its_own_paragraph(name: str, paragraph: str) -> None:
    assert paragraph in paragraphs(excerpt(name))


def test_word_split_by_a_short_wrapped_line_is_rejoined() -> None:
    # Source lines 127/129: '二是鼓励推进博士生双创活' / '动。像鼓励…' (活动 cut by the wrap).
    assert "二是鼓励推进博士生双创活动。像鼓励农民种地一样制定政策" in excerpt("zhengxie_ouyang.txt").text


def test_wrapped_cover_title_is_one_paragraph() -> None:
    # The cover title is wrapped over three short lines: 加快广东省高端制造设/备进口，…/造业当家优势的提案.
    doc = excerpt("gaoduan_cover.txt")
    assert paragraphs(doc)[0] == "加快广东省高端制造设备进口，全面提升广东制造业当家优势的提案"
    assert all(p.heading != "加快广东省高端制造设" for p in doc.paragraphs)


@pytest.mark.parametrize(
    ("name", "paragraph_start", "continues_with"),
    [
        # A wrapped line that happens to end in a bracketed abbreviation is not a byline.
        ("提案参考-加快广东高端制造设备进口.txt", "在“倍增”工程中", "（VR/AR）设备"),
        ("提案参考-加快广东高端制造设备进口.txt", "从短期来看，跨国公司全球布局", "（FDI）规模"),
        ("提案参考-加快解决卡脖子问题.txt", "美国是半导体的发源地", "（DARPA）为芯片研究项目"),
        # A trailing space inside an open 《…》 does not end the list-item title.
        (
            "提案参考-加快广东高端制造设备进口.txt",
            "（8）国家发展改革委",
            "《振作工业经济运行推动工业高质量发展的实施方案》",
        ),
    ],
)
def test_wrapped_lines_around_brackets_stay_in_one_paragraph(
    name: str, paragraph_start: str, continues_with: str
) -> None:
    texts = [t for t in paragraphs(briefing(name)) if t.startswith(paragraph_start)]
    assert texts and continues_with in texts[0]


def test_a_speakers_name_stays_apart_from_the_speech() -> None:
    texts = paragraphs(briefing("全国政协教科卫体委员会-科技自立自强助力中国式现代化.txt"))
    assert "樊杰" in texts
    assert any(t.startswith("首先，激活并最大程度") for t in texts)


@pytest.mark.parametrize(
    ("name", "joined"),
    [
        # A cell of the PDF policy tables is narrower than the page; its lines are wrapped at
        # the cell's width (“……以及相关零” / “部件等产品，……”), not the body text's.
        (
            "提案参考-加快广东高端制造设备进口.txt",
            "鼓励企业研发生产机器人、工业母机以及相关零部件等产品，对于高端装备优质应用场景",
        ),
        (
            "提案参考-加快解决卡脖子问题.txt",
            "实施高新技术企业“筑基扩容”“小升规”“规升强”三大工程，健全培育和支持服务体系",
        ),
    ],
)
def test_table_cell_lines_wrapped_at_the_cell_width_are_rejoined(name: str, joined: str) -> None:
    doc = briefing(name)
    assert any(joined in text for text in paragraphs(doc))
    assert all(p.heading != "实施高新技术企业“筑基扩容”“小升规”" for p in doc.paragraphs)


def test_a_line_inside_an_open_title_bracket_is_not_a_heading() -> None:
    # The 文件 cell “……关于印发《中” / “山市促进制造业龙” / …: the second line continues the
    # document's name, so 中山's row stays in the section that holds it.
    doc = briefing("提案参考-加快广东高端制造设备进口.txt")
    assert all(p.heading != "山市促进制造业龙" for p in doc.paragraphs)


def test_a_short_line_without_punctuation_goes_on_a_running_paragraph() -> None:
    # “……形成若” + “干家年产值超过10亿元和2－3家年销售收” (no ，。 of its own, as wide as the line
    # above) + “入超过30亿元的……”: one sentence, which answers “几家年销售收入超过30亿元”
    doc = briefing(KABOZI)
    assert any("2－3家年销售收入超过30亿元的芯片设计企业。" in text for text in paragraphs(doc))
    wrapped = [
        "到2025年，形成若干家年产值超过十亿元的企业和两到三家年销",
        "售收入超过三十亿元的芯片设计企业以及一批专精特新中小企业",
        "和小巨人企业。",
    ]
    cleaned = clean_lines([SourceLine(text, n, None) for n, text in enumerate(wrapped, start=1)])
    assert cleaned.text == "".join(wrapped)
    # a short line of a list is not wrapped, and an indented line opens a paragraph of its own
    listed = [
        "重点发展以下产业，主要包括",
        "集成电路",
        "生物医药",
        " 新能源汽车产业链较为完整，配套能力较强。",
    ]
    cleaned = clean_lines([SourceLine(text, n, None) for n, text in enumerate(listed, start=1)])
    assert cleaned.text.split("\n")[1:] == ["生物医药", "新能源汽车产业链较为完整，配套能力较强。"]
