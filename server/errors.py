"""The one place where errors become HTTP responses: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from rag.errors import BusyError, RagError

log = logging.getLogger(__name__)

# Domain error code → HTTP status (codes of subclasses fall back to their base class's).
STATUS = {
    "bad_input": 400,
    "eval_set_error": 400,
    "unknown_backend": 400,
    "needs_key": 400,
    "missing_extra": 400,
    "unknown_document": 404,
    "unknown_run": 404,
    "model_not_found": 404,
    "unsupported_parameter": 400,
    "busy": 503,
    "eval_running": 409,
    "document_exists": 409,
    "index_locked": 409,
    "document_error": 422,
    "too_large": 413,
    "backend_unavailable": 502,
    "backend_bad_response": 502,
    "backend_timeout": 504,
    "index_missing": 503,
    "search_engine_unavailable": 503,
    "index_corrupt": 503,
    "embedder_mismatch": 503,
}
# OpenAI clients read 429 as “slow down and retry after Retry-After”: /v1 says busy that way.
_OPENAI_STATUS = {"busy": 429}
_OPENAI_CODES = {"busy": "rate_limit_exceeded", "unauthorized": "invalid_api_key"}


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


# What each kind of pydantic validation error means, in Chinese, with its context values
# (min_length, le, expected, …). Kinds not listed keep pydantic's message.
_INVALID = {
    "missing": "缺少此字段",
    "extra_forbidden": "不接受此字段",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than_equal": "应不小于 {ge}",
    "less_than_equal": "应不大于 {le}",
    "greater_than": "应大于 {gt}",
    "less_than": "应小于 {lt}",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "finite_number": "应为有限的数字",
    "string_type": "应为字符串",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "list_type": "应为数组",
    "dict_type": "应为 JSON 对象",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "string_pattern_mismatch": "格式不符（应匹配 {pattern}）",
}


def _invalid_text(error: dict[str, object]) -> str:
    message = str(error.get("msg", ""))
    template = _INVALID.get(str(error.get("type", "")))
    if template is None:
        return message.removeprefix("Value error, ")  # our own validators speak Chinese already
    ctx = error.get("ctx")
    context = {k: str(v).replace(" or ", " 或 ") for k, v in ctx.items()} if isinstance(ctx, dict) else {}
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return message


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


# OpenAI's error ``type`` for the statuses that have their own; other 4xx are invalid requests.
_OPENAI_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}


def error_body_for(
    path: str, status: int, code: str, message: str, param: str | None = None
) -> dict[str, dict[str, str | None]]:
    """The error body for a request to ``path``: on /v1 OpenAI's shape (``message``, ``type``,
    ``param``, ``code``), which OpenAI clients read, elsewhere ours (``code``, ``message``)."""
    if not path.startswith("/v1/"):
        return {"error": {"code": code, "message": message}}
    kind = _OPENAI_TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")
    return {
        "error": {"message": message, "type": kind, "param": param, "code": _OPENAI_CODES.get(code, code)}
    }


def status_for(error: RagError, path: str = "") -> int:
    """The HTTP status of ``error`` on a request to ``path`` (/v1 speaks OpenAI's codes)."""
    if path.startswith("/v1/") and error.code in _OPENAI_STATUS:
        return _OPENAI_STATUS[error.code]
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
        parts.append(f"{where or '请求'}：{_invalid_text(dict(e))}")
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
        status = status_for(exc, request.url.path)
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc.message)
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, BusyError) else None
        return JSONResponse(
            error_body_for(request.url.path, status, exc.code, exc.message, exc.param),
            status_code=status,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message = _validation_message(exc)
        where = next((str(x) for x in (exc.errors() or [{}])[0].get("loc", ()) if x != "body"), None)
        return JSONResponse(
            error_body_for(request.url.path, status, code, message, where), status_code=status
        )

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
        body = error_body_for(request.url.path, exc.status_code, f"http_{exc.status_code}", message)
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = error_body_for(request.url.path, 500, "internal_error", "服务内部错误，请查看服务日志")
        return JSONResponse(body, status_code=500)
