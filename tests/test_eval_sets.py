from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.corpus import REPO
from tests.fixtures.eval import write_eval_set

CHECKER = REPO / "eval" / "check_set.py"
REGULATIONS = REPO / "eval" / "corpora" / "regulations.py"
# Sets whose briefings are not the bundled data/: built by a script into a fresh home.
GENERATED = {path.name: REGULATIONS for path in (REPO / "eval" / "sets").glob("regulations-*.jsonl")}


def _check(path: Path, data: Path = REPO / "data") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECKER), str(path), "--data", str(data)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )


@pytest.fixture(scope="module")
def generated_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The data/ of a home built by each corpus script, by set name."""
    homes: dict[Path, Path] = {}  # one home per script, shared by its sets
    for script in set(GENERATED.values()):
        if not script.is_file():
            continue
        home = tmp_path_factory.mktemp(script.stem)
        result = subprocess.run(
            [sys.executable, str(script), str(home)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        homes[script] = home / "data"
    return {name: homes[script] for name, script in GENERATED.items() if script in homes}


@pytest.mark.parametrize("path", sorted((REPO / "eval" / "sets").glob("*.jsonl")), ids=lambda p: p.name)
def test_our_eval_sets_pass_the_mechanical_check(path: Path, generated_data: dict[str, Path]) -> None:
    if path.name in GENERATED and path.name not in generated_data:
        pytest.skip(f"{GENERATED[path.name].name} is missing")
    result = _check(path, generated_data.get(path.name, REPO / "data"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_checker_reports_a_span_missing_from_its_briefing(tmp_path: Path) -> None:
    items = [
        {
            "id": "x1",
            "question": "问题",
            "answerable": True,
            "evidence_any": ["简报里没有这句话"],
            "answer_keywords": ["卓粤"],
            "source": "000_6339d00eea488fd2.txt",
            "type": "fact",
        },
        {
            "id": "x2",
            "question": "问题",
            "answerable": False,
            "evidence_any": ["不应有证据"],
            "answer_keywords": [],
            "source": None,
            "type": "unanswerable",
        },
    ]
    result = _check(write_eval_set(tmp_path / "bad.jsonl", items))
    assert result.returncode == 1
    assert "x1" in result.stdout and "x2" in result.stdout


def test_checker_knows_the_new_types_and_checks_history(tmp_path: Path) -> None:
    history = [
        {"role": "user", "content": "长春高新区的各类孵化载体发展到了多少个？"},
        {"role": "assistant", "content": "长春高新区各类孵化载体已发展到144个[1]。"},
    ]
    refused = {"answerable": False, "evidence_any": [], "answer_keywords": [], "source": None}
    good = [
        {"id": "g1", "question": "嗨，在吗？", "type": "offtopic", **refused},
        {"id": "g2", "question": "那火星呢？", "type": "followup_unresolved", "history": history, **refused},
        {"id": "g3", "question": "中关村的卓粤计划是什么？", "type": "nearmiss", **refused},
    ]
    result = _check(write_eval_set(tmp_path / "bad.jsonl", good))
    assert result.returncode == 0, result.stdout
    assert "带对话历史（history）: 1 条" in result.stdout
    bad = [
        {"id": "b1", "question": "那火星呢？", "type": "followup_unresolved", **refused},  # no history
        {
            "id": "b2",
            "question": "那火星呢？",
            "type": "followup_unresolved",
            **refused,
            "history": [{"role": "system", "content": "你是助手"}],
        },
        {"id": "b3", "question": "嗨", "type": "offtopic", **refused, "answerable": True},
        {"id": "b4", "question": "嗨", "type": "chitchat", **refused},
        {"id": "b5", "question": "那呢", "type": "followup_unresolved", **refused, "history": "上一轮"},
    ]
    result = _check(write_eval_set(tmp_path / "bad.jsonl", bad))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("b1: ") and "history" in line for line in lines)
    assert any(line.startswith("b2: ") and "role 须为 user 或 assistant" in line for line in lines)
    assert any(line.startswith("b3: ") and "answerable 应为 false" in line for line in lines)
    assert any(line.startswith("b4: ") and "未知 type 'chitchat'" in line for line in lines)
    assert any(line.startswith("b5: ") and "history 须为列表" in line for line in lines)


def test_a_set_about_a_document_the_user_added_checks_by_file_name_or_title(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "合肥量子信息.md").write_text(
        "# 合肥量子信息产业简报\n\n合肥高新区集聚量子信息企业60余家，居全国第一。\n", encoding="utf-8"
    )
    item = {
        "question": "合肥高新区有多少家量子信息企业？",
        "answerable": True,
        "evidence_any": ["合肥高新区集聚量子信息企业60余家"],
        "answer_keywords": ["60余家"],
        "type": "number",
    }
    items = [
        {**item, "id": "h1", "source": "合肥量子信息.md"},
        {**item, "id": "h2", "source": "合肥量子信息产业简报"},
    ]
    result = _check(write_eval_set(tmp_path / "mine.jsonl", items), data)
    assert result.returncode == 0, result.stdout
    wrong = _check(
        write_eval_set(tmp_path / "wrong.jsonl", [{**item, "id": "h3", "source": "别的简报.md"}]), data
    )
    assert wrong.returncode == 1 and "不是 data/ 中任何简报的文件名或标题" in wrong.stdout
