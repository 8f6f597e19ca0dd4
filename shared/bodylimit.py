"""Request bodies are bounded before anyone buffers them.

``POST /v1/wire`` may carry up to ``SYNDICATE_MAX_BODY_BYTES``; every other request (JSON, forms)
up to ``SYNDICATE_MAX_REQUEST_BYTES``. A declared ``Content-Length`` over the limit is answered
``413`` at once, before routing, auth or a byte of the body is read. A body sent without one
(chunked) is counted as it arrives: the handler sees at most one chunk past the limit (so a
handler that checks for itself, like ``POST /v1/wire``, raises its own error), and if it reads on
the middleware answers ``413`` and tells it the client has gone. The server then stops reading:
uvicorn pauses the socket while a request's body is not being read, so memory stays bounded
whatever the client sends.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.problems import problem
from shared.settings import Settings, get_settings

WIRE_PATH = "/v1/wire"


def body_limit(method: str, path: str, settings: Settings) -> int:
    """The largest body a request to ``path`` may carry."""
    if method == "POST" and path == WIRE_PATH:
        return settings.max_body_bytes
    return settings.max_request_bytes


def declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


def _too_large(scope: Scope, limit: int, declared: int | None) -> JSONResponse:
    size = f"is {declared} bytes" if declared is not None else "is over the limit"
    return problem(
        413,
        "Payload too large",
        f"The body {size}; this endpoint takes at most {limit} bytes.",
        type_slug="payload-too-large",
        instance=scope["path"],
        extra={"limit": limit},
        headers={"Connection": "close"},
    )


class BodyLimitMiddleware:
    """ASGI middleware: ``413`` problem for a body over its endpoint's limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["method"], scope["path"], get_settings())
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await _too_large(scope, limit, declared)(scope, receive, send)
            return

        received = 0
        answered = False

        async def limited_receive() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            if received > limit:
                # the handler read past the limit and wants more: answer for it, and stop it
                answered = True
                await _too_large(scope, limit, None)(scope, receive, send)
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def guarded_send(message: Message) -> None:
            if not answered:  # once we answered 413, the handler's own answer is dropped
                await send(message)

        await self.app(scope, limited_receive, guarded_send)
