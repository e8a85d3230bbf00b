"""Split a cleaned document into passages along its heading tree.

Rules (sizes in characters of cleaned text, from ``ChunkingSettings``):
- every chunk is a contiguous slice of the document and carries its heading path;
- a lead-in paragraph ending with a colon (“……建议：”) stays with the list it introduces: when
  the next paragraph opens a section of its own (“一是……”), the lead-in moves into that section;
- a heading is never a chunk on its own: headings open sections, body text fills them;
- a section longer than ``max_chars`` is split at sentence ends (。！？；) and, for a sentence
  longer than the bound, at commas or hard at the bound; consecutive pieces of one section
  overlap by whole sentences up to ``overlap_chars``, and no sentence is in more than two
  pieces (even when ``overlap_chars`` is close to ``max_chars``). ``max_chars`` is a hard
  bound on every chunk's text;
- a section shorter than ``min_chars`` is merged with a neighbour in the same top-level
  section (the one sharing the longer heading path), see ``_merge_small``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.config import ChunkingSettings
from rag.headings import ARTICLE_LABEL, RANK_TOPIC
from rag.sentences import sentence_spans
from rag.types import Chunk, Document, Paragraph

# v7: legal structure (第N章 › 第N条), 第N条 as one keyword token, a title heading is not a section
# v8: sentences cut by rag.sentences (a closing quote stays with its sentence)
CHUNKER_VERSION = "section-v13"
_SOFT_BREAK = re.compile(r"(?<=[，、,：:])")


@dataclass
class _Piece:
    start: int
    end: int
    section: tuple[str, ...]


def _title_paragraph(doc: Document) -> Paragraph | None:
    """The paragraph that is the document's title, which is not repeated in section paths
    (every citation already names the document): its one top-rank heading (“# 简报”, Word's
    Title style), or a first line that is the title (a masthead, or taken for a short heading:
    then the only heading of its rank; a first 【政策】 with sibling 【现状】 is a section)."""
    tops = [para for para in doc.paragraphs if para.heading is not None and para.rank == 0]
    if len(tops) == 1 and not tops[0].inline:
        return tops[0]
    first = doc.paragraphs[0] if doc.paragraphs else None
    if first is None or doc.text[first.start : first.end].strip() != doc.title:
        return None
    rank = first.rank if first.heading is not None else None
    if rank is None or sum(1 for p in doc.paragraphs if p.heading is not None and p.rank == rank) == 1:
        return first
    return None


def section_blocks(doc: Document) -> list[_Piece]:
    """Runs of body paragraphs sharing one heading path, in document order."""
    stack: list[tuple[int, str]] = []
    blocks: list[_Piece] = []
    lead_in: int | None = None  # start of the last body paragraph if it ends with a colon
    title = _title_paragraph(doc)
    for para in doc.paragraphs:
        if para is title:
            continue
        if para.rank is not None:
            # A heading closes its open siblings, and so does a demoted one (contents line,
            # one-line list item), which opens nothing.
            while stack and stack[-1][0] >= para.rank:
                stack.pop()
            if para.heading is not None:
                stack.append((para.rank, para.heading))
                if not para.inline:
                    continue
        section = tuple(title for _, title in stack)
        if blocks and blocks[-1].section == section and blocks[-1].end + 1 == para.start:
            blocks[-1].end = para.end
        elif lead_in is not None and blocks and blocks[-1].end + 1 == para.start:
            previous = blocks.pop()
            if lead_in > previous.start:
                blocks.append(_Piece(previous.start, lead_in - 1, previous.section))
            blocks.append(_Piece(lead_in, para.end, section))
        else:
            blocks.append(_Piece(para.start, para.end, section))
        lead_in = para.start if doc.text[para.start : para.end].rstrip().endswith(("：", ":")) else None
        if para.ends_article:
            while stack and stack[-1][0] >= RANK_TOPIC:
                stack.pop()
    return blocks


def _sentences(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Sentence spans inside [start, end), none longer than ``max_chars``."""
    spans: list[tuple[int, int]] = []
    for s, e in sentence_spans(text, start, end, line_breaks=False):
        if e - s <= max_chars:
            spans.append((s, e))
            continue
        for soft in _pack(_split(text, s, e, _SOFT_BREAK), max_chars):
            ss, se = soft
            while se - ss > max_chars:
                spans.append((ss, ss + max_chars))
                ss += max_chars
            spans.append((ss, se))
    return spans


def _split(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    cuts = [
        start,
        *(m.start() + start for m in pattern.finditer(text[start:end]) if 0 < m.start() < end - start),
        end,
    ]
    spans = []
    for s, e in zip(cuts, cuts[1:], strict=False):
        if e > s:
            spans.append((s, e))
    return spans


def _pack(spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    """Greedily join consecutive spans while they fit ``max_chars``."""
    packed: list[tuple[int, int]] = []
    for s, e in spans:
        if packed and e - packed[-1][0] <= max_chars:
            packed[-1] = (packed[-1][0], e)
        else:
            packed.append((s, e))
    return packed


def _split_block(doc: Document, block: _Piece, settings: ChunkingSettings) -> list[_Piece]:
    if block.end - block.start <= settings.max_chars:
        return [block]
    sentences = _sentences(doc.text, block.start, block.end, settings.max_chars)
    pieces: list[_Piece] = []
    i = 0
    floor = block.start  # end of the piece before this one: the overlap never reaches back past it
    while i < len(sentences):
        start = sentences[i][0]
        j = i
        while j + 1 < len(sentences) and sentences[j + 1][1] - start <= settings.max_chars:
            j += 1
        pieces.append(_Piece(start, sentences[j][1], block.section))
        if j + 1 >= len(sentences):
            break
        # Next piece starts with the last whole sentences of this one, up to overlap_chars, and
        # only with text no earlier piece has: no sentence is in more than two pieces.
        k = j + 1
        while (
            k - 1 > i
            and sentences[k - 1][0] >= floor
            and sentences[j][1] - sentences[k - 1][0] <= settings.overlap_chars
            and sentences[j + 1][1] - sentences[k - 1][0] <= settings.max_chars
        ):
            k -= 1
        floor = sentences[j][1]
        i = k
    return pieces


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _article_span(first: tuple[str, ...], last: tuple[str, ...]) -> tuple[str, ...] | None:
    """The path of two neighbouring articles (or article spans) of one chapter merged into one
    passage: the chapter, then “第十条至第十二条”, so the citation still names the articles."""
    if len(first) != len(last) or not first or first[:-1] != last[:-1]:
        return None
    start, end = first[-1].split("至")[0], last[-1].split("至")[-1]
    if not (ARTICLE_LABEL.fullmatch(start) and ARTICLE_LABEL.fullmatch(end)):
        return None
    return (*first[:-1], start if start == end else f"{start}至{end}")


def _merge_small(blocks: list[_Piece], settings: ChunkingSettings) -> list[_Piece]:
    """Merge blocks shorter than ``min_chars`` into a neighbour in the same top-level section.

    A merge that fits ``max_chars`` takes the shared heading path. A short intro that opens
    its subsections (its path is a prefix of the next block's) joins the next block and takes
    that block's path; the result is split again later.
    """
    merged = list(blocks)
    i = 0
    while i < len(merged):
        piece = merged[i]
        if piece.end - piece.start >= settings.min_chars:
            i += 1
            continue
        options = []
        for j in (i - 1, i + 1):
            if not 0 <= j < len(merged):
                continue
            other = merged[j]
            start, end = min(piece.start, other.start), max(piece.end, other.end)
            first, last = (piece, other) if piece.start < other.start else (other, piece)
            shared = _article_span(first.section, last.section) or _common_prefix(
                piece.section, other.section
            )
            # Never merge across top-level sections, nor text before the first heading (a date
            # line, an issuing authority) into a section: the chunk would lose its heading path.
            if not shared and piece.section != other.section:
                continue
            if end - start <= settings.max_chars:
                options.append((len(shared), j == i + 1, j, start, end, shared))
            elif j == i + 1 and shared == piece.section:
                options.append((-1, True, j, start, end, other.section))
        if not options:
            i += 1
            continue
        _, _, j, start, end, section = max(options)
        merged[min(i, j)] = _Piece(start, end, section)
        del merged[max(i, j)]
        i = min(i, j)
    return merged


def chunk_document(doc: Document, settings: ChunkingSettings) -> list[Chunk]:
    """Chunks of ``doc`` in document order, with heading paths and source spans."""
    pieces: list[_Piece] = []
    for block in _merge_small(section_blocks(doc), settings):
        pieces.extend(_split_block(doc, block, settings))
    chunks = []
    for number, piece in enumerate(pieces):
        start, end = _trim(doc.text, piece.start, piece.end)
        first, last = doc.locate(start), doc.locate(end - 1)
        chunks.append(
            Chunk(
                chunk_id=f"{doc.doc_id}#{number}",
                doc_id=doc.doc_id,
                title=doc.title,
                section=piece.section,
                text=doc.text[start:end],
                char_start=start,
                char_end=end,
                line_start=first.line,
                line_end=last.line,
                page_start=first.page,
                page_end=last.page,
                unit=doc.unit,
            )
        )
    return chunks


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
