"""The ``/ws/live`` websocket through Starlette's TestClient, and the broadcaster."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.broadcast import MAX_CONTROL, Broadcaster
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


def test_subscribe_switches_store_with_a_fresh_snapshot(
    client: TestClient, app: FastAPI, view: KpiView
) -> None:
    view.apply(make_snap("a", orders_paid=1))
    view.apply(make_snap("b", orders_paid=2))
    feed = _feed(app)
    assert client.portal is not None
    with client.websocket_connect("/ws/live?store=a") as ws:
        first = ws.receive_json()
        assert (first["store"], first["reason"], list(first["stores"])) == ("a", "connect", ["a"])
        ws.send_json({"type": "subscribe", "store": "b"})
        again = ws.receive_json()
        assert again["type"] == "snapshot"
        assert (again["store"], again["reason"], list(again["stores"])) == ("b", "subscribe", ["b"])
        assert again["stores"]["b"]["components"]["orders_paid"] == 2
        assert again["protocol"] == 1
        client.portal.call(feed.handle, make_snap("a", revision=2, orders_paid=7).to_json())
        client.portal.call(feed.handle, make_snap("b", revision=2, orders_paid=8).to_json())
        update = ws.receive_json()
        assert update["snapshot"]["store_id"] == "b"  # a's update was not delivered
        assert update["snapshot"]["components"]["orders_paid"] == 8
        assert ws.receive_json()["type"] == "heartbeat"

        ws.send_json({"type": "subscribe", "store": "all"})
        everything = ws.receive_json()
        assert (everything["store"], sorted(everything["stores"])) == ("all", ["a", "b"])
        assert everything["stores"]["a"]["revision"] == 2
        ws.send_json({"type": "subscribe", "store": "c"})  # no data yet: may be followed
        assert ws.receive_json()["stores"] == {}
        client.portal.call(feed.handle, make_snap("c").to_json())
        assert ws.receive_json()["snapshot"]["store_id"] == "c"


def test_bad_client_messages_get_errors_and_the_connection_stays(client: TestClient) -> None:
    with client.websocket_connect("/ws/live?store=a") as ws:
        ws.receive_json()
        ws.send_text("not json")
        assert ws.receive_json() == {
            "type": "error",
            "error": "invalid_json",
            "message": "not JSON",
        }
        ws.send_json({"type": "subscribe"})
        assert ws.receive_json()["error"] == "bad_message"
        ws.send_json({"type": "subscribe", "store": "x" * 257})
        assert ws.receive_json()["error"] == "bad_message"
        ws.send_json({"type": "dance"})
        assert "unknown message type" in ws.receive_json()["message"]
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_json()["type"] == "error"
        ws.send_text("x" * 5000)
        assert ws.receive_json()["error"] == "too_large"
        ws.send_json({"type": "ping", "id": 7})
        pong = ws.receive_json()
        assert pong["type"] == "pong"
        assert pong["id"] == 7
        assert pong["server_time_ms"] > 0
        ws.send_json({"type": "subscribe", "store": "b"})
        assert ws.receive_json()["store"] == "b"


def test_heartbeat_says_when_the_api_last_pushed_data(client: TestClient, app: FastAPI) -> None:
    feed = _feed(app)
    assert client.portal is not None
    with client.websocket_connect("/ws/live?store=quiet") as ws:
        first = ws.receive_json()
        assert first["heartbeat_s"] == 0.2
        assert ws.receive_json()["last_publish_ms"] is None
        client.portal.call(feed.handle, make_snap("busy").to_json())  # another store
        beat = ws.receive_json()
        assert beat["type"] == "heartbeat"
        assert beat["last_publish_ms"] == app.state.broadcaster.last_publish_ms
        assert beat["last_publish_ms"] > 0


def test_follow_keeps_control_messages_first_and_drops_other_stores() -> None:
    b = Broadcaster(max_pending=2, clock=lambda: 5)
    sub = b.subscribe("all")
    b.publish("a", MINUTE, "a0")
    b.publish("b", MINUTE, "b0")
    b.follow(sub, "b", snapshot="snap-b")
    assert sub.pending() == ["snap-b", "b0"]
    b.follow(sub, "b", snapshot="snap-b2")  # a newer snapshot replaces the pending one
    assert sub.pending() == ["snap-b2", "b0"]
    for m in range(1, 4):  # the update bound never drops the snapshot
        b.publish("b", MINUTE + m * MIN, f"b{m}")
    assert sub.pending() == ["snap-b2", "b2", "b3"]
    b.publish("a", MINUTE, "a1")
    assert "a1" not in sub.pending()
    for i in range(MAX_CONTROL + 3):  # unread pongs are bounded; the snapshot stays
        sub.offer_control(f"pong{i}")
    assert sub.pending()[0] == "snap-b2"
    assert len(sub.pending()) == MAX_CONTROL + 2
    assert asyncio.run(sub.get()) == "snap-b2"
    assert b.last_publish_ms == 5
    assert b.subscriber_count == 1
    assert [s.store_id for s in b.subscriptions()] == ["b"]
    b.unsubscribe(sub)
    b.unsubscribe(sub)
    assert b.subscriber_count == 0


def test_publish_reaches_only_the_followers_of_a_store() -> None:
    b = Broadcaster()
    followers = [b.subscribe("x") for _ in range(1000)]
    other, everyone = b.subscribe("y"), b.subscribe("all")
    b.publish("y", MINUTE, "m")
    assert other.pending() == ["m"]
    assert everyone.pending() == ["m"]
    assert all(not s.pending() for s in followers)
    b.publish("x", MINUTE, "n")
    assert all(s.pending() == ["n"] for s in followers)
    assert b.subscriber_count == 1002


class _StuckSocket:
    """A websocket whose peer never reads: every send waits forever."""

    async def send_text(self, message: str) -> None:
        await asyncio.Event().wait()


async def test_a_client_that_does_not_read_is_dropped_not_waited_for() -> None:
    from api.routers.live import SlowClientError, _send_loop

    b = Broadcaster()
    sub = b.subscribe("a")
    b.publish("a", MINUTE, "m")
    stuck: Any = _StuckSocket()
    with pytest.raises(SlowClientError):
        await asyncio.wait_for(_send_loop(stuck, sub, b, None, 10.0, 0.05), timeout=5)
    assert b.slow_drops == 1  # shoppulse_websocket_slow_drops_total


def test_sync_is_answered_behind_the_updates_applied_before_it(
    client: TestClient, app: FastAPI
) -> None:
    feed = _feed(app)
    assert client.portal is not None
    with client.websocket_connect("/ws/live?store=a") as ws:
        ws.receive_json()
        client.portal.call(feed.handle, make_snap("a", revision=1, orders_paid=1).to_json())
        ws.send_json({"type": "sync", "id": "s1"})
        update = ws.receive_json()
        assert update["type"] == "update"
        assert update["snapshot"]["revision"] == 1
        synced = ws.receive_json()
        assert synced["type"] == "synced"
        assert synced["id"] == "s1"
        ws.send_json({"type": "sync", "id": True})
        assert ws.receive_json()["error"] == "bad_message"


def test_a_barrier_stops_coalescing_and_is_never_dropped() -> None:
    b = Broadcaster(max_pending=2)
    sub = b.subscribe("s")
    b.publish("s", MINUTE, "r1")
    assert sub.offer_barrier("synced-1")
    b.publish("s", MINUTE, "r2")  # the same minute: not merged into r1 across the barrier
    b.publish("s", MINUTE, "r3")  # merged into r2
    assert sub.pending() == ["r1", "synced-1", "r3"]
    b.publish("s", MINUTE + MIN, "n1")  # over the bound: r1 goes, the barrier stays
    assert sub.pending() == ["synced-1", "r3", "n1"]
    assert sub.dropped == 1
    assert asyncio.run(sub.get()) == "synced-1"
    assert [asyncio.run(sub.get()) for _ in range(2)] == ["r3", "n1"]
    for i in range(MAX_CONTROL):
        assert sub.offer_barrier(f"synced-{i}")
    assert not sub.offer_barrier("one too many")
    b.follow(sub, "t", snapshot="snap-t")
    assert sub.pending()[0] == "snap-t"
    assert len(sub.pending()) == 1 + MAX_CONTROL


def test_snapshot_lists_the_minutes_still_open(
    client: TestClient, view: KpiView, app: FastAPI
) -> None:
    view.apply(make_snap("a", MINUTE - 2 * MIN, final=True))
    view.apply(make_snap("a", MINUTE - MIN, final=False))  # waiting for its grace period
    view.apply(make_snap("a", MINUTE, final=False))
    view.apply(make_snap("b", MINUTE - MIN, final=False))
    with client.websocket_connect("/ws/live?store=a") as ws:
        first = ws.receive_json()
        assert first["stores"]["a"]["window_start_ms"] == MINUTE
        assert [(m["store_id"], m["window_start_ms"]) for m in first["open_minutes"]] == [
            ("a", MINUTE - MIN)
        ]
        ws.send_json({"type": "subscribe", "store": "all"})
        everything = ws.receive_json()
        assert sorted(
            (m["store_id"], m["window_start_ms"]) for m in everything["open_minutes"]
        ) == [
            ("a", MINUTE - MIN)  # b's only minute is its latest, in "stores"
        ]
