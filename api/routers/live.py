"""Websocket ``/ws/live?store=<id|all>``: a snapshot first, then an update per applied minute.

The protocol is documented in ``docs/websocket.md``. Each connection has a bounded,
coalescing buffer (see :mod:`api.broadcast`), a sender task and a receiver task; a
slow or stalled client only delays itself, and one whose socket accepts nothing for
``ws_send_timeout_s`` is dropped. An idle connection gets a heartbeat so clients can
tell "no traffic" from "dead". A client switches stores without reconnecting by sending
``{"type": "subscribe", "store": "<id|all>"}``, answered with a fresh snapshot, and
learns that it has every update applied so far with ``{"type": "sync"}`` (``synced``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Final

import anyio
from fastapi import APIRouter, WebSocket

from api.broadcast import Broadcaster, Subscription
from api.clock import wall_clock_ms
from api.deps import BroadcasterDep, FeedDep, ViewDep
from api.feed import KpiFeed
from api.messages import (
    Ping,
    ProtocolError,
    Subscribe,
    error_message,
    heartbeat_message,
    parse_client_message,
    pong_message,
    snapshot_message,
    synced_message,
)
from api.rollups import ALL_STORES
from api.routers.common import StoreQuery
from api.view import KpiView
from shoppulse.snapshot import KpiSnapshot

router = APIRouter(tags=["live"])
log = logging.getLogger("shoppulse.api.live")

DEFAULT_SEND_TIMEOUT_S: Final = 10.0
"""A client whose socket takes longer than this to accept one message is dropped."""
CLOSE_TRY_AGAIN_LATER: Final = 1013
OPEN_LOOKBACK_MS: Final = 60 * 60_000
"""How far before a store's latest minute the snapshot looks for minutes still open."""


class SlowClientError(Exception):
    """A send did not complete within the send timeout."""


def open_minutes(view: KpiView, latest: dict[str, KpiSnapshot]) -> list[KpiSnapshot]:
    """The provisional minutes of the stores in ``latest`` other than their latest one, from
    the last :data:`OPEN_LOOKBACK_MS` before it (minutes that will still be revised)."""
    out: list[KpiSnapshot] = []
    for store_id, newest in latest.items():
        start = newest.window_start_ms
        for snap in view.minutes(store_id, start - OPEN_LOOKBACK_MS, start):
            if not snap.final:
                out.append(snap)
    return out


def _snapshot(
    view: KpiView,
    feed: KpiFeed | None,
    store: str,
    heartbeat_s: float,
    reason: str,
) -> str:
    latest = view.latest_by_store()
    if store != ALL_STORES:
        latest = {store: latest[store]} if store in latest else {}
    return snapshot_message(
        store,
        latest,
        caught_up=bool(feed and feed.caught_up),
        server_time_ms=wall_clock_ms(),
        heartbeat_s=heartbeat_s,
        reason=reason,
        open_minutes=open_minutes(view, latest),
    )


async def _send_loop(
    websocket: WebSocket,
    sub: Subscription,
    broadcaster: Broadcaster,
    feed: KpiFeed | None,
    heartbeat_s: float,
    send_timeout_s: float,
) -> None:
    while True:
        try:
            message = await asyncio.wait_for(sub.get(), timeout=heartbeat_s)
        except TimeoutError:
            message = heartbeat_message(
                caught_up=bool(feed and feed.caught_up),
                server_time_ms=wall_clock_ms(),
                last_publish_ms=broadcaster.last_publish_ms,
            )
        try:
            await asyncio.wait_for(websocket.send_text(message), timeout=send_timeout_s)
        except TimeoutError:
            broadcaster.slow_drops += 1
            raise SlowClientError from None


async def _receive_loop(
    websocket: WebSocket,
    sub: Subscription,
    broadcaster: Broadcaster,
    view: KpiView,
    feed: KpiFeed | None,
    heartbeat_s: float,
) -> None:
    while True:
        event = await websocket.receive()
        if event["type"] == "websocket.disconnect":
            return
        text = event.get("text")
        if text is None:
            sub.offer_control(error_message("bad_message", "send JSON text, not binary frames"))
            continue
        try:
            message = parse_client_message(text)
        except ProtocolError as exc:
            sub.offer_control(error_message(exc.code, str(exc)))
            continue
        if isinstance(message, Subscribe):
            # The snapshot and the switch happen in one step of the event loop: every update
            # applied after the snapshot was built reaches the client after it.
            snapshot = _snapshot(view, feed, message.store, heartbeat_s, "subscribe")
            broadcaster.follow(sub, message.store, snapshot=snapshot)
        elif isinstance(message, Ping):
            sub.offer_control(pong_message(server_time_ms=wall_clock_ms(), echo=message.id))
        else:  # Sync: answered behind every update applied until now
            synced = synced_message(server_time_ms=wall_clock_ms(), echo=message.id)
            if not sub.offer_barrier(synced):
                sub.offer_control(
                    error_message("too_many_syncs", "wait for the pending syncs to be answered")
                )


async def _until_first_returns(websocket: WebSocket, *loops: Awaitable[None]) -> None:
    """Run the loops concurrently; when one ends (or fails), cancel the others."""
    async with anyio.create_task_group() as tg:

        async def run(loop: Awaitable[None]) -> None:
            try:
                await loop
            except SlowClientError:
                log.info("dropping a websocket client that does not read")
                with anyio.move_on_after(1.0):
                    try:
                        await websocket.close(CLOSE_TRY_AGAIN_LATER, "too slow")
                    except Exception as exc:  # the transport is gone as well
                        log.debug("websocket close failed: %s", type(exc).__name__)
            except Exception as exc:  # the client went away while we were sending
                log.debug("websocket closed: %s", type(exc).__name__)
            tg.cancel_scope.cancel()

        for loop in loops:
            tg.start_soon(run, loop)


@router.websocket("/ws/live")
async def live(
    websocket: WebSocket,
    view: ViewDep,
    feed: FeedDep,
    broadcaster: BroadcasterDep,
    store: StoreQuery = ALL_STORES,
) -> None:
    """Follow one store (or ``all``): ``{"type": "snapshot", "stores": {...}}`` first, then
    ``{"type": "update", "snapshot": {...}}`` for every applied snapshot of that store, and
    ``{"type": "heartbeat"}`` when idle. ``{"type": "subscribe", "store": ...}`` from the
    client switches the store (a new snapshot follows). A store that has no data yet may be
    followed. See ``docs/websocket.md``."""
    await websocket.accept()
    heartbeat_s: float = websocket.app.state.ws_heartbeat_s
    send_timeout_s: float = getattr(
        websocket.app.state, "ws_send_timeout_s", DEFAULT_SEND_TIMEOUT_S
    )
    sub = broadcaster.subscribe(store)
    try:
        await websocket.send_text(_snapshot(view, feed, store, heartbeat_s, "connect"))
        await _until_first_returns(
            websocket,
            _send_loop(websocket, sub, broadcaster, feed, heartbeat_s, send_timeout_s),
            _receive_loop(websocket, sub, broadcaster, view, feed, heartbeat_s),
        )
    except Exception as exc:  # the client went away before the loops started
        log.debug("websocket closed: %s", type(exc).__name__)
    finally:
        broadcaster.unsubscribe(sub)
