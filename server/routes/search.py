from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter

from server.deps import PipelineDep
from server.schemas import ErrorBody, SearchRequest, SearchResponse

router = APIRouter(tags=["检索与问答"])


@router.post(
    "/api/search",
    response_model=SearchResponse,
    summary="检索段落",
    responses={400: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def search(body: SearchRequest, pipeline: PipelineDep) -> dict[str, Any]:
    """只检索、不作答：按融合得分（0–1，越高越相关）返回段落及其章节路径与页码。
    与 /api/ask 使用同一检索，可用来核查“为什么这样回答 / 为什么拒答”。"""
    start = time.perf_counter()
    hits = pipeline.search(body.question, body.k, body.docs)
    elapsed = round((time.perf_counter() - start) * 1000, 1)
    return {
        "question": body.question,
        "passages": [hit.record() for hit in hits],
        "timings": {"retrieval_ms": elapsed},
    }
