"""briefing-rag: offline question answering over Chinese policy briefings, with citations.

The names below are imported on first use, so ``import rag.ingest`` (a PDF worker process,
say) does not load FAISS, the embedder and the answerers with the pipeline.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

# jieba imports pkg_resources (rag.lexicon keeps it from doing so, but a user's script may import
# jieba first), which setuptools < 81 (what Milvus Lite needs) marks deprecated: a warning the
# user can do nothing about.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

if TYPE_CHECKING:
    from rag.config import Settings, load_settings
    from rag.errors import RagError
    from rag.pipeline import Pipeline
    from rag.types import Answer, Chunk, Citation, Document, Hit

_HOMES = {
    "Settings": "rag.config",
    "load_settings": "rag.config",
    "RagError": "rag.errors",
    "Pipeline": "rag.pipeline",
    "Answer": "rag.types",
    "Chunk": "rag.types",
    "Citation": "rag.types",
    "Document": "rag.types",
    "Hit": "rag.types",
}
__all__ = [
    "Answer",
    "Chunk",
    "Citation",
    "Document",
    "Hit",
    "Pipeline",
    "RagError",
    "Settings",
    "load_settings",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
