"""One Pipeline (index + embedder + retriever + answerer) for the CLI, the server and eval."""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace

from rag.answerers import (
    Answerer,
    DoneEvent,
    PipelineEvent,
    RetrievedEvent,
    TokenEvent,
    collect,
    get_answerer,
)
from rag.answerers.extractive import refuse
from rag.backends import open_store
from rag.citations import with_evidence
from rag.config import MAX_QUESTION_CHARS, Settings
from rag.conversation import Rewrite, Turn
from rag.embedders import Embedder, get_embedder
from rag.errors import BadInputError
from rag.indexing import IndexProgress, build_index
from rag.references import format_reference
from rag.retrieve import Retriever
from rag.store import Index
from rag.tokens import count_all, count_tokens
from rag.types import Answer, Citation, GenerationOptions, Hit, TokenUsage


class Pipeline:
    def __init__(self, settings: Settings, embedder: Embedder, index: Index, answerer: Answerer) -> None:
        self.settings = settings
        self.embedder = embedder
        self.retriever = Retriever(index, embedder, settings.retrieval)
        self.answerer = answerer
        self._reloading = threading.Lock()
        self._answerers: dict[str, Answerer] = {answerer.name: answerer, settings.answerer: answerer}

    @classmethod
    def from_settings(
        cls, settings: Settings, *, build_missing: bool = False, progress: IndexProgress | None = None
    ) -> Pipeline:
        """Load the configured index; with ``build_missing``, build it first when absent."""
        embedder = get_embedder(settings.embedder)
        if build_missing:
            ensure_index(settings, embedder, progress)
        index = open_store(settings).load(embedder.spec)
        return cls(settings, embedder, index, get_answerer(settings.answerer, settings, embedder))

    @property
    def index(self) -> Index:
        return self.retriever.index

    @property
    def stale(self) -> bool:
        """Whether ``rag index``/``add``/``remove`` (from here or another process) has written
        a newer index version than the one loaded."""
        current = open_store(self.settings).version()
        return current is not None and current != self.index.version

    def reload(self) -> None:
        """Switch to the current index version, if it is not the loaded one. Questions being
        answered meanwhile keep the index they started with: the switch is one assignment."""
        with self._reloading:
            if self.stale:
                index = open_store(self.settings).load(self.embedder.spec)
                self.retriever = Retriever(index, self.embedder, self.settings.retrieval)

    def search(self, question: str, k: int | None = None, docs: Collection[str] | None = None) -> list[Hit]:
        return self.retriever.search(check_question(question), k, docs)

    def answerer_for(self, spec: str | None = None) -> Answerer:
        """The configured answerer, or the one named by ``spec`` (built once, then reused)."""
        spec = (spec or "").strip()
        if not spec:
            return self.answerer
        if spec not in self._answerers:
            self._answerers[spec] = get_answerer(spec, self.settings, self.embedder)
        return self._answerers[spec]

    def stream(
        self,
        question: str,
        k: int | None = None,
        docs: Collection[str] | None = None,
        history: Sequence[Turn] = (),
        answerer: str | None = None,
        options: GenerationOptions | None = None,
    ) -> Iterator[PipelineEvent]:
        """Retrieve, then answer: a ``RetrievedEvent``, token events, and a final ``DoneEvent``.

        A follow-up question is first rewritten with ``history`` into a standalone question
        (by the answerer: the LLM when there is one, else the offline rule), which is what
        retrieval and answering see; the answer keeps the question as asked. ``options``
        (max_tokens, stop, sampling) end the answer at a sentence boundary within the budget.
        """
        question = check_question(question)
        options = options or GenerationOptions()
        chosen = self.answerer_for(answerer)
        start = time.perf_counter()
        rewrite = chosen.condense(question, history) if history else Rewrite(question, None)
        query = rewrite.query
        condensed = time.perf_counter()
        hits = (
            []
            if rewrite.unresolved
            else self.retriever.search(query, k or self.settings.answer.passages, docs)
        )
        retrieved = time.perf_counter()
        yield RetrievedEvent(query, tuple(hits))
        events = chosen.stream(query, hits, self.index, options)
        if rewrite.unresolved:
            # Answering something else would be worse than asking the user to say what they mean.
            events = refuse(chosen.name, query, (), rewrite.unresolved, 0.0)
        for event in within_limits(events, options):
            if isinstance(event, DoneEvent):
                done = time.perf_counter()
                timings = {
                    "condense_ms": round((condensed - start) * 1000, 1),
                    "retrieval_ms": round((retrieved - condensed) * 1000, 1),
                    "answer_ms": round((done - retrieved) * 1000, 1),
                    "total_ms": round((done - start) * 1000, 1),
                }
                answer = event.answer
                event = DoneEvent(
                    replace(
                        answer,
                        question=question,
                        query=query,
                        timings=timings,
                        sentences=tuple(with_evidence(s, answer.passages) for s in answer.sentences),
                        citations=tuple(self._described(c) for c in answer.citations),
                        usage=_usage(answer, rewrite, history),
                    )
                )
            yield event

    def _described(self, citation: Citation) -> Citation:
        """``citation`` with its briefing's publisher and date and its reference for drafts."""
        doc = self.index.documents.get(citation.chunk.doc_id)
        publisher, date = (doc.info("publisher"), doc.info("date")) if doc else ("", "")
        style = self.settings.draft.citation_style
        reference = format_reference(citation.chunk, publisher, date, style)
        return replace(citation, publisher=publisher, date=date, reference=reference)

    def ask(
        self,
        question: str,
        k: int | None = None,
        docs: Collection[str] | None = None,
        history: Sequence[Turn] = (),
        answerer: str | None = None,
        options: GenerationOptions | None = None,
    ) -> Answer:
        return collect(self.stream(question, k, docs, history, answerer, options))


def within_limits(events: Iterator[PipelineEvent], options: GenerationOptions) -> Iterator[PipelineEvent]:
    """``events`` with the answer ended before the first sentence that would pass
    ``max_tokens`` (finish "length") or that holds a ``stop`` sequence: whole sentences only,
    so a cut answer never ends in a fragment; the final answer keeps the sentences sent."""
    if options.max_tokens is None and not options.stop:
        yield from events
        return
    sent, spent, ended = "", 0, ""
    kept = 0
    for event in events:
        if isinstance(event, TokenEvent):
            if ended:
                continue
            cost = count_tokens(event.text)
            if any(stop in sent + event.text for stop in options.stop):
                ended = "stop"
            elif options.max_tokens is not None and spent + cost > options.max_tokens:
                ended = "length"
            else:
                sent, spent, kept = sent + event.text, spent + cost, kept + 1
                yield event
        elif isinstance(event, DoneEvent) and ended:
            yield DoneEvent(_cut(event.answer, kept, ended, options))
        else:
            yield event


def _cut(answer: Answer, kept: int, ended: str, options: GenerationOptions) -> Answer:
    """``answer`` up to its first ``kept`` sentences (the token events that were sent)."""
    sentences = answer.sentences[:kept]
    if answer.sentences:
        text = "".join(s.text for s in sentences)
    else:  # a refusal: one sentence, no checks
        text = answer.text if kept else ""
    cited = {n for s in sentences for n in s.cited}
    if ended == "length":
        notice = f"回答按 max_tokens={options.max_tokens} 在句末截断，其后的句子未给出"
    else:
        notice = "回答在停止序列（stop）之前的句末结束"
    return replace(
        answer,
        text=text,
        sentences=sentences,
        citations=tuple(c for c in answer.citations if c.n in cited),
        notices=(*answer.notices, notice),
        finish_reason="length" if ended == "length" else answer.finish_reason,
    )


def _usage(answer: Answer, rewrite: Rewrite, history: Sequence[Turn]) -> TokenUsage:
    """What the answer spent: the backend's counts where a model was called, else counted
    (rag.tokens) over what the answerer read (question, conversation, passages) and wrote."""
    if answer.usage is None:
        read = [answer.query or answer.question, *(turn.content for turn in history)]
        read += [hit.chunk.text for hit in answer.passages]
        spent = TokenUsage(count_all(read), count_tokens(answer.text))
    else:
        spent = answer.usage
    return spent + rewrite.usage if rewrite.usage else spent


def check_question(question: str) -> str:
    question = question.strip()
    if not question:
        raise BadInputError("问题不能为空")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadInputError(f"问题过长（{len(question)} 字），上限 {MAX_QUESTION_CHARS} 字")
    return question


def ensure_index(settings: Settings, embedder: Embedder, progress: IndexProgress | None = None) -> bool:
    """Build the index on first use; whether it had to be built. The CLI (``rag ask``,
    ``search``, ``eval``, ``serve``) and the server's start-up all come here."""
    if open_store(settings).exists():
        return False
    ensure_corpus(settings)
    from rag.shipped import seed_from_shipped

    seed_from_shipped(settings, embedder)  # the bundled briefings' rows, verified by the update below
    build_index(settings, embedder, progress=progress)
    return True


def ensure_corpus(settings: Settings) -> None:
    from rag.ingest import list_sources
    from rag.readers import SUPPORTED_SUFFIXES

    if not list_sources(settings.data_dir):
        kinds = "/".join(sorted(SUPPORTED_SUFFIXES))
        raise BadInputError(
            f"在 {settings.data_dir} 中没有找到简报（{kinds}）。请把文件放入 data/，或设置 RAG_HOME 指向项目目录"
        )
