"""Evaluation: run a question set through the pipeline, then score the run.

Set format: ``eval/README.md`` (one JSON object per line with ``id``, ``question``,
``answerable``, ``evidence_any``, ``answer_keywords``, ``source``, ``type``, and ``history``
for follow-ups). Every item is answered by ``Pipeline.ask`` with its ``history`` as the
conversation, as users get it (follow-ups rewritten into a standalone ``query``).

A passage *contains evidence* (is *relevant*) when its normalised text (no whitespace, no quote
marks) contains a normalised evidence span. Retrieval metrics read the top 10 passages of a
search for the answer's ``query``; citation metrics read the passages the answer holds
(``answer_passages``: ``[n]`` is its ``n``-th passage; it may hold more than ``k``). Metrics:
- ``recall@k``: share of answerable items with a relevant passage among the first ``k``
  retrieved passages (also ``recall@1/3/5/10``);
- ``mrr@10``: mean of 1/rank of the first relevant passage in the top 10 (0 if none);
- ``keyword_coverage``: share of an item's answer keywords found in its normalised answer
  (``[n]`` markers removed), averaged over answerable items;
- ``citation_recall`` (ALCE): the answer is split into sentences on 。！？； (fragments under four
  letters/characters and the refusal sentence skipped); a sentence scores 1 when the passages
  it cites (at most three) jointly support it, 0 when it cites nothing or they do not; averaged
  over sentences, then over the answers that were not refusals;
- ``citation_precision`` (ALCE): a citation is *irrelevant* when it alone does not support its
  sentence and the sentence's other citations still do without it; every citation of a
  sentence failing recall counts as incorrect; correct citations / all citations per answer
  (0 for an answer citing nothing), averaged over the answers that were not refusals;
- ``faithfulness`` (RAGAS): share of the answer's claims supported by the passages the answer
  holds, averaged over the answers that were not refusals;
- ``cited_evidence_precision``: share of the passages an answer cites that contain evidence
  (0 when it cites nothing), averaged over the non-refused answers to answerable items;
- ``sentence_evidence_rate``: share of an answer's sentences (as for ``citation_recall``) citing
  at least one passage that contains evidence, averaged over the same answers;
- ``fragment_rate``: share of the sentences of all non-refused answers that are fragments
  (``rag.eval_metrics.is_fragment``: under 8 letters/characters, or no verb); lower is better;
- ``followup_accuracy``: share of answerable items with a ``history`` answered (not refused)
  with at least one cited passage that contains evidence;
- ``refusal_accuracy``: share of unanswerable items refused with no citation;
- ``false_refusal_rate``: share of answerable items refused.
Support is decided by a judge (``rag.judges``: offline by default, an LLM on request); scores
from different judges are not comparable. Evidence-based measures need no judge. Some measures
cannot fail for some answerers (``TRIVIAL_FOR``); the report names them (``trivial``).
Scoring reads only the run records, the set and the judge, so a run can be rescored without
running the pipeline again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rag.errors import EvalSetError
from rag.eval_metrics import (
    MAX_CITATIONS_PER_SENTENCE,
    TRIVIAL_FOR,
    CitationScore,
    citation_scores,
    evidence_scores,
    faithfulness,
    first_relevant_rank,
    fragments,
    is_fragment,
    keyword_coverage,
    missing_keywords,
    trivial_measures,
)
from rag.eval_set import EvalItem, load_eval_set
from rag.judges import SupportJudge

if TYPE_CHECKING:
    pass

__all__ = [
    "HEADLINE",
    "K_VALUES",
    "LOWER_IS_BETTER",
    "MAX_CITATIONS_PER_SENTENCE",
    "RUN_PASSAGES",
    "TRIVIAL_FOR",
    "CitationScore",
    "EvalItem",
    "Metrics",
    "RunRecord",
    "build_report",
    "citation_scores",
    "faithfulness",
    "first_relevant_rank",
    "is_fragment",
    "keyword_coverage",
    "load_eval_set",
    "missing_keywords",
    "score_run",
]

K_VALUES = (1, 3, 5, 10)
RUN_PASSAGES = 10
HEADLINE = (
    "recall@k",
    "mrr@10",
    "keyword_coverage",
    "citation_precision",
    "citation_recall",
    "faithfulness",
    "cited_evidence_precision",
    "sentence_evidence_rate",
    "fragment_rate",
    "followup_accuracy",
    "refusal_accuracy",
    "false_refusal_rate",
)
LOWER_IS_BETTER = frozenset({"false_refusal_rate", "fragment_rate"})

RunRecord = dict[str, Any]
Metrics = dict[str, Any]


@dataclass
class _Tally:
    ranks: list[int | None] = field(default_factory=list)
    answer_ks: list[int] = field(default_factory=list)
    coverage: list[float] = field(default_factory=list)
    false_refusals: list[bool] = field(default_factory=list)
    correct_refusals: list[bool] = field(default_factory=list)
    citation_recall: list[float] = field(default_factory=list)
    citation_precision: list[float] = field(default_factory=list)
    faithfulness: list[float] = field(default_factory=list)
    evidence_precision: list[float] = field(default_factory=list)
    sentence_evidence: list[float] = field(default_factory=list)
    fragments: int = 0
    sentences: int = 0
    followups: list[bool] = field(default_factory=list)

    def metrics(self) -> Metrics:
        """Every headline metric (None where no item defines it), then recall@1/3/5/10."""
        ranks, answered = self.ranks, bool(self.ranks)
        out: Metrics = {"items": len(self.ranks) + len(self.correct_refusals)}
        out["recall@k"] = (
            _mean(r is not None and r <= k for r, k in zip(ranks, self.answer_ks, strict=True))
            if answered
            else None
        )
        out["mrr@10"] = (
            _mean(1.0 / r if r is not None and r <= 10 else 0.0 for r in ranks) if answered else None
        )
        out["keyword_coverage"] = _mean(self.coverage) if answered else None
        out["citation_precision"] = _mean_or_none(self.citation_precision)
        out["citation_recall"] = _mean_or_none(self.citation_recall)
        out["faithfulness"] = _mean_or_none(self.faithfulness)
        out["cited_evidence_precision"] = _mean_or_none(self.evidence_precision)
        out["sentence_evidence_rate"] = _mean_or_none(self.sentence_evidence)
        out["fragment_rate"] = round(self.fragments / self.sentences, 4) if self.sentences else None
        out["followup_accuracy"] = _mean_or_none(self.followups)
        out["refusal_accuracy"] = _mean_or_none(self.correct_refusals)
        out["false_refusal_rate"] = _mean(self.false_refusals) if answered else None
        for k in K_VALUES:
            out[f"recall@{k}"] = _mean(r is not None and r <= k for r in ranks) if answered else None
        return out

    def add(
        self, item: EvalItem, detail: Mapping[str, Any], record: Mapping[str, Any], answer_k: int
    ) -> None:
        refused = bool(detail["refused"])
        if item.answerable:
            self.ranks.append(detail["rank"])
            self.answer_ks.append(answer_k)
            self.coverage.append(detail["keyword_coverage"])
            self.false_refusals.append(refused)
        else:
            self.correct_refusals.append(refused and not record["citations"])
        if "citation_recall" in detail:
            self.citation_recall.append(detail["citation_recall"])
            self.citation_precision.append(detail["citation_precision"])
            self.faithfulness.append(detail["faithfulness"])
        if "cited_evidence_precision" in detail:
            self.evidence_precision.append(detail["cited_evidence_precision"])
            self.sentence_evidence.append(detail["sentence_evidence_rate"])
        if "sentence_count" in detail:
            self.fragments += len(detail["fragments"])
            self.sentences += detail["sentence_count"]
        if "followup_correct" in detail:
            self.followups.append(detail["followup_correct"])


def _mean(values: Iterable[float | bool]) -> float:
    values = [float(v) for v in values]
    return round(sum(values) / len(values), 4) if values else 0.0


def _mean_or_none(values: Sequence[float | bool]) -> float | None:
    return _mean(values) if values else None


def cited_texts(record: Mapping[str, Any]) -> dict[int, str]:
    """Citation number → passage text: ``[n]`` is the answer's ``n``-th passage
    (``answer_passages``); the ``citations`` fill in for records written without them."""
    texts = {n: str(p["text"]) for n, p in enumerate(record.get("answer_passages") or [], start=1)}
    for citation in record.get("citations") or []:
        if "n" in citation and "text" in citation:
            texts.setdefault(int(citation["n"]), str(citation["text"]))
    return texts


def answer_context(record: Mapping[str, Any], answer_k: int) -> list[str]:
    """The passages the answerer had: ``answer_passages``, else the first ``k`` retrieved."""
    passages = record.get("answer_passages") or record["passages"][:answer_k]
    return [str(p["text"]) for p in passages]


def score_item(
    item: EvalItem, record: Mapping[str, Any], judge: SupportJudge | None, answer_k: int
) -> dict[str, Any]:
    """The per-item details of ``report.json``: rank, scores, and what went wrong."""
    refused = bool(record["refused"])
    answer = str(record["answer"])
    detail: dict[str, Any] = {
        "id": item.id,
        "type": item.type,
        "answerable": item.answerable,
        "refused": refused,
    }
    if item.history:
        detail["history_turns"] = len(item.history)
    texts = cited_texts(record)
    if item.answerable:
        detail["rank"] = first_relevant_rank(item, record["passages"])
        detail["keyword_coverage"] = round(keyword_coverage(item, answer), 4)
        evidence = evidence_scores(item, answer, texts) if not refused else None
        if evidence is not None:
            detail.update(
                cited_evidence_precision=round(evidence.precision, 4),
                sentence_evidence_rate=round(evidence.sentence_rate, 4),
                cited_without_evidence=evidence.without_evidence,
                sentences_without_evidence=evidence.sentences_without,
            )
        if item.history:
            detail["followup_correct"] = evidence is not None and evidence.cites_evidence
    if not refused:
        found, count = fragments(answer)
        detail.update(fragments=found, sentence_count=count)
    if judge is not None and not refused:
        citations = citation_scores(answer, texts, judge)
        faithful, unsupported = faithfulness(answer, answer_context(record, answer_k), judge)
        detail.update(
            citation_recall=round(citations.recall, 4),
            citation_precision=round(citations.precision, 4),
            faithfulness=round(faithful, 4),
            sentences=citations.sentences,
            unsupported_claims=unsupported,
        )
    return detail


def score_run(
    items: Sequence[EvalItem],
    run: Sequence[RunRecord],
    judge: SupportJudge | None = None,
    doc_names: Mapping[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Metrics:
    """All metrics, overall, by question type and by briefing, from the run records and the set.

    Without a ``judge`` the support-based metrics (citations, faithfulness) are left out
    (None). ``doc_names`` maps an item's ``source`` (the original file name) to the briefing's
    name in ``data/``; unmapped sources are reported under their own name. ``trivial`` lists
    the measures that cannot fail for the run's answerer (``TRIVIAL_FOR``).
    """
    doc_names = doc_names or {}
    by_id = {record["id"]: record for record in run}
    missing = [item.id for item in items if item.id not in by_id]
    if missing:
        raise EvalSetError(f"运行结果缺少条目：{', '.join(missing[:5])}")
    overall = _Tally()
    by_type: defaultdict[str, _Tally] = defaultdict(_Tally)
    by_doc: defaultdict[str, _Tally] = defaultdict(_Tally)
    per_item: list[dict[str, Any]] = []
    for item in items:
        record = by_id[item.id]
        answer_k = int(record.get("k", len(record["passages"])))
        detail = score_item(item, record, judge, answer_k)
        doc = doc_names.get(item.source or "", item.source or "（无来源）")
        for tally in (overall, by_type[item.type], by_doc[doc]):
            tally.add(item, detail, record, answer_k)
        per_item.append(detail)
        if progress:
            progress(len(per_item), len(items))
    answerers = sorted({str(by_id[item.id].get("answerer") or "") for item in items} - {""})
    return {
        "overall": overall.metrics(),
        "by_type": {t: by_type[t].metrics() for t in sorted(by_type)},
        "by_doc": {d: by_doc[d].metrics() for d in sorted(by_doc)},
        "answerers": answerers,
        "trivial": trivial_measures(answerers),
        "items": per_item,
    }


def build_report(metrics: Metrics, config: Mapping[str, Any]) -> dict[str, Any]:
    """The content of ``report.json``: the overall metrics at the top level, then the measures
    trivially 1 for the run's answerers (``trivial``, ``answerers``), ``by_type``, ``by_doc``,
    ``config`` and the per-item details."""
    return {
        **metrics["overall"],
        "trivial": list(metrics.get("trivial", [])),
        "answerers": list(metrics.get("answerers", [])),
        "by_type": metrics["by_type"],
        "by_doc": metrics["by_doc"],
        "config": dict(config),
        "items": metrics["items"],
    }
