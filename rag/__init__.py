"""briefing-rag: offline question answering over Chinese policy briefings, with citations."""

from __future__ import annotations

from rag.config import Settings, load_settings
from rag.errors import RagError
from rag.pipeline import Pipeline
from rag.types import Answer, Chunk, Citation, Document, Hit

__all__ = ["Answer", "Chunk", "Citation", "Document", "Hit", "Pipeline", "RagError", "Settings", "load_settings"]
