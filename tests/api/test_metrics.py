"""The API's ``/metrics``: KPI gauges equal the REST rollups and comparisons, the cache is
reused, the output passes ``promtool check metrics``, and the API's own state is exported.

The view is pure, so these tests fill it directly (the pipeline end to end, with a real
Prometheus, is tests/deploy/test_stack_integration.py).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from alerts.board import AlertBoard
from api.app import create_app
from api.clock import DAY_MS
from api.comparisons import compare
from api.metrics import ApiMetrics
from api.rollups import ALL_STORES, WINDOWS
from api.security import hash_key
from api.view import KpiView
from shoppulse.components import COUNT_COMPONENTS
from shoppulse.histogram import FIRST_RESPONSE_S, FULFILMENT_H, component_names
from shoppulse.hll import HyperLogLog
from shoppulse.inventory import GAUGE_COMPONENTS
from shoppulse.metric_names import KPI_METRIC_BY_NAME, KPI_METRICS
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot
from tests.alerts.alert_records import roas_alert
from tests.api.helpers import FakeClock
from tests.promtool import check_metrics

HISTOGRAMS = [component_names(spec) for spec in (FIRST_RESPONSE_S, FULFILMENT_H)]
PLAIN = [c for c in COUNT_COMPONENTS if not any(c in names for names in HISTOGRAMS)]
MIN = 60_000
HOUR = 60 * MIN
DAY_START = 1_714_521_600_000  # 2024-05-01T00:00:00Z
SAMPLE = re.compile(r'^(\w+)\{period="(\w+)",store_id="([\w-]+)",window="(\w+)"\} (\S+)$')


def _sketch(rng: random.Random, n: int) -> str:
    sketch = HyperLogLog()
    sketch.update(f"v{rng.randrange(5 * n + 1)}" for _ in range(n))
    return sketch.to_base64()


def _minute(
    rng: random.Random,
    store: str,
    start: int,
    *,
    final: bool = True,
    currency: str | None = "EUR",
    sketches: bool = True,
) -> KpiSnapshot:
    components = {name: rng.randrange(0, 40) for name in rng.sample(PLAIN, 30)}
    for names in HISTOGRAMS:  # buckets, then the sum in ticks (zero when empty)
        counts = [rng.randrange(0, 3) for _ in names[:-1]]
        total_ticks = sum(counts) * rng.randrange(1, 10_000)
        components.update(zip(names, [*counts, total_ticks], strict=True))
    components["orders_paid"] = rng.randrange(0, 6)
    components["sessions"] = rng.randrange(1, 90)
    components["visitors"] = rng.randrange(1, components["sessions"] + 1)
    if rng.random() < 0.3:
        components.update({name: rng.randrange(0, 500) for name in GAUGE_COMPONENTS})
    return KpiSnapshot(
        store_id=store,
        window_start_ms=start,
        window_end_ms=start + MIN,
        final=final,
        revision=rng.randrange(1, 4),
        currency=currency,
        components=components,
        emitted_at_ms=start + MIN + 1_000,
        sketches=({"visitors": _sketch(rng, 20), "sessions": _sketch(rng, 30)} if sketches else {}),
    )


def _fill(view: KpiView, now_ms: int, seed: int = 7) -> None:
    """Two days of minutes (sparse, then dense near now and the same time yesterday)."""
    rng = random.Random(seed)
    current = now_ms - now_ms % MIN
    starts = set(range(DAY_START - DAY_MS, current + MIN, 7 * MIN))
    for base in (current, current - DAY_MS):
        starts.update(range(base - 70 * MIN, base + MIN, MIN))
    for start in sorted(s for s in starts if s <= current):
        open_minute = start >= current - MIN  # the current minute and one within grace
        view.apply(_minute(rng, "s1", start, final=not open_minute))
        view.apply(_minute(rng, "s2", start, currency="USD", final=not open_minute))
        if rng.random() < 0.8:  # no orders, hence no currency; a few minutes without sketches
            currency = "EUR" if rng.random() < 0.7 else None
            view.apply(_minute(rng, "s3", start, currency=currency, sketches=rng.random() < 0.9))
        if start < current - 12 * HOUR:
            view.apply(_minute(rng, "s4", start))  # only early minutes: zeros now


def _samples(text: str) -> dict[tuple[str, str, str, str], float]:
    out = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match:
            name, period, store, window, value = match.groups()
            out[(name, store, window, period)] = float(value)
    return out


def _expected(view: KpiView) -> dict[tuple[str, str, str, str], float]:
    out: dict[tuple[str, str, str, str], float] = {}
    for store in [*view.stores(), ALL_STORES]:
        for window in WINDOWS:
            rollup = view.rollup(store, window)
            yesterday = compare(view, rollup).values["yesterday"]
            for period, kpis in (("current", rollup.kpis), ("yesterday", yesterday)):
                for kpi, value in kpis.items():
                    if value is not None:
                        metric = KPI_METRIC_BY_NAME[kpi]
                        out[(metric.name, store, window, period)] = metric.to_metric(value)
    return out


@pytest.mark.parametrize(
    "now_ms",
    [DAY_START + 30_000, DAY_START + 12 * HOUR + 34 * MIN + 30_000, DAY_START + DAY_MS - 30_000],
    ids=["00:00:30", "12:34:30", "23:59:30"],
)
def test_kpi_gauges_equal_the_rest_rollups_and_comparisons(now_ms: int) -> None:
    clock = FakeClock(now_ms)
    view = KpiView(clock=clock)
    _fill(view, now_ms)
    metrics = ApiMetrics.create(view)
    metrics.update()
    got = _samples(metrics.render().decode())
    expected = _expected(view)
    assert len(expected) > 1000
    assert got.keys() == expected.keys()
    different = {k: (got[k], v) for k, v in expected.items() if got[k] != pytest.approx(v)}
    assert not different
    # All stores: money is unavailable across EUR and USD; the USD store alone has it.
    assert ("shoppulse_kpi_gmv_minor", ALL_STORES, "1h", "current") not in got
    assert ("shoppulse_kpi_gmv_minor", "s2", "1h", "current") in got


def test_sealed_blocks_are_reused_and_a_revised_minute_is_recomputed() -> None:
    now = DAY_START + 15 * HOUR + 30_000
    clock = FakeClock(now)
    view = KpiView(clock=clock)
    _fill(view, now)
    metrics = ApiMetrics.create(view)
    metrics.update()
    cache = metrics.sampler.cache
    assert cache.misses > 0
    assert cache.size > 0
    misses = cache.misses
    metrics.update()
    assert cache.misses == misses  # nothing sealed changed: only open minutes recomputed
    assert cache.hits > 0
    # A newer revision of a final minute two hours ago (a re-published minute).
    old = view.minutes("s1", now - 3 * HOUR, now - 2 * HOUR)[0]
    revised = KpiSnapshot(
        store_id="s1",
        window_start_ms=old.window_start_ms,
        window_end_ms=old.window_end_ms,
        final=True,
        revision=old.revision + 1,
        currency="EUR",
        components={**old.components, "orders_paid": 10_000},
        emitted_at_ms=now,
        sketches=old.sketches,
    )
    assert view.apply(revised)
    metrics.update()
    assert cache.misses > misses
    got = _samples(metrics.render().decode())
    today = view.rollup("s1", "today").kpis["orders"]
    assert got[("shoppulse_kpi_orders", "s1", "today", "current")] == today
    assert today is not None
    assert today >= 10_000


def test_the_yesterday_period_is_absent_where_the_view_holds_nothing() -> None:
    now = DAY_START + 10 * HOUR + 30_000
    view = KpiView(clock=FakeClock(now))
    rng = random.Random(3)
    minute = _minute(rng, "s1", now - now % MIN, final=False)
    view.apply(minute)
    metrics = ApiMetrics.create(view)
    metrics.update()
    got = _samples(metrics.render().decode())
    assert {period for (_, _, _, period) in got} == {"current"}
    # The orders KPI is the paid orders, here those of the one minute in the hour.
    assert got[("shoppulse_kpi_orders", "s1", "1h", "current")] == minute.components["orders_paid"]


def test_series_stay_within_kpis_stores_windows_and_periods() -> None:
    """20 stores: at most 42 KPIs x 21 store ids x 4 windows x 2 periods (7,056) series."""
    now = DAY_START + 9 * HOUR + 30_000
    view = KpiView(clock=FakeClock(now))
    rng = random.Random(11)
    for store in range(20):
        for start in (now - now % MIN - MIN, now - now % MIN - DAY_MS):
            view.apply(_minute(rng, f"store-{store:03d}", start))
    metrics = ApiMetrics.create(view)
    metrics.update()
    got = _samples(metrics.render().decode())
    bound = len(KPI_METRICS) * 21 * len(WINDOWS) * 2
    assert bound == 7056
    assert len(got) <= bound
    assert len(got) > bound // 2
    assert {store for (_, store, _, _) in got} == {f"store-{i:03d}" for i in range(20)} | {"all"}


@pytest.fixture
def metrics_client(clock: FakeClock) -> Iterator[tuple[TestClient, KpiView, AlertBoard]]:
    view = KpiView(clock=clock)
    _fill(view, clock.now_ms, seed=5)
    board = AlertBoard()
    keys = [f"ops:operator:{hash_key('k' * 32)}", f"wall:viewer:{hash_key(VIEWER_KEY)}"]
    keys.append(f"shop:ingest:{hash_key('i' * 32)}")
    settings = Settings(topic_namespace="unit.", api_keys=",".join(keys))
    app = create_app(settings, start_feed=False, view=view, alert_board=board)
    with TestClient(app) as client:
        yield client, view, board


VIEWER_KEY = "v" * 32


def test_metrics_need_a_viewer_key_when_keys_are_set(
    metrics_client: tuple[TestClient, KpiView, AlertBoard],
) -> None:
    client, _, _ = metrics_client
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "shoppulse_kpi" not in response.text
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    ingest = {"Authorization": "Bearer " + "i" * 32}
    assert client.get("/metrics", headers=ingest).status_code == 403
    viewer = {"Authorization": f"Bearer {VIEWER_KEY}"}
    assert client.get("/metrics", headers=viewer).status_code == 200


def test_kiosk_mode_keeps_metrics_readable_like_the_other_reads(clock: FakeClock) -> None:
    settings = Settings(
        topic_namespace="unit.", api_keys=f"wall:viewer:{hash_key(VIEWER_KEY)}", api_kiosk=True
    )
    app = create_app(settings, start_feed=False, view=KpiView(clock=clock))
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/api/v1/stores").status_code == 200


def test_the_api_exports_process_and_python_collectors(
    metrics_client: tuple[TestClient, KpiView, AlertBoard],
) -> None:
    client, _, _ = metrics_client
    text = client.get("/metrics", headers={"Authorization": f"Bearer {VIEWER_KEY}"}).text
    for family in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "python_info",
        "python_gc_objects_collected_total",
    ):
        assert re.search(rf"^{family}(\{{| )", text, re.MULTILINE), family
    app = client.app
    assert isinstance(app, FastAPI)
    assert app.state.metrics.registry is not REGISTRY  # injected, not the global one


def test_metrics_route_is_promtool_clean(
    metrics_client: tuple[TestClient, KpiView, AlertBoard], clock: FakeClock
) -> None:
    client, _, board = metrics_client
    assert client.get("/api/v1/stores").status_code == 401  # keys are configured
    board.apply(roas_alert("s1", start=clock.now_ms - MIN, value=2.0))
    response = client.get("/metrics", headers={"Authorization": f"Bearer {VIEWER_KEY}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    check_metrics(response.content)
    for line in (
        'shoppulse_alerts_firing{severity="warning",store_id="s1"} 1.0',
        'shoppulse_alerts_firing{severity="warning",store_id="all"} 1.0',
        'shoppulse_alerts_firing{severity="critical",store_id="s2"} 0.0',
        'shoppulse_store_info{currency="USD",store_id="s2"} 1.0',
        "shoppulse_websocket_clients 0.0",
        'shoppulse_view_snapshots_total{outcome="applied"}',
    ):
        assert line in text, line
    assert 'shoppulse_kpi_orders{period="yesterday",store_id="s1",window="today"}' in text
    latest = _value(text, 'shoppulse_store_last_update_timestamp_seconds{store_id="all"}')
    assert latest == max(
        _value(text, f'shoppulse_store_last_update_timestamp_seconds{{store_id="{s}"}}')
        for s in ("s1", "s2", "s3")
    )
    assert "/metrics" in client.get("/openapi.json").json()["paths"]


def test_websocket_clients_are_counted(
    metrics_client: tuple[TestClient, KpiView, AlertBoard],
) -> None:
    client, _, _ = metrics_client
    headers = {"X-API-Key": "k" * 32}
    with client.websocket_connect("/ws/live?store=all", headers=headers) as ws:
        assert ws.receive_json()["type"] == "snapshot"
        assert "shoppulse_websocket_clients 1.0" in client.get("/metrics", headers=headers).text
    assert "shoppulse_websocket_clients 0.0" in client.get("/metrics", headers=headers).text


def _value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{series} not in the output")
