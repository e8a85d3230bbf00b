"""The bundled briefings' index, shipped in the repository (``index/shipped/``), so that a
newcomer's first answer does not wait for the corpus to be embedded.

``seed_from_shipped`` installs it as the local index when there is none yet and it was built
by the configured embedder and chunker. The usual incremental update (``build_index``) then
brings it in line with ``data/``, as it would any previous index: a briefing whose content and
description match keeps its shipped rows, a changed or new one is embedded (with the progress
bar), one that is not in ``data/`` is dropped. So the shipped rows are only ever used for files
they were verifiably made from. ``python -m rag.shipped`` rewrites the shipped index from
``data/``; a test fails when it is stale.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from pathlib import Path

from rag.config import Settings, load_settings
from rag.embedders import Embedder, get_embedder
from rag.errors import RagError
from rag.indexing import build_index, chunker_version
from rag.store import FORMAT_VERSION, current_version, index_exists, load_index, read_manifest
from rag.store_write import install_copy, write_lock

SHIPPED = "shipped"
log = logging.getLogger(__name__)


def shipped_index(settings: Settings) -> Path:
    return settings.index_root / SHIPPED


def seed_from_shipped(settings: Settings, embedder: Embedder) -> bool:
    """Install the shipped index as the missing local index; whether it was."""
    source = shipped_index(settings)
    manifest = read_manifest(source)
    usable = (
        settings.retrieval.backend == "local"
        and settings.index_name != SHIPPED
        and manifest is not None
        and manifest.get("format_version") == FORMAT_VERSION
        and manifest.get("embedder") == embedder.spec
        and manifest.get("chunker_version") == chunker_version(settings)
    )
    if not usable:
        return False
    try:
        load_index(source, embedder.spec)  # a damaged copy (a partial clone, say) is not installed
    except RagError as e:
        log.warning("not using the shipped index: %s", e.message)
        return False
    with write_lock(settings.index_dir):
        if index_exists(settings.index_dir):
            return False
        install_copy(settings.index_dir, source)
    return True


def write_shipped(home: Path) -> Path:
    """Index ``home/data`` with the default settings and store it as ``home/index/shipped``."""
    with tempfile.TemporaryDirectory(prefix="rag-shipped-") as tmp:
        work = Path(tmp)
        shutil.copytree(home / "data", work / "data")
        settings = load_settings(home=work)
        build_index(settings, get_embedder(settings.embedder))
        built = current_version(settings.index_dir)
        assert built is not None
        target = shipped_index(load_settings(home=home))
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(built, target)
    return target


if __name__ == "__main__":
    print(f"wrote {write_shipped(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())}")  # noqa: T201
