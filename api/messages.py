"""The websocket message shapes of ``/ws/live`` (see ``docs/websocket.md``).

Server messages are encoded once per event; client messages are parsed and
validated by :func:`parse_client_message`.

>>> snap = KpiSnapshot(store_id="s1", window_start_ms=0, window_end_ms=60_000, final=False,
...     revision=1, currency="EUR", components={"orders_paid": 1}, emitted_at_ms=1)
>>> msg = orjson.loads(update_message(snap))
>>> msg["type"], msg["snapshot"]["store_id"], msg["snapshot"]["final"]
('update', 's1', False)
>>> parse_client_message('{"type": "subscribe", "store": "s2"}')
Subscribe(store='s2')
>>> parse_client_message('{"type": "subscribe"}')
Traceback (most recent call last):
...
api.messages.ProtocolError: 'store' must be a store id or 'all' (1 to 256 characters)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from shoppulse.snapshot import KpiSnapshot

PROTOCOL_VERSION: Final = 1
MAX_CLIENT_MESSAGE_CHARS: Final = 4096
MAX_STORE_ID_CHARS: Final = 256


def encode(message: Mapping[str, Any]) -> str:
    """JSON text of a message."""
    return orjson.dumps(message).decode()


def client_view(snapshot: KpiSnapshot) -> dict[str, Any]:
    """A snapshot as browsers get it: without the HyperLogLog sketches (kilobytes each, of use
    only for server-side rollups)."""
    data = snapshot.to_dict()
    data.pop("sketches", None)
    return data


def update_message(snapshot: KpiSnapshot) -> str:
    """``{"type": "update", "snapshot": {...}}`` for one applied snapshot."""
    return encode({"type": "update", "snapshot": client_view(snapshot)})


def snapshot_message(
    store_id: str,
    latest: Mapping[str, KpiSnapshot],
    *,
    caught_up: bool,
    server_time_ms: int,
    heartbeat_s: float | None = None,
    reason: str = "connect",
    open_minutes: Iterable[KpiSnapshot] = (),
) -> str:
    """The first message of a connection, and the answer to ``subscribe``: the latest minute
    of every followed store, and in ``open_minutes`` their other minutes that are still
    provisional (they will be revised: a client that adds up changes must know them).
    ``reason`` is ``connect`` or ``subscribe``."""
    return encode(
        {
            "type": "snapshot",
            "protocol": PROTOCOL_VERSION,
            "reason": reason,
            "store": store_id,
            "caught_up": caught_up,
            "server_time_ms": server_time_ms,
            "heartbeat_s": heartbeat_s,
            "stores": {sid: client_view(snap) for sid, snap in latest.items()},
            "open_minutes": [client_view(snap) for snap in open_minutes],
        }
    )


def heartbeat_message(
    *, caught_up: bool, server_time_ms: int, last_publish_ms: int | None = None
) -> str:
    """Sent when a connection has been idle, so clients can tell "quiet" from "dead".

    ``last_publish_ms`` is when the API last pushed an update of *any* store: a client
    following a quiet store can tell a quiet store from a silent pipeline.
    """
    return encode(
        {
            "type": "heartbeat",
            "caught_up": caught_up,
            "server_time_ms": server_time_ms,
            "last_publish_ms": last_publish_ms,
        }
    )


def pong_message(*, server_time_ms: int, echo: str | int | None) -> str:
    """The answer to ``ping``: the client's ``id`` echoed and the server's clock."""
    return encode({"type": "pong", "id": echo, "server_time_ms": server_time_ms})


def synced_message(*, server_time_ms: int, echo: str | int | None) -> str:
    """The answer to ``sync``, queued behind every update applied before the ``sync``."""
    return encode({"type": "synced", "id": echo, "server_time_ms": server_time_ms})


def error_message(error: str, message: str) -> str:
    """A client message that was not understood; the connection stays open."""
    return encode({"type": "error", "error": error, "message": message})


class ProtocolError(ValueError):
    """A client message that does not follow the protocol; ``code`` is machine-readable."""

    def __init__(self, message: str, code: str = "bad_message") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Subscribe:
    """``{"type": "subscribe", "store": "<id|all>"}``: follow another store."""

    store: str


@dataclass(frozen=True, slots=True)
class Ping:
    """``{"type": "ping", "id": ...}``: the server answers with a ``pong``."""

    id: str | int | None = None


@dataclass(frozen=True, slots=True)
class Sync:
    """``{"type": "sync", "id": ...}``: answered by ``synced`` once every update applied
    before it has been sent."""

    id: str | int | None = None


ClientMessage = Subscribe | Ping | Sync


def parse_client_message(text: str) -> ClientMessage:
    """Parse one client text message, or raise :class:`ProtocolError`.

    >>> parse_client_message('{"type": "ping", "id": 7}')
    Ping(id=7)
    >>> parse_client_message('{"type": "dance"}')
    Traceback (most recent call last):
    ...
    api.messages.ProtocolError: unknown message type 'dance' (expected subscribe, sync or ping)
    """
    if len(text) > MAX_CLIENT_MESSAGE_CHARS:
        raise ProtocolError(
            f"message longer than {MAX_CLIENT_MESSAGE_CHARS} characters", "too_large"
        )
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError("not JSON", "invalid_json") from None
    if not isinstance(data, dict):
        raise ProtocolError("a message must be a JSON object with a 'type'")
    kind = data.get("type")
    if kind == "subscribe":
        store = data.get("store")
        if not isinstance(store, str) or not 1 <= len(store) <= MAX_STORE_ID_CHARS:
            raise ProtocolError(
                f"'store' must be a store id or 'all' (1 to {MAX_STORE_ID_CHARS} characters)"
            )
        return Subscribe(store=store)
    if kind in ("ping", "sync"):
        echo = data.get("id")
        if echo is not None and (
            isinstance(echo, bool) or not isinstance(echo, str | int) or len(str(echo)) > 64
        ):
            raise ProtocolError("'id' must be a string or an integer (at most 64 characters)")
        return Ping(id=echo) if kind == "ping" else Sync(id=echo)
    raise ProtocolError(f"unknown message type {kind!r} (expected subscribe, sync or ping)")
