"""``POST /api/v1/events`` route logic (unit, with an in-memory producer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.view import KpiView
from shoppulse.settings import Settings
from tests.api.fakes import FakeEventProducer

TS = 1_700_000_000_000


def order(i: int, **over: Any) -> dict[str, Any]:
    event = {
        "event_id": f"o{i}",
        "store_id": "s1",
        "ts": TS,
        "order_id": f"order-{i}",
        "customer_id": f"c{i}",
        "status": "paid",
        "amount_minor": 1_000,
        "currency": "EUR",
    }
    return {"topic": "shop.orders", "event": event | over}


@pytest.fixture
def producer() -> FakeEventProducer:
    return FakeEventProducer()


@pytest.fixture
def ingest(view: KpiView, producer: FakeEventProducer) -> Iterator[TestClient]:
    settings = Settings(topic_namespace="unit.", api_max_body_bytes=64 * 1024)
    app = create_app(settings, start_feed=False, view=view, event_producer=producer)
    with TestClient(app) as c:
        yield c


def test_one_event_and_a_batch_are_produced_keyed_by_store(
    ingest: TestClient, producer: FakeEventProducer
) -> None:
    assert ingest.post("/api/v1/events", json=order(1)).json()["accepted"] == 1
    r = ingest.post("/api/v1/events", json=[order(2), order(3)])
    assert (r.status_code, r.json()["accepted"]) == (202, 2)
    assert [(x.topic, x.key) for x in producer.sent] == [("shop.orders", b"s1")] * 3
    assert orjson.loads(producer.sent[2].value)["event_id"] == "o3"


def test_a_bad_event_rejects_the_batch_and_names_each_problem(
    ingest: TestClient, producer: FakeEventProducer
) -> None:
    batch = [order(1), order(2, amount_minor=-5), order(3), order(4, ts="yesterday")]
    r = ingest.post("/api/v1/events", json=batch)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["message"] == "2 of 4 events rejected; nothing was produced"
    assert [(e["index"], e["reason"]) for e in detail["errors"]] == [(1, "schema"), (3, "schema")]
    assert "amount_minor" in detail["errors"][0]["detail"]
    assert producer.sent == []


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "the batch is empty"),
        (b'{"topic": "shop.refunds", "event": {}}', "topic must be one of"),
        (b'{"topic": "shop.orders", "event": [1]}', "event must be a JSON object"),
        (b'{"topic": "shop.orders", "event": {}, "x": 1}', "unknown envelope fields: x"),
        (b'{"topic": "shop.orders", "event": {"amount_minor": NaN}}', "not valid JSON"),
    ],
)
def test_malformed_bodies_get_a_precise_422(
    ingest: TestClient, producer: FakeEventProducer, body: bytes, needle: str
) -> None:
    r = ingest.post("/api/v1/events", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert needle in r.text
    assert producer.sent == []


def test_too_many_events_and_too_large_bodies(ingest: TestClient, view: KpiView) -> None:
    roomy = Settings(api_max_body_bytes=4 * 1024 * 1024)
    with TestClient(create_app(roomy, start_feed=False, view=view)) as c:
        r = c.post("/api/v1/events", json=[order(i) for i in range(1_001)])
    assert r.status_code == 422
    assert "a batch holds at most 1000 events, not 1001" in r.text
    big = b"[" + b",".join(orjson.dumps(order(i)) for i in range(400)) + b"]"
    r = ingest.post("/api/v1/events", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert "larger than 65536 bytes" in r.json()["detail"]


def test_chunked_bodies_are_counted_too(ingest: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 1024

    r = ingest.post(
        "/api/v1/events", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413


def test_kafka_unavailable_is_503_and_says_to_retry(
    ingest: TestClient, producer: FakeEventProducer
) -> None:
    producer.fail = True
    r = ingest.post("/api/v1/events", json=order(1))
    assert r.status_code == 503
    assert "not reachable" in r.json()["detail"]
