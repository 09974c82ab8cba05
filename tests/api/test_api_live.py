"""The ``/ws/live`` websocket through Starlette's TestClient, and the broadcaster."""

from __future__ import annotations

import asyncio
import dataclasses

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.broadcast import Broadcaster
from api.feed import KpiFeed
from api.view import KpiView
from shoppulse.settings import Settings
from tests.api.helpers import MIN, MINUTE, make_snap


def _feed(app: FastAPI) -> KpiFeed:
    """A feed that is never started: ``handle`` is its decode → apply → broadcast path."""
    return KpiFeed(app.state.settings, app.state.view, app.state.broadcaster)


def test_snapshot_first_then_updates(client: TestClient, app: FastAPI, view: KpiView) -> None:
    view.apply(make_snap("a", orders_paid=1))
    view.apply(make_snap("b", orders_paid=2))
    feed = _feed(app)
    with client.websocket_connect("/ws/live?store=a") as ws:
        first = ws.receive_json()
        assert first["type"] == "snapshot"
        assert first["store"] == "a"
        assert list(first["stores"]) == ["a"]
        assert first["stores"]["a"]["components"]["orders_paid"] == 1
        assert client.portal is not None
        client.portal.call(feed.handle, make_snap("b", revision=2).to_json())  # other store
        client.portal.call(feed.handle, make_snap("a", revision=2, orders_paid=5).to_json())
        update = ws.receive_json()
        assert update["type"] == "update"
        assert update["snapshot"]["store_id"] == "a"
        assert update["snapshot"]["revision"] == 2
        assert update["snapshot"]["components"]["orders_paid"] == 5


def test_all_stores_and_heartbeat(client: TestClient, app: FastAPI) -> None:
    feed = _feed(app)
    with client.websocket_connect("/ws/live") as ws:
        first = ws.receive_json()
        assert first == {**first, "type": "snapshot", "store": "all", "stores": {}}
        assert client.portal is not None
        client.portal.call(feed.handle, make_snap("z").to_json())
        assert ws.receive_json()["snapshot"]["store_id"] == "z"
        assert ws.receive_json()["type"] == "heartbeat"  # idle for ws_heartbeat_s
        assert feed.stats.applied == 1


def test_unsubscribes_on_disconnect(client: TestClient, app: FastAPI) -> None:
    broadcaster: Broadcaster = app.state.broadcaster
    with client.websocket_connect("/ws/live?store=a") as ws:
        ws.receive_json()
        assert broadcaster.subscriber_count == 1
    for _ in range(50):
        if broadcaster.subscriber_count == 0:
            break
        client.get("/healthz")
    assert broadcaster.subscriber_count == 0


def test_bad_records_are_counted_and_skipped() -> None:
    view = KpiView()
    feed = KpiFeed(Settings(), view, Broadcaster())
    for raw in (None, b"", b"{", b"[]", b'{"store_id": "s"}', b'{"components": 3}'):
        assert feed.handle(raw) is None
    good = make_snap(start=view.window_bounds("1m")[0])
    assert feed.handle(good.to_json()) == good
    assert feed.handle(good.to_json()) is None  # duplicate: applied once
    assert feed.stats.bad_records == 6
    assert feed.stats.applied == 1
    assert feed.stats.records == 8


def test_invalid_snapshots_are_rejected() -> None:
    feed = KpiFeed(Settings(), KpiView(), Broadcaster())
    start = KpiView().window_bounds("1m")[0]
    bad = [
        {**make_snap(start=start).to_dict(), "store_id": ""},
        {**make_snap(start=start).to_dict(), "window_end_ms": start},
        {**make_snap(start=start).to_dict(), "revision": -1},
        {**make_snap(start=start).to_dict(), "components": {"orders_paid": "x"}},
        {**make_snap(start=start).to_dict(), "kpis": "zz"},
    ]
    import orjson

    for record in bad:
        assert feed.handle(orjson.dumps(record)) is None
    assert feed.stats.bad_records == len(bad)


async def test_slow_subscriber_does_not_block_and_coalesces() -> None:
    b = Broadcaster(max_pending=3)
    slow, fast = b.subscribe("all"), b.subscribe("all")
    received: list[str] = []

    async def drain() -> None:
        while True:
            received.append(await fast.get())

    task = asyncio.create_task(drain())
    for rev in range(100):  # 100 revisions of 2 open minutes, published without awaiting
        for m in range(2):
            b.publish("s1", MINUTE + m * MIN, f"{m}:{rev}")
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    task.cancel()
    assert len(received) == 200  # the fast client got everything, in order
    assert received[-2:] == ["0:99", "1:99"]
    assert slow.pending() == ["0:99", "1:99"]  # the slow one only the latest per minute
    assert slow.coalesced == 198
    assert slow.dropped == 0
    for m in range(2, 6):  # more minutes than the bound: the oldest are dropped
        b.publish("s1", MINUTE + m * MIN, f"{m}:0")
    assert slow.pending() == ["3:0", "4:0", "5:0"]
    assert slow.dropped == 3
    assert await slow.get() == "3:0"


@pytest.mark.parametrize("store", ["a", "all"])
def test_subscription_filters_by_store(store: str) -> None:
    b = Broadcaster()
    sub = b.subscribe(store)
    b.publish("a", MINUTE, "x")
    b.publish("b", MINUTE, "y")
    assert sub.pending() == (["x"] if store == "a" else ["x", "y"])


def test_websocket_messages_leave_out_sketches() -> None:
    from api.messages import snapshot_message, update_message

    snap = dataclasses.replace(make_snap(), sketches={"visitors": "TA=="})
    assert "sketches" not in orjson.loads(update_message(snap))["snapshot"]
    whole = orjson.loads(snapshot_message("s1", {"s1": snap}, caught_up=True, server_time_ms=0))
    assert "sketches" not in whole["stores"]["s1"]
