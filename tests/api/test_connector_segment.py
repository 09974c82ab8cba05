"""``POST /api/v1/connectors/segment/{store_id}`` with recorded Segment / RudderStack payloads
(unit, with an in-memory producer; the real broker and worker: test_connector_integration)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.security import hash_key
from api.view import KpiView
from shoppulse.settings import Settings
from tests.api.fakes import FakeEventProducer
from tests.api.helpers import MINUTE, make_snap

PAYLOADS = Path(__file__).parent / "payloads"
URL = "/api/v1/connectors/segment/s1"
KEY = "sp_ingest_segment"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((PAYLOADS / name).read_bytes())
    return data


def sent(producer: FakeEventProducer) -> list[tuple[str, dict[str, Any]]]:
    return [(r.topic, orjson.loads(r.value)) for r in producer.sent]


@pytest.fixture
def producer() -> FakeEventProducer:
    return FakeEventProducer()


@pytest.fixture
def client(view: KpiView, producer: FakeEventProducer) -> Iterator[TestClient]:
    settings = Settings(topic_namespace="unit.", api_keys=f"seg:ingest:{hash_key(KEY)}")
    app = create_app(settings, start_feed=False, view=view, event_producer=producer)
    with TestClient(app, headers={"X-API-Key": KEY}) as c:
        yield c


def test_a_recorded_batch_maps_the_funnel_and_the_order_and_ignores_the_rest(
    client: TestClient, producer: FakeEventProducer
) -> None:
    r = client.post(URL, json=payload("segment_batch.json"))
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["accepted"] == 5
    assert [(i["index"], i["detail"]) for i in body["ignored"]] == [
        (2, "track event 'Product List Viewed' has no ShopPulse event"),
        (5, "identify calls carry no shop event"),
    ]
    events = sent(producer)
    assert [(t, e.get("kind", e.get("status"))) for t, e in events] == [
        ("shop.clicks", "page_view"),
        ("shop.clicks", "product_view"),
        ("shop.clicks", "add_to_cart"),
        ("shop.clicks", "checkout"),
        ("shop.orders", "paid"),
    ]
    assert all(r.key == b"s1" for r in producer.sent)
    page, viewed = events[0][1], events[1][1]
    assert page == {
        "event_id": "seg:ajs-next-1714564700001-4b3f6a1e-0c1d-4d57-9a51-0f5a2c1e7b01",
        "store_id": "s1",
        "ts": 1_714_564_700_120,
        "visitor_id": "507f191e810c19729de860ea",
        "session_id": "507f191e810c19729de860ea:2024-05-01",
        "kind": "page_view",
        "channel": "paid",
    }
    assert (viewed["sku"], viewed["session_id"]) == ("G-32", page["session_id"])
    order = events[4][1]
    assert order == {
        "event_id": "seg:ajs-next-1714564740007-4f5a6b7c-8d9e-4f0a-9b1c-3d4e5f6a7b07",
        "store_id": "s1",
        "ts": 1_714_564_750_000,
        "order_id": "50314b8e9bcf000000000000",
        "customer_id": "97980cfea0067",
        "status": "paid",
        "amount_minor": 2750,  # total 27.50 USD
        "currency": "USD",
        "items": [
            {"sku": "45790-32", "qty": 1, "unit_price_minor": 1900},
            {"sku": "46493-32", "qty": 2, "unit_price_minor": 300},
        ],
        "visitor_id": "507f191e810c19729de860ea",  # the same visitor's clicks: one person
        "channel": "paid",
    }


def test_rudderstack_order_in_a_zero_decimal_currency_with_its_session(
    client: TestClient, producer: FakeEventProducer
) -> None:
    r = client.post(URL, json=payload("rudderstack_order_completed.json"))
    assert (r.status_code, r.json()["accepted"]) == (202, 1), r.text
    [(topic, order)] = sent(producer)
    assert (topic, order["amount_minor"], order["currency"]) == ("shop.orders", 1980, "JPY")
    assert order["items"] == [{"sku": "p-77", "qty": 2, "unit_price_minor": 900}]
    assert (order["session_id"], order["channel"]) == ("1714564400123", "email")
    assert order["ts"] == 1_714_564_760_212


def test_order_refunded_and_a_retry_keeps_the_event_id(
    client: TestClient, producer: FakeEventProducer
) -> None:
    refund = payload("segment_order_refunded.json")
    for _ in range(2):  # the sender's retry carries the same messageId
        assert client.post(URL, json=refund).status_code == 202
    [(_, first), (_, again)] = sent(producer)
    assert first == again
    assert (first["status"], first["amount_minor"], first["customer_id"]) == (
        "refunded",
        3000,
        "97980cfea0067",
    )


def test_an_anonymous_order_is_its_visitors(
    client: TestClient, producer: FakeEventProducer
) -> None:
    message = payload("segment_order_refunded.json")
    del message["userId"]
    message["properties"]["currency"] = "kwd"
    message["properties"]["total"] = "12.3456"
    assert client.post(URL, json=message).status_code == 202
    [(_, order)] = sent(producer)
    assert (order["customer_id"], order["visitor_id"]) == (
        "507f191e810c19729de860ea",  # no prefix: the worker joins it to the user (ADR 20)
        "507f191e810c19729de860ea",
    )
    assert (order["amount_minor"], order["currency"]) == (12346, "KWD")  # 3 decimals, half up


def test_a_logged_in_order_names_its_visitor_too(
    client: TestClient, producer: FakeEventProducer
) -> None:
    assert client.post(URL, json=payload("segment_order_refunded.json")).status_code == 202
    [(_, order)] = sent(producer)
    assert (order["customer_id"], order["visitor_id"]) == (
        "97980cfea0067",
        "507f191e810c19729de860ea",
    )
    message = payload("segment_order_refunded.json")
    del message["anonymousId"]
    message["messageId"] = "another"
    assert client.post(URL, json=message).status_code == 202
    [_, (_, order)] = sent(producer)
    assert "visitor_id" not in order


def _bad_batch(index: int, **changes: Any) -> dict[str, Any]:
    batch = copy.deepcopy(payload("segment_batch.json"))
    message = batch["batch"][index]
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = message
        for p in parents:
            target = target[p]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return batch


@pytest.mark.parametrize(
    ("batch", "index", "needle"),
    [
        (_bad_batch(6, properties__currency=None), 6, "properties.currency is required"),
        (_bad_batch(6, properties__currency="dollars"), 6, "is not an ISO 4217 code"),
        (_bad_batch(6, properties__total="lots"), 6, "amount 'lots' is not a decimal number"),
        (_bad_batch(6, properties__total="1e999999999"), 6, "is not finite or too large"),
        (_bad_batch(6, properties__order_id=None), 6, "properties.order_id is required"),
        (_bad_batch(1, messageId=None), 1, "messageId is required"),
        (_bad_batch(3, anonymousId=None), 3, "anonymousId or userId is required"),
        (_bad_batch(3, timestamp="yesterday"), 3, "timestamp:"),
        (_bad_batch(0, type=None), 0, "a message needs type"),
        # passes the mapping, breaks the shop.orders contract: the same refusal
        (_bad_batch(6, properties__products=[{"sku": "A", "price": 1, "quantity": 10**6}]), 6,
         "items.0.qty"),
    ],
)  # fmt: skip
def test_a_bad_message_refuses_the_whole_request_by_index(
    client: TestClient,
    producer: FakeEventProducer,
    batch: dict[str, Any],
    index: int,
    needle: str,
) -> None:
    r = client.post(URL, json=batch)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["message"] == "1 of 7 source events rejected; nothing was produced"
    [error] = detail["errors"]
    assert (error["index"], error["reason"]) == (index, "schema")
    assert needle in error["detail"]
    assert producer.sent == []


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"batch": []}', "the batch is empty"),
        (b'{"batch": {"type": "track"}}', "batch must be a JSON array"),
        (b'[{"type": "track"}]', 'send a batch as {"batch": [...]}'),
        (b"[]", 'send a batch as {"batch": [...]}'),
    ],
)
def test_a_malformed_body_is_refused_with_the_reason(
    client: TestClient, producer: FakeEventProducer, body: bytes, needle: str
) -> None:
    r = client.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert needle in r.json()["detail"]["message"]
    assert producer.sent == []


def test_a_late_order_is_refused_like_ingest_refuses_it(
    client: TestClient, view: KpiView, producer: FakeEventProducer
) -> None:
    view.apply(make_snap("s1", MINUTE, final=True))  # 12:00 closed; the order is at 11:59
    r = client.post(URL, json=payload("segment_order_refunded.json"))
    assert r.status_code == 422
    assert [e["reason"] for e in r.json()["detail"]["errors"]] == ["late"]
    assert producer.sent == []


def test_needs_an_ingest_key_a_valid_store_and_kafka(
    client: TestClient, producer: FakeEventProducer
) -> None:
    body = payload("segment_order_refunded.json")
    assert client.post(URL, json=body, headers={"X-API-Key": "sp_wrong"}).status_code == 401
    assert client.post("/api/v1/connectors/segment/a b", json=body).status_code == 422
    producer.fail = True
    r = client.post(URL, json=body)
    assert r.status_code == 503
    assert producer.sent == []


def test_only_ignored_messages_are_a_success_that_produces_nothing(
    client: TestClient, producer: FakeEventProducer
) -> None:
    body = {"batch": [{"type": "identify", "userId": "u1", "messageId": "m1"}]}
    r = client.post(URL, json=body)
    assert (r.status_code, r.json()["accepted"], len(r.json()["ignored"])) == (202, 0, 1)
    assert producer.sent == []
