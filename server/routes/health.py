from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from rag.answerers import available_answerers
from rag.backends import open_store
from rag.config import request_limits
from rag.readers import FORMATS
from server.deps import ServiceDep
from server.schemas import Health

router = APIRouter(tags=["状态"])


@router.get("/api/health", response_model=Health, summary="服务状态")
def health(service: ServiceDep) -> dict[str, Any]:
    """服务是否就绪、当前索引（名称、所在后端与版本、简报数、分块数）、嵌入模型、默认回答器，以及重建任务的进度。"""
    pipeline = service.pipeline
    index = pipeline.index
    return {
        "status": "ok",
        "ready": True,
        "index": pipeline.settings.index_name,
        "backend": open_store(pipeline.settings).describe(),
        "index_version": index.version,
        "documents": len(index.documents),
        "chunks": len(index.chunks),
        "embedder": index.embedder,
        "answerer": pipeline.answerer.name,
        "answerers": available_answerers(pipeline.settings),
        "formats": {fmt.label: list(fmt.suffixes) for fmt in FORMATS},
        "limits": request_limits(),
        "index_created_at": index.manifest.get("created_at"),
        "rebuild": service.job.record(),
    }
