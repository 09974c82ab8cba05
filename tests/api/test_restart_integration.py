"""A restarted API against the real broker and a real worker (ADR 24): the API that reads the
closed minutes from ``shoppulse.kpis.final`` and then ``shoppulse.kpis`` from the worker's
horizon holds exactly the minutes of one that read ``shoppulse.kpis`` from the cutoff,
including a minute still open across the restart, updated and then closed after it. (A worker
restarted with a minute open republishes it, so the new owner's bound for restored minutes is
checked by the unit tests of ``streams.final_publish``.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import orjson
import pytest
from kafka import KafkaProducer

from api.broadcast import Broadcaster
from api.feed import KpiFeed
from api.view import KpiView
from shoppulse import topics
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot
from shoppulse.timeutil import wall_clock_ms
from tests.conftest import WorkerFactory
from tests.kafka_helpers import collect_snapshots, poll_until, producer

pytestmark = pytest.mark.integration

MIN = 60_000
WAIT_S = 60.0
CLOSE_WAIT_S = 200.0

Minutes = dict[tuple[str, int], tuple[int, bool, dict[str, int]]]


def _order(p: KafkaProducer, settings: Settings, store: str, event_id: str, ts_ms: int) -> None:
    value = {
        "event_id": event_id,
        "store_id": store,
        "ts": ts_ms,
        "order_id": f"order-{event_id}",
        "customer_id": f"c-{event_id}",
        "status": "paid",
        "amount_minor": 1_000,
        "currency": "EUR",
    }
    p.send(settings.topic(topics.ORDERS), key=store.encode(), value=orjson.dumps(value))


def minutes_of(view: KpiView) -> Minutes:
    """Every minute the view holds: its revision, whether final, its components."""
    out: Minutes = {}
    for store in view.stores():
        for snap in view.minutes(store, 0, 2**62):
            key = (store, snap.window_start_ms)
            out[key] = (snap.revision, snap.final, dict(snap.components))
    return out


async def _until(what: str, check: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        await asyncio.sleep(0.2)


def _feed(settings: Settings, *, finals_first: bool) -> KpiFeed:
    return KpiFeed(
        settings, KpiView.from_settings(settings), Broadcaster(), finals_first=finals_first
    )


@pytest.mark.timeout(420)
def test_a_restarted_api_holds_exactly_the_minutes_of_a_full_read(
    settings: Settings, start_worker: WorkerFactory
) -> None:
    start_worker()
    p = producer(settings)
    now = wall_clock_ms()
    minute = now // MIN * MIN
    history = [(store, minute - k * MIN) for store in ("s-a", "s-b") for k in range(5, 1, -1)]
    for i, (store, start) in enumerate(history):
        for j in range(i % 3 + 1):
            _order(p, settings, store, f"h{i}-{j}", start + 1_000 * (j + 1))
    # Up to 70 s ahead (the worker accepts 300 s): a minute that stays open for at least
    # 70 s by the wall clock, across the restart.
    open_start = (now + 70_000) // MIN * MIN
    _order(p, settings, "s-open", "open-0", open_start + 1_000)
    p.flush()
    collect_snapshots(settings, history, WAIT_S * 2)

    def open_published(snaps: list[KpiSnapshot]) -> bool:
        return any(s.store_id == "s-open" for s in snaps)

    poll_until(settings, topics.KPIS, open_published, WAIT_S, decode=KpiSnapshot.from_json)

    async def scenario() -> None:
        full = _feed(settings, finals_first=False)
        restarted = _feed(settings, finals_first=True)
        full.start()
        restarted.start()
        try:
            assert await full.wait_ready(WAIT_S)
            assert await restarted.wait_ready(WAIT_S)
            assert restarted.tail_from_ms is not None, "every source partition has a horizon"
            assert restarted.tail_from_ms >= restarted.view.cutoff_ms()
            held = minutes_of(restarted.view)
            assert held == minutes_of(full.view)
            assert set(history) <= set(held)
            assert all(held[key][1] for key in history)
            _, final, components = held[("s-open", open_start)]
            assert not final
            assert components["orders_paid"] == 1
            # After the restart: the open minute is updated, then closes.
            _order(p, settings, "s-open", "open-1", open_start + 2_000)
            p.flush()

            def closed(feed: KpiFeed) -> Callable[[], bool]:
                def check() -> bool:
                    latest = feed.view.latest("s-open")
                    return latest is not None and latest.final

                return check

            await _until("the open minute's final (full read)", closed(full), CLOSE_WAIT_S)
            await _until("the open minute's final (restarted)", closed(restarted), WAIT_S)
            after = minutes_of(restarted.view)
            assert after == minutes_of(full.view)
            _, final, components = after[("s-open", open_start)]
            assert final
            assert components["orders_paid"] == 2
        finally:
            await full.stop()
            await restarted.stop()

    try:
        asyncio.run(scenario())
    finally:
        p.close(timeout=10)
