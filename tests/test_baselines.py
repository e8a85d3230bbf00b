"""The default configuration must not fall below the figures pinned in eval/baselines.toml by
more than one item's worth (see the file's header for why)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from rag.config import Settings
from rag.eval_run import evaluate_set
from rag.eval_set import EvalItem
from rag.evaluate import HEADLINE, LOWER_IS_BETTER, TRIVIAL_FOR, load_eval_set
from rag.pipeline import Pipeline
from tests.fixtures.corpus import REPO

BASELINES = tomllib.loads((REPO / "eval" / "baselines.toml").read_text(encoding="utf-8"))
# Defined only on sets with answerable follow-ups (items with a history).
FOLLOW_UP_ONLY = {"followup_accuracy"}
NO_TOLERANCE = {"fragment_rate"}  # a fragment in an answer is always a regression
EPSILON = 1e-9  # floating-point slack, not a tolerance


def one_item(metric: str, items: list[EvalItem]) -> float:
    """The change one item's outcome makes to ``metric``: 1 / the items it averages over."""
    if metric in NO_TOLERANCE:
        return 0.0
    if metric == "refusal_accuracy":
        counted = [i for i in items if not i.answerable]
    elif metric == "followup_accuracy":
        counted = [i for i in items if i.answerable and i.history]
    else:
        counted = [i for i in items if i.answerable]
    return 1 / max(len(counted), 1)


def regressions(pinned: dict[str, Any], metrics: dict[str, Any], items: list[EvalItem]) -> list[str]:
    found = [
        f"{key} {metrics[key]} < {floor} − {one_item(key, items):.3f}"
        for key, floor in pinned["min"].items()
        if metrics[key] < floor - one_item(key, items) - EPSILON
    ]
    found += [
        f"{key} {metrics[key]} > {ceiling} + {one_item(key, items):.3f}"
        for key, ceiling in pinned["max"].items()
        if metrics[key] > ceiling + one_item(key, items) + EPSILON
    ]
    return found


def test_baselines_pin_every_headline_metric_that_can_fail() -> None:
    trivial = set(TRIVIAL_FOR["extractive"])
    for name, pinned in BASELINES["sets"].items():
        items = load_eval_set(REPO / pinned["path"])
        expected = set(HEADLINE) - trivial - (set() if any(i.history for i in items) else FOLLOW_UP_ONLY)
        assert set(pinned["min"]) | set(pinned["max"]) == expected, name
        assert set(pinned["max"]) == LOWER_IS_BETTER, name
    assert Path(BASELINES["sets"]["dev"]["path"]) == Path("eval/sets/dev.jsonl")


def test_a_drop_of_two_items_is_a_regression_and_one_is_not() -> None:
    items = [EvalItem(id=f"q{n}", question="问题？", answerable=True, source="x") for n in range(10)]
    pinned = {"min": {"keyword_coverage": 0.8}, "max": {"fragment_rate": 0.0}}
    assert not regressions(pinned, {"keyword_coverage": 0.7, "fragment_rate": 0.0}, items)
    assert regressions(pinned, {"keyword_coverage": 0.6, "fragment_rate": 0.0}, items)
    assert regressions(pinned, {"keyword_coverage": 0.8, "fragment_rate": 0.01}, items)


@pytest.mark.parametrize("name", sorted(BASELINES["sets"]))
def test_default_configuration_holds_its_baseline(bundled_index: Settings, name: str) -> None:
    pinned: dict[str, Any] = BASELINES["sets"][name]
    evaluation = evaluate_set(Pipeline.from_settings(bundled_index), REPO / pinned["path"])
    drops = regressions(pinned, evaluation.report, evaluation.items)
    assert not drops, f"{name}: " + "; ".join(drops)
