"""Data shapes shared by ingestion, the index, retrieval and answering."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

HEADING_SEPARATOR = " › "


@dataclass(frozen=True)
class Anchor:
    """Where a run of cleaned text starts in the source: character offset → line and page."""

    offset: int
    line: int
    page: int | None


@dataclass(frozen=True)
class Paragraph:
    """One cleaned paragraph; ``heading`` is set when the paragraph opens a section.

    ``rank`` is the heading's depth in the tree (lower = closer to the root); a body paragraph
    that was demoted from an empty heading keeps the rank (``heading`` is None) and closes the
    open sections of that rank.
    """

    start: int
    end: int
    heading: str | None = None
    rank: int | None = None
    inline: bool = False  # heading that is also body text (一是……。 / （一）……。)
    ends_article: bool = False  # a source line such as “（来源：人民网）” closes the article


@dataclass
class Document:
    """A cleaned briefing: its text, paragraphs and the map back to source lines/pages."""

    doc_id: str
    title: str
    path: str
    kind: str
    content_hash: str
    text: str
    paragraphs: list[Paragraph]
    anchors: list[Anchor]
    meta: dict[str, str] = field(default_factory=dict)  # what the user set (data/briefings.toml), title too
    unit: str = "行"  # what an anchor's line counts where there are no pages: 行, or 段 (Word, web pages)
    file_meta: dict[str, str] = field(default_factory=dict)  # what the file says (author, date)

    def info(self, key: str) -> str:
        """A description field (publisher, date, author): the user's value, else the file's."""
        return self.meta.get(key) or self.file_meta.get(key, "")

    def locate(self, offset: int) -> Anchor:
        """The anchor covering ``offset`` (the last one starting at or before it)."""
        lo, hi = 0, len(self.anchors) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.anchors[mid].offset <= offset:
                lo = mid
            else:
                hi = mid - 1
        return self.anchors[lo]

    def record(self) -> dict[str, Any]:
        """JSON-ready form, as stored in the index."""
        data = _fields(self)
        data["meta"] = dict(self.meta)
        data["file_meta"] = dict(self.file_meta)
        data["paragraphs"] = [
            [p.start, p.end, p.heading, p.rank, p.inline, p.ends_article] for p in self.paragraphs
        ]
        data["anchors"] = [[a.offset, a.line, a.page] for a in self.anchors]
        return data

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Document:
        data = dict(data)
        data["paragraphs"] = [Paragraph(*p) for p in data["paragraphs"]]
        data["anchors"] = [Anchor(*a) for a in data["anchors"]]
        return cls(**data)


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: a contiguous slice of a document's cleaned text."""

    chunk_id: str
    doc_id: str
    title: str
    section: tuple[str, ...]
    text: str
    char_start: int
    char_end: int
    line_start: int
    line_end: int
    page_start: int | None = None
    page_end: int | None = None
    unit: str = "行"  # the document's line unit (``Document.unit``)

    @property
    def heading_path(self) -> str:
        """Briefing title › section › subsection."""
        return HEADING_SEPARATOR.join((self.title, *self.section))

    @property
    def section_path(self) -> str:
        """Section › subsection below the briefing title ("" at the top of a briefing)."""
        return HEADING_SEPARATOR.join(self.section)

    @property
    def location(self) -> str:
        """Page span for paged files, else the line (or paragraph) span, in Chinese:
        第3页 / 第3–4页 / 第12–20行 / 第5段."""
        if self.page_start is not None:
            if self.page_end is None or self.page_end == self.page_start:
                return f"第{self.page_start}页"
            return f"第{self.page_start}–{self.page_end}页"
        if self.line_end == self.line_start:
            return f"第{self.line_start}{self.unit}"
        return f"第{self.line_start}–{self.line_end}{self.unit}"

    @property
    def embed_text(self) -> str:
        """What the embedder sees: the heading path, then the passage."""
        return f"{self.heading_path}\n{self.text}"

    def record(self) -> dict[str, Any]:
        data = _fields(self)
        data["section"] = list(self.section)
        return data

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Chunk:
        data = dict(data)
        data["section"] = tuple(data["section"])
        return cls(**data)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk. ``score`` is in [0, 1], higher is more relevant (see retrieve.py)."""

    chunk: Chunk
    score: float
    rank: int
    dense: float
    keyword: float

    def record(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "rank": self.rank,
            "chunk_id": c.chunk_id,
            "doc": c.doc_id,
            "title": c.title,
            "section": c.section_path,
            "page": c.location,
            "text": c.text,
            "score": round(self.score, 4),
            "dense": round(self.dense, 4),
            "keyword": round(self.keyword, 4),
        }


@dataclass(frozen=True)
class Citation:
    """A numbered source: ``n`` is the passage number used by the ``[n]`` markers.

    ``supported`` is False when a sentence citing it failed the support check (rag/citations.py).
    """

    n: int
    chunk: Chunk
    supported: bool = True
    # Set by the pipeline from the briefing's description (rag.references): what a draft cites.
    publisher: str = ""
    date: str = ""
    reference: str = ""

    def record(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "n": self.n,
            "chunk_id": c.chunk_id,
            "doc": c.doc_id,
            "title": c.title,
            "section": c.section_path,
            "page": c.location,
            "text": c.text,
            "supported": self.supported,
            "publisher": self.publisher,
            "date": self.date,
            "reference": self.reference,
        }


@dataclass(frozen=True)
class SentenceCheck:
    """One answer sentence after citation verification.

    ``status``: quoted (the extractive answerer's verbatim quote of its passage: not a check),
    verified (a generated sentence its citations support), reattached (moved to the passage that
    does), attached (had no marker; one was added), unsupported / uncited (no passage supports
    it), exempt (too short to need a source, or the refusal sentence).
    """

    text: str
    cited: tuple[int, ...]
    supported: bool
    support: float
    status: str
    # (n, start, end): where in cited passage n the sentence's words are (offsets in its text)
    evidence: tuple[tuple[int, int, int], ...] = ()

    def record(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "cited": list(self.cited),
            "supported": self.supported,
            "support": round(self.support, 3),
            "status": self.status,
            "evidence": [{"n": n, "start": start, "end": end} for n, start, end in self.evidence],
        }


@dataclass(frozen=True)
class TokenUsage:
    """Tokens read and written for one answer: the LLM backend's own count when it reports one,
    else counted by rag.tokens (the offline answerer always)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens
        )

    def record(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True)
class GenerationOptions:
    """What a client asked of the generation, with OpenAI's names and meanings.

    ``max_tokens`` and ``stop`` bound every answer (the pipeline ends it at a sentence
    boundary); the sampling fields go to an LLM backend and do not change the offline
    answerer, whose answer is deterministic.
    """

    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None

    def sampling(self) -> dict[str, Any]:
        """The sampling fields that were set, for an OpenAI-compatible request body."""
        names = ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


@dataclass(frozen=True)
class Answer:
    """A cited answer, or a refusal (then ``citations`` is empty and ``refusal_reason`` set).

    ``query`` is the standalone question used for retrieval (a follow-up rewritten with the
    conversation); ``notices`` say what citation verification or a backend fallback changed.
    ``finish_reason`` is "length" when ``max_tokens`` cut the answer (at a sentence boundary),
    else "stop".
    """

    question: str
    text: str
    citations: tuple[Citation, ...]
    passages: tuple[Hit, ...]
    refused: bool
    refusal_reason: str | None = None
    confidence: float = 0.0
    sentences: tuple[SentenceCheck, ...] = ()
    notices: tuple[str, ...] = ()
    answerer: str = ""
    query: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    usage: TokenUsage | None = None
    finish_reason: str = "stop"


def _fields(instance: Any) -> dict[str, Any]:
    """A dataclass's fields by name, not copied (``asdict`` deep-copies every nested value,
    which dominated writing the records of a large index)."""
    return {f.name: getattr(instance, f.name) for f in fields(instance)}
