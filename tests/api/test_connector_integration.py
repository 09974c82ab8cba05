"""Connectors through the real parts: ``shoppulse api`` (a child process, with API keys and a
Shopify secret) → Kafka → the real worker. A signed Shopify ``orders/paid`` and a Segment
``Order Completed``, each delivered twice (a retry), are counted once each in the store's
minute with a streamed NDJSON load; a webhook with a bad signature and a bad NDJSON line
produce nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from api.connectors.shopify import sign
from api.security import hash_key
from cli.broker import free_port
from shoppulse.settings import Settings
from tests.api.api_process import ApiProcess
from tests.conftest import WorkerFactory
from tests.kafka_helpers import collect_snapshots, finals_by_minute

pytestmark = pytest.mark.integration

PAYLOADS = Path(__file__).parent / "payloads"
INGEST_KEY = "sp_ingest_connector_secret"
SHOPIFY_SECRET = "shopify_connector_integration_secret"
STORE = "conn-store"


def _iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat()


def _shopify_paid(ts_ms: int) -> bytes:
    order: dict[str, Any] = orjson.loads((PAYLOADS / "shopify_orders_paid.json").read_bytes())
    order["created_at"] = order["updated_at"] = _iso(ts_ms)
    return orjson.dumps(order)


def _segment_completed(ts_ms: int) -> dict[str, Any]:
    batch: dict[str, Any] = orjson.loads((PAYLOADS / "segment_batch.json").read_bytes())
    [completed] = [m for m in batch["batch"] if m.get("event") == "Order Completed"]
    completed["timestamp"] = _iso(ts_ms)
    return {"batch": [completed]}


def _envelope(i: int, ts_ms: int) -> bytes:
    event = {
        "event_id": f"ndjson-{i}",
        "store_id": STORE,
        "ts": ts_ms,
        "order_id": f"nd-{i}",
        "customer_id": "c1",
        "status": "paid",
        "amount_minor": 500,
        "currency": "USD",
    }
    return orjson.dumps({"topic": "shop.orders", "event": event})


def test_shopify_segment_and_ndjson_orders_are_counted_once_in_the_stores_minute(
    settings: Settings, start_worker: WorkerFactory, tmp_path: Path
) -> None:
    api_settings = settings.model_copy(
        update={
            "api_keys": f"shop:ingest:{hash_key(INGEST_KEY)}",
            "shopify_webhook_secret": SecretStr(SHOPIFY_SECRET),
        }
    )
    start_worker()
    api = ApiProcess(api_settings, free_port(), tmp_path)
    api.start()
    try:
        minute = (time.time_ns() // 1_000_000) // 60_000 * 60_000 - 5 * 60_000
        body = _shopify_paid(minute + 10_000)
        shopify_url = f"{api.base_url}/api/v1/connectors/shopify/{STORE}"
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/paid",
            "X-Shopify-Shop-Domain": "acme.myshopify.com",
            "X-Shopify-Hmac-Sha256": sign(SHOPIFY_SECRET.encode(), body),
        }
        forged = headers | {"X-Shopify-Hmac-Sha256": sign(b"guess", body)}
        assert httpx.post(shopify_url, content=body, headers=forged).status_code == 401
        for _ in range(2):  # Shopify's retry of the same delivery
            r = httpx.post(shopify_url, content=body, headers=headers, timeout=20)
            assert (r.status_code, r.json()["accepted"]) == (202, 1), r.text
        segment_url = f"{api.base_url}/api/v1/connectors/segment/{STORE}"
        auth = {"Authorization": f"Bearer {INGEST_KEY}"}
        for _ in range(2):  # the sender's retry: the same messageId
            r = httpx.post(
                segment_url, json=_segment_completed(minute + 20_000), headers=auth, timeout=20
            )
            assert (r.status_code, r.json()["accepted"]) == (202, 1), r.text

        # a streamed NDJSON load (chunked, through uvicorn) with a bad line
        lines = [_envelope(i, minute + 30_000 + i) for i in range(3)]
        lines.insert(1, b'{"topic": "shop.orders", "event": {"event_id": "broken"}}')

        def stream() -> Iterator[bytes]:
            for raw in lines:
                yield raw[:10]
                yield raw[10:] + b"\n"

        r = httpx.post(
            f"{api.base_url}/api/v1/events",
            content=stream(),
            headers=auth | {"Content-Type": "application/x-ndjson"},
            timeout=20,
        )
        assert r.status_code == 200, r.text
        assert (r.json()["accepted"], r.json()["refused_by_reason"]) == (3, {"schema": 1})

        snaps = collect_snapshots(settings, [(STORE, minute)], 90.0)
        [final, *_] = finals_by_minute(snaps)[(STORE, minute)]
        assert final.components["orders_paid"] == 2 + 3
        assert final.components["gmv_minor"] == 40300 + 2750 + 3 * 500  # USD
        assert final.currency == "USD"
    finally:
        api.stop()
    logs = "".join(p.read_text() for p in tmp_path.glob("api-*.log"))
    assert SHOPIFY_SECRET not in logs
    assert INGEST_KEY not in logs
