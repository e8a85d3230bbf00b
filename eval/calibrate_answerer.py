"""Fit the extractive answerer's relevance model and choose its refusal threshold.

    python eval/calibrate_answerer.py --train eval/sets/dev.jsonl eval/sets/briefings-v1.jsonl \\
        --heldout eval/sets/adversarial-v1.jsonl --heldout /tmp/regs:eval/sets/regulations-v1.jsonl

A set is ``[HOME:]SET.jsonl`` (HOME: a project directory with ``data/`` and its index; the
current one by default). For every item the question (rewritten with its ``history``) is
retrieved as the pipeline does and each passage sentence gets the signals of
``rag.answerers.relevance``. A sentence is positive when it holds an evidence span of an
answerable item (or lies inside one); every sentence of an unanswerable item is negative.
The logistic model is fitted on the training sets' sentences that pass the answerer's checks,
one model for Chinese questions and one for questions without Chinese characters.

Then, item by item, the answer is “the most probable eligible sentence, if at or above the
threshold”. For each threshold the script prints, on the training and the held-out sets
separately: answered (share of answerable items answered), precision (answered items whose
sentence holds evidence), refusal accuracy (unanswerable items refused) and false refusals.
The answerer also refuses when a whole sentence that fails the question's checks (another
place, year or figure) is more than 1/dominance times likelier than the best that passes
(``RelevanceModel.dominance``). The threshold and dominance chosen maximise on the training sets the balanced accuracy
``(answered from an evidence passage + refusal accuracy) / 2``: the dominance is the middle of
the tied best choices, the threshold the most cautious one that gives up at most one answerable
training item against the best (so that no single item decides it); paste the printed
weights, threshold and dominance into
``CALIBRATIONS`` in rag/calibration.py.
"""

from __future__ import annotations

import argparse
import difflib
import json
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.answerers.extractive import ExtractiveAnswerer  # noqa: E402
from rag.answerers.relevance import fit_logistic  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.conversation import Turn  # noqa: E402
from rag.evaluate import EvalItem, load_eval_set  # noqa: E402
from rag.glossary import is_cross_lingual  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.text import normalize_for_match, to_simplified  # noqa: E402

THRESHOLDS = [round(t, 2) for t in np.arange(0.01, 0.96, 0.01)]
DOMINANCES = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


@dataclass
class ItemFeatures:
    item: EvalItem
    cross_lingual: bool
    features: np.ndarray  # one row per candidate sentence
    labels: np.ndarray  # 1 when the sentence holds evidence
    passage_labels: np.ndarray  # 1 when the sentence's passage holds evidence
    eligible: np.ndarray  # passes the answerer's checks
    complete: np.ndarray  # is a whole sentence (ineligible but complete: it fails the question's checks)


def holds_evidence(sentence: str, spans: list[str]) -> bool:
    text = to_simplified(normalize_for_match(sentence))
    for span in spans:
        span = to_simplified(normalize_for_match(span))
        if span in text or (len(text) >= 8 and text in span):
            return True
        match = difflib.SequenceMatcher(None, text, span, autojunk=False).find_longest_match()
        if match.size >= max(8, 0.6 * len(span)):
            return True
    return False


def collect(home: str | None, path: Path, k: int) -> list[ItemFeatures]:
    settings = load_settings(home=home) if home else load_settings()
    pipeline = Pipeline.from_settings(settings)
    answerer = pipeline.answerer_for("extractive")
    assert isinstance(answerer, ExtractiveAnswerer)
    out = []
    items = load_eval_set(path)
    for number, item in enumerate(items, start=1):
        print(f"\r{path.name} {number}/{len(items)}", end="", file=sys.stderr)
        history = [Turn(t.role, t.content) for t in item.history]
        rewrite = answerer.condense(item.question, history) if history else None
        query = rewrite.query if rewrite else item.question
        hits = [] if rewrite and rewrite.unresolved else pipeline.search(query, k)
        judged = answerer.judge(query, hits, pipeline.index)
        features = judged.features
        labels = np.array(
            [item.answerable and holds_evidence(c.text, item.evidence_any) for c in judged.candidates]
        )
        spans = [normalize_for_match(span) for span in item.evidence_any]
        held = [
            item.answerable and any(span in normalize_for_match(hit.chunk.text) for span in spans)
            for hit in hits
        ]
        passage_labels = np.array([held[c.passage - 1] for c in judged.candidates], dtype=float)
        eligible = judged.probability >= 0
        complete = np.array([c.complete for c in judged.candidates], dtype=bool)
        out.append(
            ItemFeatures(
                item,
                is_cross_lingual(query),
                features,
                labels.astype(float),
                passage_labels,
                eligible,
                complete,
            )
        )
    return out


def fit(items: list[ItemFeatures], cross_lingual: bool) -> tuple[float, ...]:
    chosen = [i for i in items if i.cross_lingual == cross_lingual]
    chosen = [i for i in chosen if len(i.features)]
    x = np.vstack([i.features[i.eligible] for i in chosen])
    y = np.concatenate([i.labels[i.eligible] for i in chosen])
    return fit_logistic(x, y)


def decide(
    items: list[ItemFeatures],
    weights: dict[bool, tuple[float, ...]],
    threshold: float,
    dominance: float,
    cross_lingual: bool,
) -> dict[str, float]:
    """Item-level outcomes at ``threshold`` and ``dominance`` for the questions of one kind
    (Chinese or not), decided as ``ExtractiveAnswerer.judge`` does."""
    items = [i for i in items if i.cross_lingual == cross_lingual]
    answered = correct = cited_right = refused_right = answerable = unanswerable = 0
    for i in items:
        if not len(i.features):  # nothing to answer from (or a follow-up that could not be resolved)
            answerable += i.item.answerable
            unanswerable += not i.item.answerable
            refused_right += not i.item.answerable
            continue
        w = np.asarray(weights[i.cross_lingual])
        p = 1.0 / (1.0 + np.exp(-(w[0] + i.features @ w[1:])))
        blocked = i.complete & ~i.eligible
        rival = float(p[blocked].max()) if blocked.any() else 0.0
        p = np.where(i.eligible, p, -1.0)
        best = int(np.argmax(p))
        answers = p[best] >= threshold and p[best] >= dominance * rival
        if i.item.answerable:
            answerable += 1
            answered += answers
            correct += bool(answers and i.labels[best])
            cited_right += bool(answers and i.passage_labels[best])
        else:
            unanswerable += 1
            refused_right += not answers
    return {
        "answered": answered / answerable if answerable else 0.0,
        "precision": correct / answered if answered else 0.0,
        "evidence_recall": correct / answerable if answerable else 0.0,
        "passage_precision": cited_right / answered if answered else 0.0,
        "refusal_accuracy": refused_right / unanswerable if unanswerable else 0.0,
        "false_refusals": 1 - answered / answerable if answerable else 0.0,
    }


def objective(m: dict[str, float]) -> float:
    """Balanced accuracy of the decision, where an answerable question counts as right only
    when it is answered from a passage that holds the evidence."""
    return (m["answered"] * m["passage_precision"] + m["refusal_accuracy"]) / 2


def middle(values: list[float]) -> float:
    """The middle of the values that tie for the best score: the choice with most margin on both sides."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description="拟合抽取式回答器的相关度模型并选择拒答阈值")
    parser.add_argument("--train", nargs="+", required=True, help="训练用评测集（[项目目录:]集合.jsonl）")
    parser.add_argument("--heldout", nargs="*", default=[], help="留出评测集，只用来报告")
    parser.add_argument("-k", type=int, default=5, help="交给回答器的段落数")
    parser.add_argument(
        "--cache", type=Path, help="把各评测集的信号存到此目录，再次运行时直接读取（只改拟合时用）"
    )
    args = parser.parse_args()

    def load(specs: list[str]) -> list[ItemFeatures]:
        out: list[ItemFeatures] = []
        for spec in specs:
            home, _, path = spec.rpartition(":")
            cached = args.cache / f"{Path(path).stem}.pickle" if args.cache else None
            if cached and cached.exists():
                out += pickle.loads(cached.read_bytes())
                continue
            collected = collect(home or None, Path(path), args.k)
            if cached:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_bytes(pickle.dumps(collected))
            out += collected
        return out

    train, heldout = load(args.train), load(args.heldout)
    weights = {False: fit(train, False), True: fit(train, True)}
    chosen = {}
    for cross_lingual, label in ((False, "中文问题"), (True, "英文问题")):
        # Among the (threshold, dominance) pairs that maximise the objective on the training
        # sets: the middle dominance, then the middle threshold at that dominance.
        grid = [(t, d) for d in DOMINANCES for t in THRESHOLDS]
        scores = np.array([objective(decide(train, weights, t, d, cross_lingual)) for t, d in grid])
        ties = [grid[i] for i in np.flatnonzero(scores == scores.max())]
        dominance = middle([d for _, d in ties])
        # The threshold: the most cautious one that gives up at most one answerable training item
        # against the best, so that no single item decides it (an off-topic question with a
        # near-zero probability is then refused however the training items fall).
        best = decide(
            train, weights, middle([t for t, d in ties if d == dominance]), dominance, cross_lingual
        )
        answerable = sum(i.item.answerable for i in train if i.cross_lingual == cross_lingual) or 1
        floor = objective(best) - 0.5 / answerable - 1e-9
        cautious = [
            t for t in THRESHOLDS if objective(decide(train, weights, t, dominance, cross_lingual)) >= floor
        ]
        chosen[cross_lingual] = (max(cautious), dominance)
        rows = []
        for t in THRESHOLDS:
            tr = decide(train, weights, t, dominance, cross_lingual)
            ho = decide(heldout, weights, t, dominance, cross_lingual) if heldout else {}
            rows.append((t, tr, ho))
        print(f"\n### {label}：选定阈值 {chosen[cross_lingual][0]}，支配比 {dominance}\n")
        print(
            "| 阈值 | 训练：答出 | 训练：证据精确率 | 训练：拒答准确率 | 留出：答出 | 留出：证据精确率 | 留出：拒答准确率 |"
        )
        print("|---|---|---|---|---|---|---|")
        for t, tr, ho in rows:
            if round(t * 100) % 2 and t != chosen[cross_lingual][0]:
                continue
            print(
                f"| {t:.2f} | {tr['answered']:.3f} | {tr['passage_precision']:.3f} | {tr['refusal_accuracy']:.3f} "
                f"| {ho.get('answered', 0):.3f} | {ho.get('passage_precision', 0):.3f} | {ho.get('refusal_accuracy', 0):.3f} |"
            )
    print(
        json.dumps(
            {"chinese": [weights[False], chosen[False]], "cross_lingual": [weights[True], chosen[True]]}
        )
    )


if __name__ == "__main__":
    main()
