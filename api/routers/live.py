"""Websocket ``/ws/live?store=<id|all>``: a snapshot first, then an update per applied minute.

Each connection has a bounded, coalescing buffer (see :mod:`api.broadcast`), a
sender task and a receiver task; a slow or stalled client only delays itself.
An idle connection gets a heartbeat so clients can tell "no traffic" from "dead".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

import anyio
from fastapi import APIRouter, WebSocket

from api.broadcast import Subscription
from api.clock import wall_clock_ms
from api.deps import BroadcasterDep, FeedDep, ViewDep
from api.feed import KpiFeed
from api.messages import heartbeat_message, snapshot_message
from api.routers.common import StoreQuery
from api.view import ALL_STORES

router = APIRouter(tags=["live"])
log = logging.getLogger("shoppulse.api.live")


async def _send_loop(
    websocket: WebSocket, sub: Subscription, heartbeat_s: float, feed: KpiFeed | None
) -> None:
    while True:
        try:
            message = await asyncio.wait_for(sub.get(), timeout=heartbeat_s)
        except TimeoutError:
            message = heartbeat_message(
                caught_up=bool(feed and feed.caught_up), server_time_ms=wall_clock_ms()
            )
        await websocket.send_text(message)


async def _receive_loop(websocket: WebSocket) -> None:
    while True:
        event = await websocket.receive()
        if event["type"] == "websocket.disconnect":
            return


async def _until_first_returns(*loops: Awaitable[None]) -> None:
    """Run the loops concurrently; when one ends (or fails), cancel the others."""
    async with anyio.create_task_group() as tg:

        async def run(loop: Awaitable[None]) -> None:
            try:
                await loop
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
    ``{"type": "heartbeat"}`` when idle. A store that has no data yet may be followed."""
    await websocket.accept()
    sub = broadcaster.subscribe(store)
    try:
        latest = view.latest_by_store()
        if store != ALL_STORES:
            latest = {store: latest[store]} if store in latest else {}
        await websocket.send_text(
            snapshot_message(
                store,
                latest,
                caught_up=bool(feed and feed.caught_up),
                server_time_ms=wall_clock_ms(),
            )
        )
        heartbeat_s: float = websocket.app.state.ws_heartbeat_s
        await _until_first_returns(
            _send_loop(websocket, sub, heartbeat_s, feed), _receive_loop(websocket)
        )
    except Exception as exc:  # the client went away before the loops started
        log.debug("websocket closed: %s", type(exc).__name__)
    finally:
        broadcaster.unsubscribe(sub)
