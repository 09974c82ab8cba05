"""Access control: the FastAPI dependencies that check API keys and roles (see api.security).

A key is presented as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; a browser's
websocket, which cannot set headers, may send it as the ``key`` query parameter (redacted from
the access log, :class:`RedactKeys`). Without configured keys every route is open; with keys,
reading needs a viewer (or operator) key unless kiosk mode is on, acknowledging and silencing
need an operator key, and ingest needs an ingest key. Answers: 401 when no key (or an unknown
one) is presented, 403 when the key's role may not do this; websockets are closed with 1008.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Annotated, Final

from fastapi import Depends, HTTPException, WebSocketException, status
from starlette.requests import HTTPConnection

from api.security import ApiKey, ApiKeys, Role, allows

KEY_QUERY: Final = "key"
_REDACT_RE: Final = re.compile(r"([?&](?:key|api_key|access_token)=)[^&\s\"]*")


def get_api_keys(conn: HTTPConnection) -> ApiKeys:
    keys: ApiKeys = conn.app.state.api_keys
    return keys


def presented_key(conn: HTTPConnection) -> str | None:
    """The key the client presented, if any (header first, then the ``key`` query)."""
    auth = conn.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    header = conn.headers.get("x-api-key", "").strip()
    if header:
        return header
    query = conn.query_params.get(KEY_QUERY, "").strip()
    return query or None


def _deny(conn: HTTPConnection, code: int, detail: str) -> Exception:
    if conn.scope["type"] == "websocket":
        return WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason=detail)
    headers = {"WWW-Authenticate": "Bearer"} if code == status.HTTP_401_UNAUTHORIZED else None
    return HTTPException(code, detail=detail, headers=headers)


def require(role: Role) -> Callable[[HTTPConnection], ApiKey | None]:
    """A dependency that lets the request through if it may act as ``role``; it returns the
    caller's key (``None`` when the API is open or a kiosk read)."""

    def dependency(conn: HTTPConnection) -> ApiKey | None:
        keys = get_api_keys(conn)
        if not keys.enabled:
            return None
        kiosk: bool = conn.app.state.settings.api_kiosk
        presented = presented_key(conn)
        if presented is None:
            if role == "viewer" and kiosk:
                return None
            raise _deny(
                conn, status.HTTP_401_UNAUTHORIZED, f"an API key with role {role} is required"
            )
        key = keys.identify(presented)
        if key is None:
            raise _deny(conn, status.HTTP_401_UNAUTHORIZED, "unknown API key")
        if not allows(key.role, role):
            raise _deny(
                conn,
                status.HTTP_403_FORBIDDEN,
                f"the key {key.name!r} has role {key.role}; this needs {role}",
            )
        return key

    dependency.__name__ = f"require_{role}"
    return dependency


ViewerKey = Annotated[ApiKey | None, Depends(require("viewer"))]
OperatorKey = Annotated[ApiKey | None, Depends(require("operator"))]
IngestKey = Annotated[ApiKey | None, Depends(require("ingest"))]


def acting_as(key: ApiKey | None, claimed: str | None, comment: str, field: str) -> tuple[str, str]:
    """Who acts, and the comment to record with it.

    With API keys configured, the presenting key's name (a different name the client sent in
    ``field`` is kept as a note at the end of the comment); without keys (``key`` is None:
    writes never run as kiosk reads), the name the client sent, which is then required (422).

    >>> acting_as(ApiKey("ana", "operator", "sha256:0"), "bob", "seen", "by")
    ('ana', 'seen (by sent: bob)')
    >>> acting_as(None, "bob", "seen", "by")
    ('bob', 'seen')
    """
    if key is None:
        if not claimed:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                detail=f"{field} is required: who does this (the API has no keys to tell)",
            )
        return claimed, comment
    if claimed and claimed != key.name:
        note = f"({field} sent: {claimed})"
        comment = f"{comment} {note}" if comment else note
    return key.name, comment


def redact(text: str) -> str:
    """``text`` with API keys in query strings replaced by ``***``.

    >>> redact('GET /ws/live?store=all&key=sp_secret HTTP/1.1')
    'GET /ws/live?store=all&key=*** HTTP/1.1'
    """
    return _REDACT_RE.sub(r"\1***", text)


class RedactKeys(logging.Filter):
    """Redacts API keys from log records (uvicorn's access log prints query strings)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True
