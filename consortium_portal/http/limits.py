"""The request body limit: a body larger than the portal takes is refused with 413 before the application reads it
(``PORTAL_MAX_BODY_BYTES``; the file uploads ``PORTAL_MAX_FILE_BYTES``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send


class BodyLimit:
    """Refuses a request body larger than ``limit`` bytes with 413, before the application reads it: by its
    Content-Length, or, for a chunked body, by counting it as it streams in (up to the limit, it is then replayed)."""

    def __init__(self, app: FastAPI, limit: int, *, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.larger = larger or {}
        """Paths (exact) that take a larger body (file uploads)."""

    @property
    def state(self) -> Any:
        return self.app.state

    def openapi(self) -> dict[str, Any]:
        return self.app.openapi()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.limit)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        if declared is not None:
            await self.app(scope, receive, send)  # the server holds the body to its declared length
            return
        chunks: list[bytes] = []  # a streamed body: read it here, up to the limit, then hand it on
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            size += len(message.get("body", b""))
            if size > limit:
                await self._refuse(send, limit)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)

    async def _refuse(self, send: Send, limit: int) -> None:
        response = JSONResponse(
            status_code=413,
            content={"error": "too_large", "message": f"the request body is larger than {limit} bytes"},
        )
        await response({"type": "http"}, _no_body, send)


def _replay(messages: list[Message], then: Receive) -> Receive:
    """``messages`` first, then whatever the client sends next (a disconnect)."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return await then()

    return receive


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
