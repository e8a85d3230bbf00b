"""The LLM answerer: an OpenAI-compatible chat model writes the answer, we verify its citations.

Flow of one question:
1. No passages, or no passage sentence likely enough to answer (the extractive answerer's
   calibrated relevance and checks, ``ExtractiveAnswerer.judge``): the fixed refusal, with its
   reason, **without calling the model**.
2. Otherwise the prompts in ``prompts/`` (system + answer) number the passages ``[1]…[n]``
   with title, heading path and page; the reply streams in and is cut into sentences, each
   normalised and verified (rag/citations.py) before it is passed on, so a client never sees
   a malformed or out-of-range marker.
3. A reply that is only the refusal sentence is a refusal (no citations).

A failing backend raises ``BackendError``; with ``[llm] fallback = true`` a failure before the
first sentence gives the extractive answer instead, with a notice saying so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from rag.answerers.base import AnswerEvent, DoneEvent, TokenEvent, collect
from rag.answerers.extractive import NO_PASSAGES, ExtractiveAnswerer, refuse
from rag.citations import REFUSAL, CitationVerifier, SupportChecker
from rag.config import Settings
from rag.conversation import Rewrite, Turn, condense_offline, format_history
from rag.embedders import Embedder
from rag.errors import BackendError
from rag.llm_client import ChatClient, Message, ReplyInfo, resolve_endpoint
from rag.prompts import render_prompt
from rag.sentences import CLOSERS, TERMINAL, SentenceAssembler, strip_markers
from rag.tokens import count_all, count_tokens
from rag.types import Answer, Citation, GenerationOptions, Hit, SentenceCheck, TokenUsage

if TYPE_CHECKING:
    from rag.store import Index

log = logging.getLogger(__name__)

_DATA_FENCE = ("<资料>", "</资料>")


def format_passages(passages: Sequence[Hit]) -> str:
    """``[n] 《title》 › section（page）`` then the text, for every passage; fence tags in the
    text are neutralised so a passage cannot close the data block it sits in."""
    blocks = []
    for n, hit in enumerate(passages, start=1):
        chunk = hit.chunk
        text = chunk.text
        for tag in _DATA_FENCE:
            text = text.replace(tag, tag.replace("<", "＜").replace(">", "＞"))
        blocks.append(
            f"[{n}] 《{chunk.title}》{' › ' + chunk.section_path if chunk.section_path else ''}（{chunk.location}）\n{text}"
        )
    return "\n\n".join(blocks)


class LLMAnswerer:
    """Answers with a chat model over an OpenAI-compatible API (spec ``llm`` or ``llm:<preset>``)."""

    def __init__(self, spec: str, settings: Settings, embedder: Embedder, preset: str | None = None) -> None:
        self.name = spec
        self.settings = settings
        self.embedder = embedder
        self.endpoint = resolve_endpoint(settings.llm, preset)
        self.client = ChatClient(self.endpoint)
        self.extractive = ExtractiveAnswerer(settings.answer, embedder)
        # Render once now, so a broken prompt file fails at start-up rather than on a question.
        self.messages("测试", ())

    def messages(self, question: str, passages: Sequence[Hit]) -> list[Message]:
        home = self.settings.home
        system = render_prompt("system", home, count=str(max(len(passages), 1)), refusal=REFUSAL)
        user = render_prompt(
            self.settings.llm.prompt, home, passages=format_passages(passages), question=question
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def condense(self, question: str, history: Sequence[Turn]) -> Rewrite:
        if not history:
            return Rewrite(question, None)
        prompt = render_prompt(
            "condense", self.settings.home, history=format_history(history), question=question
        )
        messages: list[Message] = [{"role": "user", "content": prompt}]
        info = ReplyInfo()
        try:
            rewritten = self.client.complete(messages, max_tokens=200, info=info).strip()
        except BackendError:
            if not self.settings.llm.fallback:
                raise
            log.warning("condensing with %s failed; using the offline rule", self.endpoint.label)
            return condense_offline(question, history)
        first_line = rewritten.splitlines()[0].strip() if rewritten else ""
        return Rewrite(first_line[:500] or question, None, _spent(info, messages, rewritten))

    def answer(self, question: str, hits: Sequence[Hit], index: Index | None = None) -> Answer:
        return collect(self.stream(question, hits, index))

    def stream(
        self,
        question: str,
        hits: Sequence[Hit],
        index: Index | None = None,
        options: GenerationOptions | None = None,
    ) -> Iterator[AnswerEvent]:
        passages = tuple(hits)
        if not passages:
            yield from refuse(self.name, question, passages, NO_PASSAGES, 0.0)
            return
        judged = self.extractive.judge(question, passages, index)
        confidence = judged.confidence
        if judged.refusal is not None:
            yield from refuse(self.name, question, passages, judged.refusal, confidence)
            return
        verifier = CitationVerifier(passages, SupportChecker(self.embedder, self.settings.answer.min_support))
        checks: list[SentenceCheck] = []
        messages = self.messages(question, passages)
        info = ReplyInfo()
        deltas = self.client.stream(messages, options, info)
        try:
            for piece in _pieces(deltas, info, bool(options and options.stop)):
                check = verifier.check(piece)
                checks.append(check)
                yield TokenEvent(check.text)
        except BackendError as e:
            if checks or not self.settings.llm.fallback:
                raise
            log.warning("LLM backend failed (%s); falling back to the extractive answer", e.message)
            yield from self._fallback(question, passages, e, index)
            return
        answer = self._final(question, passages, checks, verifier.notices, confidence)
        reply = "".join(check.text for check in checks)
        finish = "length" if info.finish_reason == "length" else "stop"
        yield DoneEvent(replace(answer, usage=_spent(info, messages, reply), finish_reason=finish))

    def _final(
        self,
        question: str,
        passages: tuple[Hit, ...],
        checks: list[SentenceCheck],
        notices: list[str],
        confidence: float,
    ) -> Answer:
        content = [check for check in checks if check.status != "exempt"]
        if not content:
            return Answer(
                question,
                REFUSAL,
                (),
                passages,
                True,
                "大模型判断资料不足以回答",
                confidence,
                answerer=self.name,
            )
        cited = sorted({n for check in checks for n in check.cited})
        citations = tuple(
            Citation(n, passages[n - 1].chunk, all(c.supported for c in checks if n in c.cited))
            for n in cited
        )
        return Answer(
            question=question,
            text="".join(check.text for check in checks),
            citations=citations,
            passages=passages,
            refused=False,
            confidence=confidence,
            sentences=tuple(checks),
            notices=tuple(notices),
            answerer=self.name,
        )

    def _fallback(
        self, question: str, passages: tuple[Hit, ...], error: BackendError, index: Index | None
    ) -> Iterator[AnswerEvent]:
        notice = f"{error.message}；以下为离线抽取式回答"
        for event in self.extractive.stream(question, passages, index):
            if isinstance(event, DoneEvent):
                answer = event.answer
                event = DoneEvent(
                    replace(answer, notices=(notice, *answer.notices), answerer=f"{self.name}→extractive")
                )
            yield event


def _pieces(deltas: Iterator[str], info: ReplyInfo, stops: bool = False) -> Iterator[str]:
    """The reply's sentences; when the backend stopped at its token limit or (``stops``) may
    have stopped at a stop sequence, the unfinished sentence it was writing is left out rather
    than passed on as a fragment."""
    assembler = SentenceAssembler()
    for delta in deltas:
        yield from assembler.feed(delta)
    for rest in assembler.flush():
        ending = strip_markers(rest).rstrip().rstrip(CLOSERS)
        cut = (info.finish_reason == "length" or stops) and not ending.endswith(tuple(TERMINAL))
        if not cut:
            yield rest


def _spent(info: ReplyInfo, messages: Sequence[Message], reply: str) -> TokenUsage:
    """The backend's usage, or (when it reports none) our count of what was sent and received."""
    return info.usage or TokenUsage(count_all(m["content"] for m in messages), count_tokens(reply))
