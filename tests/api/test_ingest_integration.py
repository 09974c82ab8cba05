"""HTTP ingest through the real parts: ``shoppulse api`` (a child process, with API keys) →
Kafka → the real worker, whose final minute counts exactly what was accepted; and the keys
used never appear in the API's log."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.security import hash_key
from cli.broker import free_port
from shoppulse.settings import Settings
from tests.api.api_process import ApiProcess
from tests.conftest import WorkerFactory
from tests.kafka_helpers import collect_snapshots, finals_by_minute

pytestmark = pytest.mark.integration

INGEST_KEY = "sp_ingest_integration_secret"
VIEWER_KEY = "sp_viewer_integration_secret"


def _order(i: int, ts: int, amount: int) -> dict[str, Any]:
    return {
        "topic": "shop.orders",
        "event": {
            "event_id": f"http-{i}",
            "store_id": "http-store",
            "ts": ts,
            "order_id": f"order-{i}",
            "customer_id": f"c{i % 7}",
            "status": "paid",
            "amount_minor": amount,
            "currency": "EUR",
        },
    }


def test_ingested_events_are_counted_exactly_and_keys_stay_out_of_logs(
    settings: Settings, start_worker: WorkerFactory, tmp_path: Path
) -> None:
    keys = f"shop:ingest:{hash_key(INGEST_KEY)},wall:viewer:{hash_key(VIEWER_KEY)}"
    api_settings = settings.model_copy(update={"api_keys": keys})
    start_worker()
    api = ApiProcess(api_settings, free_port(), tmp_path)
    api.start()
    try:
        minute = (time.time_ns() // 1_000_000) // 60_000 * 60_000 - 5 * 60_000
        batch = [_order(i, minute + i * 1_000, 100 * (i + 1)) for i in range(40)]
        url = f"{api.base_url}/api/v1/events"
        auth = {"Authorization": f"Bearer {INGEST_KEY}"}
        bad = httpx.post(
            url, json=[*batch[:3], {"topic": "shop.orders", "event": {}}], headers=auth
        )
        assert bad.status_code == 422
        assert httpx.post(url, json=batch[:1], headers={"X-API-Key": VIEWER_KEY}).status_code == 403
        for part in (batch[:25], batch[25:]):
            r = httpx.post(url, json=part, headers=auth, timeout=20)
            assert r.status_code == 202, r.text
        replay = httpx.post(url, json=batch[:5], headers=auth, timeout=20)  # a client retry
        assert replay.json()["accepted"] == 5
        # A browser-style read with the key in the query string.
        assert httpx.get(f"{api.base_url}/api/v1/stores?key={VIEWER_KEY}").status_code == 200

        snaps = collect_snapshots(settings, [("http-store", minute)], 90.0)
        [final, *_] = finals_by_minute(snaps)[("http-store", minute)]
        assert final.components["orders_paid"] == 40  # the retried five counted once
        assert final.components["gmv_minor"] == sum(100 * (i + 1) for i in range(40))
    finally:
        api.stop()
    logs = "".join(p.read_text() for p in tmp_path.glob("api-*.log"))
    assert "/api/v1/stores?key=***" in logs
    assert INGEST_KEY not in logs
    assert VIEWER_KEY not in logs
