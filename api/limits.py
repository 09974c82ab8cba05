"""Request limits: pure ASGI middleware, before any route parses anything.

:class:`BodySizeLimit`: a declared ``Content-Length`` above the limit is refused at once
(413); a body sent without one (chunked) is counted as it arrives and refused when it passes
the limit, also when a route's body parsing is reading it: :class:`BodyTooLargeError` is an
``HTTPException``, which FastAPI re-raises from body parsing (another exception there would
become a 400 "There was an error parsing the body"), answered by :func:`body_too_large`.

:class:`JsonOnly`: a request with a body method (POST, PUT, PATCH) must say
``Content-Type: application/json`` (or ``application/<something>+json``), else 415: every
such route of the API takes JSON, and a form or text body would otherwise reach the route as
a confusing 422.
"""

from __future__ import annotations

from typing import Final

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})


class BodyTooLargeError(HTTPException):
    """The request body passed the limit while it was being read (413)."""

    def __init__(self, max_bytes: int, seen: int) -> None:
        super().__init__(413, detail=too_large(max_bytes, seen))


def too_large(max_bytes: int, size: int) -> str:
    """The 413 message.

    >>> too_large(10, 12)
    'the request body is larger than 10 bytes (at least 12; SHOPPULSE_API_MAX_BODY_BYTES)'
    """
    return (
        f"the request body is larger than {max_bytes} bytes (at least {size}; "
        "SHOPPULSE_API_MAX_BODY_BYTES)"
    )


async def body_too_large(request: Request, exc: Exception) -> Response:
    """The exception handler of :class:`BodyTooLargeError`: 413 with the message."""
    assert isinstance(exc, BodyTooLargeError)
    return JSONResponse({"detail": exc.detail}, status_code=413)


def is_json(content_type: str) -> bool:
    """Whether a ``Content-Type`` value names JSON.

    >>> [is_json(t) for t in ("application/json; charset=utf-8", "application/merge-patch+json",
    ...     "text/plain", "", "application/jsonx")]
    [True, True, False, False, False]
    """
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await refuse(send, 400, "Content-Length is not a number")
                    return
                if declared > self.max_bytes:
                    await refuse(send, 413, too_large(self.max_bytes, declared))
                    return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes, seen)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError as exc:  # raised where no exception handler runs
            if not started:
                await refuse(send, 413, exc.detail)


class JsonOnly:
    """415 for a POST, PUT or PATCH whose ``Content-Type`` is not JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in BODY_METHODS:
            content_type = ""
            for name, value in scope.get("headers", ()):
                if name == b"content-type":
                    content_type = value.decode("latin-1")
            if not is_json(content_type):
                got = f"got {content_type!r}" if content_type else "got none"
                await refuse(
                    send,
                    415,
                    f"{scope['method']} {scope['path']} takes a JSON body: send "
                    f"Content-Type: application/json ({got})",
                )
                return
        await self.app(scope, receive, send)


async def refuse(send: Send, status: int, detail: str) -> None:
    """Answer ``{"detail": detail}`` with ``status`` (before the app has answered)."""
    body = orjson.dumps({"detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
