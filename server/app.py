"""``create_app(settings)``: the FastAPI app; ``rag serve`` runs it with uvicorn (factory mode)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from rag.config import Settings, check_exposure, load_settings
from rag.pipeline import Pipeline
from server import errors
from server.routes import ask, documents, evaluation, export, health, openai, pages, search
from server.security import RequireKey, document_key
from server.service import Service

DESCRIPTION = """
离线运行的中文政策简报检索问答服务。每个回答逐句标注 `[n]`，`n` 指向 `passages[n-1]`；
`citations` 给出简报标题、章节路径、页码或行号和原文，并说明每条引用是否通过核验。

* `/api/*`：检索、问答（支持 SSE 流式）、文档管理与重建索引；
* `/v1/*`：OpenAI 兼容接口，任何 OpenAI 客户端都可直接使用，引用在响应的 `citations` 字段中。

所有错误都返回 `{"error": {"code": "...", "message": "中文说明"}}`。
"""


def create_app(settings: Settings | None = None, *, pipeline: Pipeline | None = None) -> FastAPI:
    """The app; the index, embedder and answerer are loaded once, at start-up (built if missing).
    Refuses (``ConfigError``) to serve a non-loopback ``server.host`` without an API key."""
    settings = settings or (pipeline.settings if pipeline is not None else load_settings())
    check_exposure(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if pipeline is None:
            loaded = await run_in_threadpool(Pipeline.from_settings, settings, build_missing=True)
        else:
            loaded = pipeline
        app.state.service = Service(loaded)
        yield

    app = FastAPI(
        title="briefing-rag",
        summary="中文政策简报检索问答：混合检索、逐句引用、引用核验",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        openapi_tags=[
            {"name": "状态", "description": "服务与索引状态"},
            {"name": "检索与问答", "description": "检索段落、带引用的回答"},
            {"name": "文档", "description": "简报的列表、上传、删除与重建索引"},
            {"name": "OpenAI 兼容", "description": "供 OpenAI 客户端使用的 /v1 接口"},
        ],
    )
    errors.install(app)
    if settings.server.api_key is not None:
        app.add_middleware(RequireKey, key=settings.server.api_key.get_secret_value())
        document_key(app)
    if settings.server.cors_origins:
        # Outside the key check, so a browser's preflight (which carries no key) is answered.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.server.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    for module in (health, search, ask, documents, export, evaluation, openai, pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    return app
