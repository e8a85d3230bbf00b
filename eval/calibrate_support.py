"""Choose the citation support threshold (``answer.min_support``) on an eval set.

Usage: python eval/calibrate_support.py eval/sets/briefings-v1.jsonl [--home .]

For every answerable item the question is retrieved (top 5) and three kinds of claim are
scored with ``rag.citations.SupportChecker`` against a passage:

* supported, verbatim: an evidence span against the first passage that contains it;
* supported, reworded: the same span with every third character dropped and its clauses in
  reverse order, standing in for an LLM's paraphrase (an honest lower bound on overlap);
* unsupported: the span against the best-ranked retrieved passage that does not contain it
  (same topic, often the same briefing: the hard case).

It prints, for thresholds 0.30…0.70, the share of supported claims that pass and of
unsupported claims that wrongly pass. The README records the figures and the choice.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from rag.citations import SupportChecker
from rag.config import load_settings
from rag.evaluate import load_eval_set
from rag.pipeline import Pipeline
from rag.text import normalize_for_match


def reword(span: str) -> str:
    clauses = [c for c in re.split(r"[，,；;]", span) if c]
    flipped = "，".join(reversed(clauses))
    return "".join(ch for i, ch in enumerate(flipped) if i % 3 != 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eval_set", type=Path)
    parser.add_argument("--home", type=Path, default=Path("."))
    args = parser.parse_args()

    pipeline = Pipeline.from_settings(load_settings(home=args.home), build_missing=True)
    checker = SupportChecker(pipeline.embedder, 0.5)
    scores: dict[str, list[float]] = {"verbatim": [], "reworded": [], "unsupported": []}
    for item in load_eval_set(args.eval_set):
        if not item.answerable or not item.evidence_any:
            continue
        span = item.evidence_any[0]
        needle = normalize_for_match(span)
        hits = pipeline.search(item.question, 5)
        relevant = [h for h in hits if needle in normalize_for_match(h.chunk.text)]
        other = [h for h in hits if needle not in normalize_for_match(h.chunk.text)]
        if relevant and len(span) >= 8:
            scores["verbatim"].append(checker.support(span, relevant[0].chunk.text))
            scores["reworded"].append(checker.support(reword(span), relevant[0].chunk.text))
        if other and len(span) >= 8:
            scores["unsupported"].append(checker.support(span, other[0].chunk.text))

    print(f"claims: {', '.join(f'{kind} {len(values)}' for kind, values in scores.items())}")
    print("threshold  verbatim pass  reworded pass  unsupported pass")
    for threshold in (0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70):
        shares = [sum(s >= threshold for s in values) / max(len(values), 1) for values in scores.values()]
        print(f"{threshold:9.2f}  {shares[0]:13.3f}  {shares[1]:13.3f}  {shares[2]:16.3f}")


if __name__ == "__main__":
    main()
