"""Who may call the service: loopback needs no key; any other address needs one
(``rag.config.check_exposure``), and then every ``/api`` and ``/v1`` request carries
``Authorization: Bearer <key>``.

The page shell, its static files and ``/docs`` stay open so a browser can load them and ask for
the key; everything that reads or changes the briefings is behind it. CORS is off unless
``server.cors_origins`` names the origins allowed. The key is compared in constant time and
never written to a log or an error message.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI

from server.errors import error_body_for

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
PROTECTED = ("/api/", "/v1/")
SCHEME = "apiKey"


class RequireKey:
    """ASGI middleware: a protected path without the right bearer key gets 401 and the JSON
    error body; nothing behind it runs."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app = app
        self.expected = f"Bearer {key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PROTECTED) and scope["method"] != "OPTIONS":
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not secrets.compare_digest(given, self.expected):
                message = "缺少 API 密钥" if not given else "API 密钥不正确"
                text = f"{message}：请在请求头中加入 Authorization: Bearer <密钥>"
                body = json.dumps(
                    error_body_for(scope["path"], 401, "unauthorized", text), ensure_ascii=False
                ).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def document_key(app: FastAPI) -> None:
    """Say in ``/openapi.json`` that the protected paths need the bearer key and answer 401
    without it; ``/docs`` then offers an "Authorize" button that asks for the key."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()  # built once and cached by FastAPI; the additions below are idempotent
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes[SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "rag.toml 中 [server] api_key 的值",
        }
        unauthorized = {
            "description": "缺少 API 密钥，或密钥不正确",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
        for path, operations in schema["paths"].items():
            if path.startswith(PROTECTED):
                for operation in operations.values():
                    operation["security"] = [{SCHEME: []}]
                    operation["responses"]["401"] = unauthorized
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
