"""Reading the view while the feed changes it: no 500s, and cached rollups equal the view's.

The Kafka feed applies snapshots to the view on the event loop; REST handlers copy what they
need there and compute in a worker thread (:mod:`api.reads`).
"""

from __future__ import annotations

import dataclasses
import random
import sys
import threading
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.clock import DAY_MS
from api.reads import with_comparisons
from api.rollup_cache import CachedRollups
from api.rollups import ALL_STORES, WINDOWS
from api.routers.kpis import kpis_body
from api.view import KpiView
from shoppulse.settings import Settings
from tests.api.helpers import MIN, FakeClock, make_snap
from tests.api.test_metrics import DAY_START, HOUR, _fill, _minute

STORES = [f"s{i}" for i in range(8)]
READS = [
    ("/api/v1/kpis", {"store": "all", "window": "1h"}),
    ("/api/v1/kpis", {"store": "s1", "window": "today"}),
    ("/api/v1/kpis/history", {"store": "all", "minutes": "240"}),
    ("/api/v1/kpis/history", {"store": "s2", "minutes": "240"}),
    ("/api/v1/stores", {}),
]


def test_reads_while_the_feed_appends_and_evicts_never_fail() -> None:
    """Reader threads against a writer on the event loop that appends a minute per store and
    evicts the oldest hour's worth at a time (bounded: 120 reads or 60 s; a loaded machine takes
    longer, not fewer reads)."""
    clock = FakeClock()
    view = KpiView(clock=clock, history_minutes=240)
    minute = clock.now_ms - clock.now_ms % MIN
    for start in range(minute - 239 * MIN, minute + MIN, MIN):
        for store in STORES:
            view.apply(make_snap(store, start, final=True))
    app = create_app(Settings(topic_namespace="unit."), start_feed=False, view=view)
    stop = threading.Event()
    failures: list[str] = []
    reads = 0
    lock = threading.Lock()

    def write() -> None:  # on the event loop, as the feed does
        clock.now_ms += 30 * MIN
        now = clock.now_ms - clock.now_ms % MIN
        for start in range(now - 29 * MIN, now + MIN, MIN):
            for store in STORES:
                view.apply(make_snap(store, start, final=start < now))
        view.evict()

    def writer(client: TestClient) -> None:
        assert client.portal is not None
        while not stop.is_set():
            client.portal.call(write)

    def reader(client: TestClient, offset: int) -> None:
        nonlocal reads
        i = offset
        while not stop.is_set():
            path, params = READS[i % len(READS)]
            i += 1
            response = client.get(path, params=params)
            with lock:
                reads += 1
                if response.status_code != 200:
                    failures.append(
                        f"{path} {params}: {response.status_code} {response.text[:200]}"
                    )
                if reads >= 120 or len(failures) >= 5:
                    stop.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)  # switch threads often, so a race shows within the bound
    with TestClient(app, raise_server_exceptions=False) as client:
        threads = [threading.Thread(target=writer, args=(client,))]
        threads += [threading.Thread(target=reader, args=(client, i)) for i in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join(timeout=30)
    sys.setswitchinterval(interval)
    assert reads >= 120 or failures
    assert not failures, failures


@pytest.mark.parametrize(
    "now_ms",
    [DAY_START + 30_000, DAY_START + 12 * HOUR + 34 * MIN + 30_000, DAY_START + DAY_MS - 30_000],
    ids=["00:00:30", "12:34:30", "23:59:30"],
)
def test_cached_rollups_equal_the_views(now_ms: int) -> None:
    """Every store and ``all``, every window, with comparisons, twice (the second from the
    cache), and local days that are not whole UTC hours: the same answers as the view."""
    view = KpiView(clock=FakeClock(now_ms))
    _fill(view, now_ms)
    rollups = CachedRollups(view.window_ms)
    for round_ in range(2):
        for store in [*view.stores(), ALL_STORES]:
            for window in WINDOWS:
                spans = with_comparisons(*view.rollup_bounds(store, window))
                frozen = view.frozen(spans, rollups=rollups)
                assert kpis_body(frozen, store, window) == kpis_body(view, store, window)
            for start, end in ((DAY_START - 5 * HOUR - 30 * MIN, now_ms), (now_ms - HOUR, now_ms)):
                frozen = view.frozen([(start, end)], rollups=rollups)
                cached = frozen.rollup_range(store, start, end, window="today_local")
                assert cached == view.rollup_range(store, start, end, window="today_local")
        assert rollups.cache.hits > 0 if round_ else rollups.cache.misses > 0


def test_a_revised_sealed_minute_is_not_served_from_the_cache() -> None:
    now_ms = DAY_START + 12 * HOUR + 30_000
    view = KpiView(clock=FakeClock(now_ms))
    _fill(view, now_ms)
    rollups = CachedRollups(view.window_ms)
    spans = with_comparisons(*view.rollup_bounds(ALL_STORES, "today"))
    before = kpis_body(view.frozen(spans, rollups=rollups), ALL_STORES, "today")
    old = view.minutes("s1", DAY_START + HOUR, DAY_START + 2 * HOUR)[0]
    revised = _minute(random.Random(1), "s1", old.window_start_ms)
    revised = dataclasses.replace(revised, revision=old.revision + 1)
    assert view.apply(revised)
    after = kpis_body(view.frozen(spans, rollups=rollups), ALL_STORES, "today")
    assert after == kpis_body(view, ALL_STORES, "today")
    assert after["components"] != before["components"]


def test_a_frozen_copy_does_not_change_with_the_view() -> None:
    clock = FakeClock()
    view = KpiView(clock=clock, history_minutes=10)
    minute = clock.now_ms - clock.now_ms % MIN
    for start in range(minute - 9 * MIN, minute + MIN, MIN):
        view.apply(make_snap("s1", start, final=True))
    frozen = view.frozen([(minute - 9 * MIN, minute + MIN)])
    clock.now_ms += 5 * MIN
    view.apply(make_snap("s2", minute + 5 * MIN))
    assert view.minute_count("s1") == 5  # evicted by apply
    assert frozen.stores() == ["s1"]
    assert frozen.minute_count("s1") == 10
    assert frozen.clock() == clock.now_ms - 5 * MIN
    assert frozen.rollup("s1", "1h").minutes == 10
