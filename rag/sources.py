"""The briefing around a cited passage, for a reader checking a citation.

For a PDF the context is the text of the page(s) the passage lies on; for a text file it is
the passage with up to ``margin`` characters of cleaned text on either side. Offsets of the
passage inside the context are given, so a viewer can highlight it.
"""

from __future__ import annotations

from typing import Any

from rag.errors import UnknownDocumentError
from rag.store import Index
from rag.types import Chunk, Document

CONTEXT_MARGIN = 800


def find_chunk(index: Index, chunk_id: str) -> Chunk:
    for chunk in index.chunks:
        if chunk.chunk_id == chunk_id:
            return chunk
    raise UnknownDocumentError(f"索引中没有段落 {chunk_id!r}（简报可能已被删除或重建）")


def page_span(doc: Document, first: int, last: int) -> tuple[int, int]:
    """Character span of pages ``first``…``last`` in the document's cleaned text."""
    starts = [a.offset for a in doc.anchors if a.page is not None and first <= a.page <= last]
    after = [a.offset for a in doc.anchors if a.page is not None and a.page > last]
    return (min(starts), min(after) if after else len(doc.text)) if starts else (0, len(doc.text))


def source_context(index: Index, chunk_id: str, margin: int = CONTEXT_MARGIN) -> dict[str, Any]:
    chunk = find_chunk(index, chunk_id)
    doc = index.documents[chunk.doc_id]
    if chunk.page_start is not None:
        start, end = page_span(doc, chunk.page_start, chunk.page_end or chunk.page_start)
        start, end = min(start, chunk.char_start), max(end, chunk.char_end)
    else:
        start = max(chunk.char_start - margin, 0)
        end = min(chunk.char_end + margin, len(doc.text))
    return {
        "chunk_id": chunk.chunk_id,
        "doc": doc.doc_id,
        "title": doc.title,
        "section": chunk.section_path,
        "page": chunk.location,
        "kind": doc.kind,
        "context": doc.text[start:end],
        "highlight_start": chunk.char_start - start,
        "highlight_end": chunk.char_end - start,
        "starts_at_beginning": start == 0,
        "ends_at_end": end == len(doc.text),
    }
