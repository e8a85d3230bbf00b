from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.corpus import REPO

CHECKER = REPO / "eval" / "check_set.py"


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECKER), str(path), "--data", str(REPO / "data")],
        capture_output=True, text=True, cwd=REPO, check=False,
    )


@pytest.mark.parametrize("path", sorted((REPO / "eval" / "sets").glob("*.jsonl")), ids=lambda p: p.name)
def test_our_eval_sets_pass_the_mechanical_check(path: Path) -> None:
    result = _check(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_checker_reports_a_span_missing_from_its_briefing(tmp_path: Path) -> None:
    items = [
        {"id": "x1", "question": "问题", "answerable": True, "evidence_any": ["简报里没有这句话"],
         "answer_keywords": ["卓粤"], "source": "000_6339d00eea488fd2.txt", "type": "fact"},
        {"id": "x2", "question": "问题", "answerable": False, "evidence_any": ["不应有证据"],
         "answer_keywords": [], "source": None, "type": "unanswerable"},
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n", encoding="utf-8")
    result = _check(path)
    assert result.returncode == 1
    assert "x1" in result.stdout and "x2" in result.stdout
