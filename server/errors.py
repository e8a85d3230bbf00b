"""The one place where errors become HTTP responses: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

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


# What the HTTP errors raised by Starlette and FastAPI themselves mean, in Chinese. A 400 is a
# body that could not be parsed at all: bytes that are not UTF-8, JSON nested too deep, a broken
# multipart form. (JSON with a syntax error is a validation error: invalid_json.)
_HTTP_MESSAGES = {
    400: "请求体无法解析：请发送 UTF-8 编码的 JSON，上传文件请用 multipart/form-data",
    404: "没有这个接口",
    405: "不支持该请求方法",
    413: "请求体过大",
}
_CJK = re.compile("[\u4e00-\u9fff]")


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


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path. Starlette's 405 names only the
    methods of the first route matching the path, but GET and POST /api/documents (say) are
    two routes."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


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
        detail = str(exc.detail)
        if _CJK.search(detail):
            message = detail
        else:  # Starlette and FastAPI say it in English (“There was an error parsing the body”)
            message = _HTTP_MESSAGES.get(exc.status_code, f"请求无法处理（HTTP {exc.status_code}）")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return JSONResponse(error_body(f"http_{exc.status_code}", message), status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "服务内部错误，请查看服务日志"), status_code=500)
