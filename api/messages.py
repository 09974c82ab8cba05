"""The websocket message shapes of ``/ws/live``, encoded once per event.

>>> snap = KpiSnapshot(store_id="s1", window_start_ms=0, window_end_ms=60_000, final=False,
...     revision=1, currency="EUR", components={"orders_paid": 1}, emitted_at_ms=1)
>>> msg = orjson.loads(update_message(snap))
>>> msg["type"], msg["snapshot"]["store_id"], msg["snapshot"]["final"]
('update', 's1', False)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from shoppulse.snapshot import KpiSnapshot


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
) -> str:
    """The first message of a connection: the latest minute of every followed store."""
    return encode(
        {
            "type": "snapshot",
            "store": store_id,
            "caught_up": caught_up,
            "server_time_ms": server_time_ms,
            "stores": {sid: client_view(snap) for sid, snap in latest.items()},
        }
    )


def heartbeat_message(*, caught_up: bool, server_time_ms: int) -> str:
    """Sent when a connection has been idle, so clients can tell "quiet" from "dead"."""
    return encode({"type": "heartbeat", "caught_up": caught_up, "server_time_ms": server_time_ms})
