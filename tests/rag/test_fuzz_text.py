"""Property tests (hypothesis) of cleaning and chunking on generated briefing-like text.

The generator writes what the PDF and text extractions give us: section headings of every
family (【政策】, ◆/➢ and their private-use glyphs, 一、, （一）, （1）, 1., 一是, ##, **bold**),
sentences hard-wrapped every 12–40 cells (now and then one longer than any chunk, with no full
stop), blank lines between wrapped lines, stray and full-width spaces, tabs, zero-width spaces,
the quote marks ‚ ‛ standing for “ ”, control characters, and, for a paged source, running
headers and page numbers on page breaks that fall inside sentences.

Failures found so far are pinned as ``@example``s, so they are tried on every run.

What is promised, and checked here:

* cleaning (``clean_lines``): every source line with text, and no other, is in the cleaned
  text exactly once, in order, as that line modulo cleaning (``normalize_line``); the anchors
  say which source line and page each run of cleaned text comes from; paragraphs tile the text,
  one per line of it; running headers and page numbers are dropped;
* chunking (``chunk_document``): every chunk is the document text at its offsets and no longer
  than ``max_chars``; all body text is in some chunk; text is repeated only between consecutive
  pieces of one split section, by at most ``overlap_chars``; line and page spans are those of
  the chunk's first and last characters; no chunk is heading text alone.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from rag.chunking import chunk_document
from rag.cleaning import CleanText, SourceLine, clean_lines, display_width, normalize_line
from rag.config import ChunkingSettings
from rag.readers.text import read_text_lines
from rag.types import Anchor, Document

pytestmark = pytest.mark.slow  # long runs: outside the fast lane (-m "not slow")

# About 5 s a test on this machine; thousands of examples a test found nothing more.
FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)

# --------------------------------------------------------------------------- the generator

_HAN = "科技创新成果转化产业基金园区企业人才政策研究发展高质量服务平台建设国家重点实验室数字经济集群项目投资"
_WORDS = [_HAN[i : i + n] for n in (1, 2, 2, 3, 4) for i in range(0, len(_HAN) - n, 3)] + [
    "2022年", "20 亿元", "3.5%", "1000万元", "第6期", "126 家", "AI", "5G", "R&D", "Wi-Fi", "digital economy",
]  # fmt: skip
_NUMERALS = "一二三四五六七八九十"
_QUOTES = [("“", "”"), ("‚", "‛"), ("《", "》"), ("（", "）"), ('"', '"'), ("「", "」")]
# Characters that extraction leaves in a line: spaces of all widths, tabs, zero-width spaces,
# control characters and the symbol-font bullets of the 提案参考 PDFs.
_NOISE = [" ", " ", "\u3000", "\xa0", "\t", "\u200b", "\x01", "\x07", "\x1f", "\x7f", "\uf075", "\uf0d8"]

# Generation is the slow part of these tests: words are drawn whole, not character by
# character, and every strategy is built once, here.
_PHRASES = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4).map("".join)
_PARTS = st.lists(
    st.tuples(_PHRASES, st.sampled_from(["", "", "，", "、", "；", "q"])), min_size=1, max_size=5
)
_ENDS = st.sampled_from(["。", "。", "！", "？", "；", "：", "", "…"])
_QUOTE = st.sampled_from(_QUOTES)
# Noise for a block: (line, position, characters) triples, the numbers taken modulo the sizes.
_INSERTS = st.lists(
    st.tuples(st.integers(0, 99), st.integers(0, 99), st.sampled_from([*_NOISE, " "])), max_size=8
)


@st.composite
def sentences(draw: st.DrawFn) -> str:
    text = ""
    for phrase, after in draw(_PARTS):
        if after == "q":  # quoted, or in book-title marks or brackets
            left, right = draw(_QUOTE)
            text += left + phrase + right
        else:
            text += phrase + after
    return text.rstrip("，、；") + draw(_ENDS)


# Now and then a sentence longer than any chunk: no full stop at all, or only commas.
_LONG_SENTENCES = st.builds(
    lambda n, rnd: "".join(rnd.choices([*_WORDS, "，", "、"], k=n)),
    st.integers(40, 250),
    st.randoms(use_true_random=False),
)
_SENTENCES = st.lists(
    st.integers(0, 5).flatmap(lambda n: _LONG_SENTENCES if n == 0 else sentences()), min_size=1, max_size=6
).map("".join)


@st.composite
def headings(draw: st.DrawFn) -> str:
    title = draw(_PHRASES)
    n, i = draw(st.sampled_from(_NUMERALS)), draw(st.integers(1, 20))
    forms = [
        f"【{title[:4]}】", f"【{title[:4]}】{title}", f"◆{title}", f"\uf075 {title}", f"➢{title}",
        f"\uf0d8{title}", f"{n}、{title}", f"（{n}）{title}", f"({n}){title}", f"（{i}）{title}",
        f"{i}. {title}", f"{n}是{title}。", f"## {title}", f"### {title}", f"**{title}**", title,
    ]  # fmt: skip
    return forms[draw(st.integers(0, len(forms) - 1))]


def _noisy(lines: list[str], inserts: list[tuple[int, int, str]]) -> list[str]:
    """``lines`` with extraction noise put between characters or at the ends of some of them."""
    lines = list(lines)
    for row, cut, noise in inserts:
        text = lines[row % len(lines)]
        cut %= len(text) + 1
        lines[row % len(lines)] = text[:cut] + noise + text[cut:]
    return lines


def _wrap(text: str, width: int) -> list[str]:
    """Hard wraps every ``width`` display cells, as PDF extraction does."""
    lines, line, used = [], "", 0.0
    for ch in text:
        if line and used + display_width(ch) > width:
            lines.append(line)
            line, used = "", 0.0
        line += ch
        used += display_width(ch)
    return [*lines, line] if line else lines


@st.composite
def blocks(draw: st.DrawFn, width: int, gap: bool) -> list[str]:
    """The lines of an optional heading and the hard-wrapped paragraph under it."""
    heading = [draw(headings())] if draw(st.booleans()) else []
    lines = _noisy(heading + _wrap(draw(_SENTENCES), width), draw(_INSERTS))
    if gap:  # a blank line between each two wrapped lines
        head, body = lines[: len(heading)], lines[len(heading) :]
        lines = head + [text for line in body for text in ("", line)][1:]
    return lines + [""] * draw(st.integers(0, 2))


@dataclass(frozen=True)
class Source:
    lines: list[SourceLine]
    furniture: frozenset[int]  # source line numbers of running headers and page numbers


@st.composite
def sources(draw: st.DrawFn, paged: bool | None = None) -> Source:
    """Lines of a generated briefing, numbered from 1; pages are set when ``paged``."""
    paged = draw(st.booleans()) if paged is None else paged
    width, gap = draw(st.integers(12, 40)), draw(st.booleans())  # gap: blank lines between wrapped lines
    texts = [text for block in draw(st.lists(blocks(width, gap), min_size=1, max_size=10)) for text in block]
    if not paged:
        return Source([SourceLine(text, n, None) for n, text in enumerate(texts, start=1)], frozenset())

    # Pages of 3–25 lines, each opened by a running header and closed by its page number.
    header = draw(st.sampled_from(["广东省政协提案参考", "火炬动态 2022 年第 6 期", "西咸研究·科技创新专题"]))
    footer = draw(st.sampled_from(["- {page} -", "第 {page} 页", "{page}", "{page} / 9"]))
    sizes = draw(st.lists(st.integers(3, 25), min_size=len(texts) // 3 + 1, max_size=len(texts) // 3 + 1))
    pages: list[list[str]] = []
    for size in sizes:
        if texts:
            pages.append(texts[:size])
            texts = texts[size:]
    with_header = len(pages) >= 3  # on fewer pages a header is not recognisably repeated
    lines: list[SourceLine] = []
    furniture: set[int] = set()
    for page, body in enumerate(pages, start=1):
        if with_header:
            furniture.add(len(lines) + 1)
            lines.append(SourceLine(header, len(lines) + 1, page))
        lines += [SourceLine(text, n, page) for n, text in enumerate(body, start=len(lines) + 1)]
        furniture.add(len(lines) + 1)
        lines.append(SourceLine(footer.format(page=page), len(lines) + 1, page))
    # A text line that recurs (digits aside) is, at the edge of a page, a running header by
    # design; keep the generated body free of such repeats.
    keys = [re.sub(r"\d+", "#", squash(line.text)) for line in lines if line.line not in furniture]
    keys = [key for key in keys if key]
    assume(len(keys) == len(set(keys)))
    return Source(lines, frozenset(furniture))


def document(cleaned: CleanText) -> Document:
    return Document(
        doc_id="生成.txt",
        title="生成的简报",
        path="生成.txt",
        kind="txt",
        content_hash="0",
        text=cleaned.text,
        paragraphs=cleaned.paragraphs,
        anchors=cleaned.anchors,
    )


def squash(text: str) -> str:
    """Text modulo cleaning's whitespace, for comparing a run of cleaned text with its line."""
    return re.sub(r"\s+", "", normalize_line(text).replace("**", ""))


def anchor_spans(cleaned: CleanText) -> list[tuple[Anchor, int]]:
    """Each anchor with the end of the run of cleaned text it covers."""
    ends = [a.offset for a in cleaned.anchors[1:]] + [len(cleaned.text)]
    return list(zip(cleaned.anchors, ends, strict=True))


# --------------------------------------------------------------------------- cleaning


@FUZZ
@given(sources())
def test_cleaning_keeps_every_line_once_in_order_and_anchors_point_at_it(source: Source) -> None:
    cleaned = clean_lines(source.lines)
    by_number = {line.line: line for line in source.lines}
    content = [line.line for line in source.lines if squash(line.text) and line.line not in source.furniture]

    # Every line with text, and only those, is anchored once, in order: nothing lost, nothing twice.
    assert [a.line for a in cleaned.anchors] == content
    offsets = [a.offset for a in cleaned.anchors]
    assert offsets == sorted(set(offsets)) and (not offsets or offsets[0] == 0)
    # Each anchored run of text is its line, modulo cleaning, and the anchor has its page.
    for anchor, end in anchor_spans(cleaned):
        line = by_number[anchor.line]
        assert squash(cleaned.text[anchor.offset : end]) == squash(line.text), anchor
        assert anchor.page == line.page


@FUZZ
@given(sources())
@example(  # a marker with no title made an empty heading; a control character inside bold markers
    # became a space at the end of the paragraph
    Source(
        [
            SourceLine(text, n, None)
            for n, text in enumerate(["正文。", "**AI\x07**", "正文。", "➢：", "正文。"], 1)
        ],
        frozenset(),
    )
)
def test_paragraphs_tile_the_text_one_per_line(source: Source) -> None:
    cleaned = clean_lines(source.lines)
    text, paragraphs = cleaned.text, cleaned.paragraphs
    assert "\n".join(text[p.start : p.end] for p in paragraphs) == text
    assert [p.start for p in paragraphs[1:]] == [p.end + 1 for p in paragraphs[:-1]]
    anchored = {a.offset for a in cleaned.anchors}
    for p in paragraphs:
        body = text[p.start : p.end]
        assert body and body == body.strip() and "\n" not in body
        assert p.start in anchored
        assert (p.heading is None) or (p.rank is not None and p.heading.strip())
    # Nothing that cleaning repairs is left: quote marks ‚ ‛, odd spaces, symbol-font bullets,
    # control characters.
    assert not re.search("[‚‛\u3000\xa0\u200b\uf075\uf0d8\x00-\x09\x0b-\x1f\x7f-\x9f]", text)


@FUZZ
@given(sources(paged=True))
def test_running_headers_and_page_numbers_are_dropped(source: Source) -> None:
    cleaned = clean_lines(source.lines)
    assert not source.furniture & {a.line for a in cleaned.anchors}


# --------------------------------------------------------------------------- chunking

CHUNKING = st.builds(
    ChunkingSettings,
    max_chars=st.integers(100, 600),
    min_chars=st.integers(0, 200),
    overlap_chars=st.integers(0, 199),
)


@FUZZ
@given(sources(), CHUNKING)
@example(  # sentences of 30 characters: with max 100 and overlap 76, a piece used to start
    # inside the piece before the previous one, so each sentence was in three chunks
    Source(
        [SourceLine("【政策】", 1, None), SourceLine("".join(c * 29 + "。" for c in _HAN[:10]), 2, None)],
        frozenset(),
    ),
    ChunkingSettings(max_chars=100, min_chars=0, overlap_chars=76),
)
def test_chunks_are_bounded_slices_that_cover_the_body_with_bounded_overlap(
    source: Source, chunking: ChunkingSettings
) -> None:
    doc = document(clean_lines(source.lines))
    chunks = chunk_document(doc, chunking)

    for c in chunks:
        assert c.text and c.text == doc.text[c.char_start : c.char_end] and c.text == c.text.strip()
        assert len(c.text) <= chunking.max_chars, (len(c.text), c.chunk_id)
        heading_only = all(
            p.heading is not None and not p.inline
            for p in doc.paragraphs
            if p.start < c.char_end and p.end > c.char_start
        )
        assert not heading_only, c.text
    assert [c.char_start for c in chunks] == sorted(c.char_start for c in chunks)

    # No body text lost: every non-space character of a body paragraph is in some chunk.
    covered = [0] * len(doc.text)
    for c in chunks:
        for i in range(c.char_start, c.char_end):
            covered[i] += 1
    for p in doc.paragraphs:
        if p.heading is None or p.inline:
            lost = [i for i in range(p.start, p.end) if covered[i] == 0 and not doc.text[i].isspace()]
            assert not lost, doc.text[p.start : p.end]

    # Nothing repeated beyond the overlap: only consecutive pieces of one section share text.
    for a, b in itertools.pairwise(chunks):
        shared = a.char_end - b.char_start
        if shared > 0:
            assert a.section == b.section and shared <= chunking.overlap_chars, (shared, a.chunk_id)
    for a, b in zip(chunks, chunks[2:], strict=False):
        assert b.char_start >= a.char_end


@FUZZ
@given(sources())
def test_chunk_line_and_page_spans_are_those_of_its_first_and_last_characters(source: Source) -> None:
    cleaned = clean_lines(source.lines)
    doc = document(cleaned)
    spans = anchor_spans(cleaned)
    by_number = {line.line: line for line in source.lines}

    def origin(offset: int) -> Anchor:
        (anchor,) = [a for a, end in spans if a.offset <= offset < end]
        return anchor

    for c in chunk_document(doc, ChunkingSettings()):
        first, last = origin(c.char_start), origin(c.char_end - 1)
        assert (c.line_start, c.page_start) == (first.line, first.page)
        assert (c.line_end, c.page_end) == (last.line, last.page)
        assert squash(c.text[:1]) in squash(by_number[c.line_start].text) or not squash(c.text[:1])
        assert c.line_start <= c.line_end


# --------------------------------------------------------------------------- text files


# Characters that str.splitlines() takes for line ends, though no editor does.
_NOT_LINE_ENDS = "\v\x1c\x1d\x1e\x85\u2028\u2029"


@settings(max_examples=30, deadline=None)
@given(
    pages=st.lists(
        st.lists(
            st.text(st.sampled_from(_HAN + "。， " + _NOT_LINE_ENDS), min_size=1, max_size=20),
            min_size=1,
            max_size=5,
        ),
        min_size=2,
        max_size=4,
    )
)
def test_a_form_feed_in_a_text_file_starts_a_new_page_on_the_same_line(
    tmp_path_factory: pytest.TempPathFactory, pages: list[list[str]]
) -> None:
    path = Path(tmp_path_factory.mktemp("ff")) / "分页.txt"
    path.write_bytes(("\f".join("\n".join(page) for page in pages) + "\n").encode("utf-8"))
    editor_lines = path.read_bytes().decode("utf-8").split("\n")  # as an editor numbers them
    lines = read_text_lines(path)
    assert [line.page for line in lines] == [n for n, page in enumerate(pages, start=1) for _ in page]
    assert [line.text for line in lines] == [text for page in pages for text in page]
    for line in lines:
        assert line.text in editor_lines[line.line - 1].split("\f")
