"""Evaluation: run a question set through the pipeline, then score the run.

Set format: ``../shared/eval/README.md`` (one JSON object per line with ``id``, ``question``,
``answerable``, ``evidence_any``, ``answer_keywords``, ``source``, ``type``).

A passage is *relevant* when its normalised text (no whitespace, no quote marks) contains
any normalised evidence span. Metrics:
- ``recall@k``: share of answerable items with a relevant passage among the ``k`` passages the
  answerer was given (also ``recall@1/3/5/10``);
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
- ``faithfulness`` (RAGAS): share of the answer's claims supported by the passages the answerer
  was given, averaged over the answers that were not refusals;
- ``refusal_accuracy``: share of unanswerable items refused with no citation;
- ``false_refusal_rate``: share of answerable items refused.
Support is decided by a judge (``rag.judges``: offline by default, an LLM on request); scores
from different judges are not comparable. Scoring reads only the run records, the set and the
judge, so a run can be rescored without running the pipeline again.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.citations import cited_numbers, strip_markers
from rag.errors import EvalSetError
from rag.judges import SupportJudge, answer_sentences
from rag.text import normalize_for_match

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

K_VALUES = (1, 3, 5, 10)
RUN_PASSAGES = 10
MAX_CITATIONS_PER_SENTENCE = 3  # as ALCE
HEADLINE = (
    "recall@k", "mrr@10", "keyword_coverage", "citation_precision", "citation_recall",
    "faithfulness", "refusal_accuracy", "false_refusal_rate",
)
_MARKER = re.compile(r"\[\^?\d+(?:[,，]\s*\d+)*\]|【\d+】")

RunRecord = dict[str, Any]
Metrics = dict[str, Any]


class EvalItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    question: str = Field(min_length=1)
    answerable: bool
    evidence_any: list[str] = []
    answer_keywords: list[str] = []
    source: str | None = None
    type: str = "unknown"


def load_eval_set(path: Path) -> list[EvalItem]:
    """Read a JSONL set; a malformed line is an error naming its line number."""
    if not path.is_file():
        raise EvalSetError(f"找不到评测集：{path}")
    items: list[EvalItem] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if isinstance(data, dict) and isinstance(data.get("id"), int):
                data["id"] = str(data["id"])
            item = EvalItem.model_validate(data)
        except (json.JSONDecodeError, ValidationError) as e:
            raise EvalSetError(f"{path.name} 第 {number} 行格式错误：{e}") from e
        if item.id in seen:
            raise EvalSetError(f"{path.name} 第 {number} 行：id {item.id!r} 重复")
        if item.answerable and not item.evidence_any:
            raise EvalSetError(f"{path.name} 第 {number} 行：可回答的条目需要 evidence_any")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise EvalSetError(f"评测集为空：{path}")
    return items


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

    def metrics(self) -> Metrics:
        """Every headline metric (None where no item defines it), then recall@1/3/5/10."""
        ranks, answered = self.ranks, bool(self.ranks)
        out: Metrics = {"items": len(self.ranks) + len(self.correct_refusals)}
        out["recall@k"] = _mean(r is not None and r <= k for r, k in zip(ranks, self.answer_ks, strict=True)) if answered else None
        out["mrr@10"] = _mean(1.0 / r if r is not None and r <= 10 else 0.0 for r in ranks) if answered else None
        out["keyword_coverage"] = _mean(self.coverage) if answered else None
        out["citation_precision"] = _mean(self.citation_precision) if self.citation_precision else None
        out["citation_recall"] = _mean(self.citation_recall) if self.citation_recall else None
        out["faithfulness"] = _mean(self.faithfulness) if self.faithfulness else None
        out["refusal_accuracy"] = _mean(self.correct_refusals) if self.correct_refusals else None
        out["false_refusal_rate"] = _mean(self.false_refusals) if answered else None
        for k in K_VALUES:
            out[f"recall@{k}"] = _mean(r is not None and r <= k for r in ranks) if answered else None
        return out


def _mean(values: Iterable[float | bool]) -> float:
    values = [float(v) for v in values]
    return round(sum(values) / len(values), 4) if values else 0.0


def first_relevant_rank(item: EvalItem, passages: Sequence[Mapping[str, Any]]) -> int | None:
    spans = [normalize_for_match(span) for span in item.evidence_any if span.strip()]
    for passage in passages:
        text = normalize_for_match(str(passage["text"]))
        if any(span in text for span in spans):
            return int(passage["rank"])
    return None


def missing_keywords(item: EvalItem, answer: str) -> list[str]:
    """The item's answer keywords absent from the normalised answer (``[n]`` markers removed)."""
    text = normalize_for_match(_MARKER.sub("", answer))
    return [k for k in item.answer_keywords if normalize_for_match(k) not in text]


def keyword_coverage(item: EvalItem, answer: str) -> float:
    if not item.answer_keywords:
        return 1.0
    return 1 - len(missing_keywords(item, answer)) / len(item.answer_keywords)


@dataclass(frozen=True)
class CitationScore:
    recall: float
    precision: float
    sentences: list[dict[str, Any]]


def citation_scores(answer: str, cited_texts: Mapping[int, str], judge: SupportJudge) -> CitationScore:
    """ALCE citation recall and precision of one answer (see the module docstring)."""
    sentences = []
    recalls: list[float] = []
    correct = total = 0
    for sentence in answer_sentences(answer):
        claim = strip_markers(sentence).strip()
        cited = [n for n in cited_numbers(sentence) if n in cited_texts][:MAX_CITATIONS_PER_SENTENCE]
        supported = bool(cited) and judge.supports(claim, [cited_texts[n] for n in cited])
        irrelevant = []
        if supported and len(cited) > 1:
            for n in cited:
                others = [cited_texts[m] for m in cited if m != n]
                if not judge.supports(claim, [cited_texts[n]]) and judge.supports(claim, others):
                    irrelevant.append(n)
        recalls.append(1.0 if supported else 0.0)
        total += len(cited)
        correct += len(cited) - len(irrelevant) if supported else 0
        sentences.append({"sentence": claim, "cited": cited, "supported": supported, "irrelevant": irrelevant})
    recall = sum(recalls) / len(recalls) if recalls else 1.0
    return CitationScore(recall, correct / total if total else 0.0, sentences)


def faithfulness(answer: str, context: Sequence[str], judge: SupportJudge) -> tuple[float, list[str]]:
    """Share of the answer's claims that ``context`` supports, and the unsupported claims."""
    claims = judge.claims(answer)
    if not claims:
        return 1.0, []
    unsupported = [claim for claim in claims if not judge.supports(claim, list(context))]
    return 1 - len(unsupported) / len(claims), unsupported


def score_run(
    items: Sequence[EvalItem],
    run: Sequence[RunRecord],
    judge: SupportJudge | None = None,
    doc_names: Mapping[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Metrics:
    """All metrics, overall, by question type and by briefing, from the run records and the set.

    Without a ``judge`` the citation and faithfulness metrics are left out (None). ``doc_names``
    maps an item's ``source`` (the original file name) to the briefing's name in ``data/``;
    unmapped sources are reported under their own name.
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
        refused = bool(record["refused"])
        answer_k = int(record.get("k", len(record["passages"])))
        detail: dict[str, Any] = {"id": item.id, "type": item.type, "answerable": item.answerable, "refused": refused}
        if item.answerable:
            detail["rank"] = first_relevant_rank(item, record["passages"])
            detail["keyword_coverage"] = round(keyword_coverage(item, record["answer"]), 4)
        if judge is not None and not refused:
            cited_texts = {int(c["n"]): str(c["text"]) for c in record["citations"]}
            citations = citation_scores(record["answer"], cited_texts, judge)
            context = [str(p["text"]) for p in record["passages"][:answer_k]]
            faithful, unsupported = faithfulness(record["answer"], context, judge)
            detail.update(
                citation_recall=round(citations.recall, 4),
                citation_precision=round(citations.precision, 4),
                faithfulness=round(faithful, 4),
                sentences=citations.sentences,
                unsupported_claims=unsupported,
            )
        doc = doc_names.get(item.source or "", item.source or "（无来源）")
        for tally in (overall, by_type[item.type], by_doc[doc]):
            if item.answerable:
                tally.ranks.append(detail["rank"])
                tally.answer_ks.append(answer_k)
                tally.coverage.append(detail["keyword_coverage"])
                tally.false_refusals.append(refused)
            else:
                tally.correct_refusals.append(refused and not record["citations"])
            if "citation_recall" in detail:
                tally.citation_recall.append(detail["citation_recall"])
                tally.citation_precision.append(detail["citation_precision"])
                tally.faithfulness.append(detail["faithfulness"])
        per_item.append(detail)
        if progress:
            progress(len(per_item), len(items))
    return {
        "overall": overall.metrics(),
        "by_type": {t: by_type[t].metrics() for t in sorted(by_type)},
        "by_doc": {d: by_doc[d].metrics() for d in sorted(by_doc)},
        "items": per_item,
    }


def run_eval(
    ask: Callable[[str], tuple[list[dict[str, Any]], dict[str, Any]]],
    items: Sequence[EvalItem],
    k: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[RunRecord]:
    """Run records for every item: the top passages (the first ``k`` went to the answerer), the
    answer with its citations, whether and why it was refused.

    ``ask(question)`` returns the top passages and the answer record, as the pipeline gives them.
    """
    run = []
    for number, item in enumerate(items, start=1):
        passages, answer = ask(item.question)
        run.append(
            {
                "id": item.id,
                "question": item.question,
                "k": k,
                "passages": passages,
                "answer": answer["answer"],
                "citations": answer["citations"],
                "refused": answer["refused"],
                "refusal_reason": answer["refusal_reason"],
                "notices": answer["notices"],
                "answerer": answer["answerer"],
            }
        )
        if progress:
            progress(number, len(items))
    return run


def ask_pipeline(
    pipeline: Pipeline, k: int, answerer: str | None = None
) -> Callable[[str], tuple[list[dict[str, Any]], dict[str, Any]]]:
    """The ``ask`` of ``run_eval`` for a pipeline: the top ``max(10, k)`` passages are kept in the
    run, the first ``k`` go to the answerer (the configured one, or the one ``answerer`` names)."""
    from rag.render import answer_record

    chosen = pipeline.answerer_for(answerer)

    def ask(question: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        hits = pipeline.search(question, max(RUN_PASSAGES, k))
        return [hit.record() for hit in hits], answer_record(chosen.answer(question, hits[:k]))

    return ask


def run_config(pipeline: Pipeline, eval_set: Path, k: int, answerer: str, judge: SupportJudge) -> dict[str, Any]:
    """The configuration fingerprint every report carries."""
    manifest = {key: value for key, value in pipeline.index.manifest.items() if key != "created_at"}
    settings = pipeline.settings
    return {
        "eval_set": str(eval_set),
        "eval_set_sha256": hashlib.sha256(eval_set.read_bytes()).hexdigest()[:12],
        "embedder": settings.embedder,
        "answerer": answerer,
        "judge": judge.name,
        "judge_rule": judge.rule,
        "k": k,
        "index_manifest_hash": hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:12],
        "index_created_at": pipeline.index.manifest.get("created_at"),
        "git_commit": git_commit(settings.home),
        "created_at": datetime.now().isoformat(timespec="seconds"),
        "answer": settings.answer.model_dump(),
        "retrieval": settings.retrieval.model_dump(),
        "chunking": settings.chunking.model_dump(),
    }


def git_commit(path: Path) -> str:
    """The short commit of the checkout at ``path`` (``+dirty`` with uncommitted changes)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=path, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = head.stdout.strip()
    if not commit:
        return "unknown"
    return commit + ("+dirty" if dirty.stdout.strip() else "")


def write_run(path: Path, run: Sequence[RunRecord]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for record in run:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_run(path: Path) -> list[RunRecord]:
    """The records of a ``run.jsonl``; a malformed line is an error naming its line number."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise EvalSetError(f"{path} 第 {number} 行不是有效的 JSON：{e}") from e
    return records


def build_report(metrics: Metrics, config: Mapping[str, Any]) -> dict[str, Any]:
    """The content of ``report.json``: the overall metrics at the top level, then ``by_type``,
    ``by_doc``, ``config`` and the per-item details."""
    return {
        **metrics["overall"],
        "by_type": metrics["by_type"],
        "by_doc": metrics["by_doc"],
        "config": dict(config),
        "items": metrics["items"],
    }
