"""The default configuration must not fall below the figures pinned in eval/baselines.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from rag.config import Settings
from rag.eval_run import evaluate_set
from rag.evaluate import HEADLINE, LOWER_IS_BETTER
from rag.pipeline import Pipeline
from tests.fixtures.corpus import REPO

BASELINES = tomllib.loads((REPO / "eval" / "baselines.toml").read_text(encoding="utf-8"))
# Defined only on sets with answerable follow-ups (items with a history); dev and briefings-v1 have none.
FOLLOW_UP_ONLY = {"followup_accuracy"}


def test_baselines_pin_every_headline_metric_of_the_dev_set() -> None:
    dev = BASELINES["sets"]["dev"]
    assert Path(dev["path"]) == Path("eval/sets/dev.jsonl")
    assert set(dev["min"]) | set(dev["max"]) == set(HEADLINE) - FOLLOW_UP_ONLY
    assert set(dev["max"]) == LOWER_IS_BETTER


@pytest.mark.parametrize("name", sorted(BASELINES["sets"]))
def test_default_configuration_holds_its_baseline(bundled_index: Settings, name: str) -> None:
    pinned: dict[str, Any] = BASELINES["sets"][name]
    metrics = evaluate_set(Pipeline.from_settings(bundled_index), REPO / pinned["path"]).report
    drops = [
        f"{key} {metrics[key]} < {floor}" for key, floor in pinned["min"].items() if metrics[key] < floor
    ]
    drops += [
        f"{key} {metrics[key]} > {ceiling}"
        for key, ceiling in pinned["max"].items()
        if metrics[key] > ceiling
    ]
    assert not drops, f"{name}: " + "; ".join(drops)
