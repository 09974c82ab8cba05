"""History sent through HTTP ingest, with the real parts: Kafka, the real worker and the API.

What the sender sees of each outcome (docs/ingest.md): an event older than the API's history
is accepted with a warning and counted by the worker, and its store is then known (not a
404) with no minutes served; an event of a minute the worker has closed, once the API has
read that minute's final snapshot, is refused as late; an event the API cannot know is late
(its view lags the worker) is accepted with the caveat and dead-lettered by the worker,
where ``shoppulse_dead_letters_total{reason="late"}`` counts it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.clock import wall_clock_ms
from cli.broker import free_port
from shoppulse import topics
from shoppulse.settings import Settings
from tests.api.api_process import ApiProcess
from tests.conftest import WorkerFactory
from tests.kafka_helpers import collect_snapshots, finals_by_minute, poll_until

pytestmark = pytest.mark.integration

MIN = 60_000
WAIT_S = 90.0


def _order(i: int, store: str, ts: int) -> dict[str, Any]:
    return {
        "topic": "shop.orders",
        "event": {
            "event_id": f"history-{store}-{i}",
            "store_id": store,
            "ts": ts,
            "order_id": f"order-{i}",
            "customer_id": f"c{i}",
            "status": "paid",
            "amount_minor": 500,
            "currency": "EUR",
        },
    }


def _store_when_closed(base_url: str, store: str, closed_until_ms: int) -> dict[str, Any]:
    """The store's entry in ``GET /api/v1/stores`` once the API has read its closed minute."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for entry in httpx.get(f"{base_url}/api/v1/stores", timeout=10).json()["stores"]:
            if entry["store_id"] == store and entry["closed_until_ms"] == closed_until_ms:
                return dict(entry)
        time.sleep(0.2)
    raise AssertionError(f"the API did not read the final minute of {store!r}")


def _late_dead_letters(settings: Settings, metrics_port: int) -> str:
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = httpx.get(url, timeout=10).text
        if 'shoppulse_dead_letters_total{reason="late"} 1.0' in text:
            return text
        time.sleep(0.5)
    return httpx.get(url, timeout=10).text


def test_history_before_the_api_window_is_counted_known_and_late_events_refused(
    settings: Settings, start_worker: WorkerFactory, tmp_path: Path
) -> None:
    start_worker()
    api = ApiProcess(settings.model_copy(update={"api_history_minutes": 30}), free_port(), tmp_path)
    api.start()
    try:
        now = wall_clock_ms()
        old = now - now % MIN - 120 * MIN  # two hours ago; the API keeps 30 minutes
        url = f"{api.base_url}/api/v1/events"
        r = httpx.post(url, json=[_order(0, "old", old + 1_000)], timeout=20)
        assert r.status_code == 202, r.text
        assert [(w["index"], w["reason"]) for w in r.json()["warnings"]] == [(0, "before_history")]

        snaps = collect_snapshots(settings, [("old", old)], WAIT_S)
        [final, *_] = finals_by_minute(snaps)[("old", old)]
        assert final.components["orders_paid"] == 1  # the worker counted it

        store = _store_when_closed(api.base_url, "old", old + MIN)
        assert (store["minutes"], store["latest_window_start_ms"]) == (0, old)
        kpis = httpx.get(f"{api.base_url}/api/v1/kpis", params={"store": "old"}, timeout=10)
        assert kpis.status_code == 200, kpis.text  # was 404 "unknown store"
        assert kpis.json()["minutes"] == 0
        assert any("before the minutes this API keeps" in n for n in kpis.json()["notes"])

        late = httpx.post(url, json=[_order(1, "old", old + 2_000)], timeout=20)
        assert late.status_code == 422, late.text
        [error] = late.json()["detail"]["errors"]
        assert (error["index"], error["reason"]) == (0, "late")

        metrics = httpx.get(f"{api.base_url}/metrics", timeout=10).text
        assert 'shoppulse_ingest_warnings_total{reason="before_history"} 1.0' in metrics
        assert 'shoppulse_ingest_rejected_events_total{reason="late"} 1.0' in metrics
        assert 'shoppulse_ingest_events_total{outcome="accepted"} 1.0' in metrics
    finally:
        api.stop()


def test_a_late_event_the_api_has_not_seen_closed_is_dead_lettered_visibly(
    settings: Settings, start_worker: WorkerFactory
) -> None:
    """The API's closed minutes lag the worker's; the extreme lag is an API that has read none
    (no KPI feed): it accepts the event with the caveat, and the worker refuses it visibly."""
    metrics_port = free_port()
    start_worker(settings.model_copy(update={"worker_metrics_port": metrics_port}))
    now = wall_clock_ms()
    minute = now - now % MIN - 10 * MIN
    with TestClient(create_app(settings, start_feed=False)) as api:
        first = api.post("/api/v1/events", json=[_order(0, "lag", minute + 1_000)])
        assert first.status_code == 202, first.text
        collect_snapshots(settings, [("lag", minute)], WAIT_S)  # the worker closed the minute
        r = api.post("/api/v1/events", json=[_order(1, "lag", minute + 2_000)])
        assert r.status_code == 202, r.text
        assert r.json()["warnings"] == []
        assert any('shoppulse_dead_letters_total{reason="late"}' in n for n in r.json()["notes"])
    [dead] = poll_until(settings, topics.DEADLETTER, lambda d: len(d) >= 1, 30.0)
    assert dead["reason"] == "late"
    assert "history-lag-1" in dead["raw_text"]
    assert 'shoppulse_dead_letters_total{reason="late"} 1.0' in _late_dead_letters(
        settings, metrics_port
    )
