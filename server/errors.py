"""The one place where errors become HTTP responses: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import RagError

log = logging.getLogger(__name__)

# Domain error code → HTTP status (codes of subclasses fall back to their base class's).
STATUS = {
    "bad_input": 400,
    "eval_set_error": 400,
    "unknown_backend": 400,
    "needs_key": 400,
    "missing_extra": 400,
    "unknown_document": 404,
    "document_exists": 409,
    "index_locked": 409,
    "document_error": 422,
    "too_large": 413,
    "backend_unavailable": 502,
    "backend_bad_response": 502,
    "backend_timeout": 504,
    "index_missing": 503,
    "index_corrupt": 503,
    "embedder_mismatch": 503,
}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def status_for(error: RagError) -> int:
    for cls in type(error).__mro__:
        code = getattr(cls, "code", None)
        if code in STATUS:
            return STATUS[code]
    return 500


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "invalid_json", "请求体不是合法的 JSON"
    parts = []
    for e in errors[:5]:
        where = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
        parts.append(f"{where or '请求'}：{e.get('msg', '')}")
    return 422, "invalid_request", "请求参数不合法：" + "；".join(parts)


def install(app: FastAPI) -> None:
    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc.message)
        return JSONResponse(error_body(exc.code, exc.message), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message = _validation_message(exc)
        return JSONResponse(error_body(code, message), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: "没有这个接口", 405: "不支持该请求方法"}
        message = messages.get(exc.status_code, str(exc.detail))
        return JSONResponse(error_body(f"http_{exc.status_code}", message), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "服务内部错误，请查看服务日志"), status_code=500)
