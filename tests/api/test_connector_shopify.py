"""``POST /api/v1/connectors/shopify/{store_id}`` with recorded Shopify webhook payloads:
signatures, headers, topics and bodies (unit, with an in-memory producer; the real broker
and worker: test_connector_integration)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.connectors.shopify import sign
from api.security import hash_key
from api.view import KpiView
from shoppulse.settings import Settings
from tests.api.fakes import FakeEventProducer

PAYLOADS = Path(__file__).parent / "payloads"
URL = "/api/v1/connectors/shopify/acme"
SECRET = "hush_shopify_app_secret"


def recorded(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def headers(body: bytes, topic: str | None = "orders/paid", secret: str = SECRET) -> dict[str, str]:
    out = {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": sign(secret.encode(), body),
        "X-Shopify-Shop-Domain": "acme.myshopify.com",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-API-Version": "2024-04",
    }
    if topic is not None:
        out["X-Shopify-Topic"] = topic
    return out


def sent(producer: FakeEventProducer) -> list[dict[str, Any]]:
    return [orjson.loads(r.value) for r in producer.sent]


@pytest.fixture
def producer() -> FakeEventProducer:
    return FakeEventProducer()


def _client(view: KpiView, producer: FakeEventProducer, secret: str | None) -> TestClient:
    settings = Settings(
        topic_namespace="unit.",
        api_keys=f"seg:ingest:{hash_key('sp_some_key')}",  # keys do not apply to webhooks
        shopify_webhook_secret=SecretStr(secret) if secret is not None else None,
    )
    return TestClient(create_app(settings, start_feed=False, view=view, event_producer=producer))


@pytest.fixture
def client(view: KpiView, producer: FakeEventProducer) -> Iterator[TestClient]:
    with _client(view, producer, SECRET) as c:
        yield c


@pytest.mark.parametrize(
    ("name", "topic", "expected"),
    [
        (
            "shopify_orders_create.json",
            "orders/create",
            {"status": "placed", "ts": 1_714_564_720_000, "amount_minor": 40300},
        ),
        (
            "shopify_orders_paid.json",
            "orders/paid",
            {"status": "paid", "ts": 1_714_564_745_000, "amount_minor": 40300},
        ),
    ],
)
def test_order_webhooks_become_order_events(
    client: TestClient,
    producer: FakeEventProducer,
    name: str,
    topic: str,
    expected: dict[str, Any],
) -> None:
    body = recorded(name)
    r = client.post(URL, content=body, headers=headers(body, topic))
    assert (r.status_code, r.json()["accepted"]) == (202, 1), r.text
    [event] = sent(producer)
    assert producer.sent[0].topic == "shop.orders"
    assert producer.sent[0].key == b"acme"
    assert event == {
        "event_id": f"shopify:{topic}:820982911946154508",
        "store_id": "acme",
        "order_id": "820982911946154508",
        "customer_id": "115310627314723954",
        "currency": "USD",
        "items": [
            {"sku": "IPOD2008PINK", "qty": 1, "unit_price_minor": 19900},
            {"sku": "variant:808950811", "qty": 1, "unit_price_minor": 19900},  # sku ""
        ],
        **expected,
    }


def test_a_refund_is_the_money_its_successful_refund_transactions_moved(
    client: TestClient, producer: FakeEventProducer
) -> None:
    body = recorded("shopify_refunds_create.json")
    r = client.post(URL, content=body, headers=headers(body, "refunds/create"))
    assert r.status_code == 202, r.text
    [event] = sent(producer)
    assert event == {
        "event_id": "shopify:refunds/create:509562969",
        "store_id": "acme",
        "ts": 1_714_564_785_000,
        "order_id": "820982911946154508",
        "customer_id": "unknown",
        "status": "refunded",
        "amount_minor": 19965,
        "currency": "USD",
    }


def test_a_retried_delivery_carries_the_same_event_id(
    client: TestClient, producer: FakeEventProducer
) -> None:
    body = recorded("shopify_orders_paid.json")
    for _ in range(2):
        assert client.post(URL, content=body, headers=headers(body)).status_code == 202
    first, again = sent(producer)
    assert first == again


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"X-Shopify-Hmac-Sha256": None}, "the X-Shopify-Hmac-Sha256 header is missing"),
        ({"X-Shopify-Hmac-Sha256": ""}, "the X-Shopify-Hmac-Sha256 header is missing"),
        ({"X-Shopify-Hmac-Sha256": sign(b"another secret", b"{}")}, "does not sign this body"),
        ({"X-Shopify-Hmac-Sha256": "not base64 at all"}, "does not sign this body"),
    ],
)
def test_a_wrong_or_missing_signature_is_401_and_nothing_is_produced(
    client: TestClient, producer: FakeEventProducer, change: dict[str, str | None], needle: str
) -> None:
    body = recorded("shopify_orders_paid.json")
    sent_headers = headers(body)
    for name, value in change.items():
        sent_headers.pop(name)
        if value is not None:
            sent_headers[name] = value
    r = client.post(URL, content=body, headers=sent_headers)
    assert r.status_code == 401
    assert needle in r.json()["detail"]
    assert producer.sent == []


def test_a_signature_of_other_bytes_of_the_same_json_is_refused(
    client: TestClient, producer: FakeEventProducer
) -> None:
    body = recorded("shopify_orders_paid.json")
    compact = orjson.dumps(orjson.loads(body))  # the same JSON, other bytes
    r = client.post(URL, content=body, headers=headers(compact))
    assert r.status_code == 401
    assert producer.sent == []


def test_without_a_configured_secret_every_webhook_is_refused(
    view: KpiView, producer: FakeEventProducer
) -> None:
    body = recorded("shopify_orders_paid.json")
    with _client(view, producer, None) as c:
        r = c.post(URL, content=body, headers=headers(body))
    assert r.status_code == 401
    assert "SHOPPULSE_SHOPIFY_WEBHOOK_SECRET is not set" in r.json()["detail"]
    assert producer.sent == []


def test_a_missing_topic_is_400(client: TestClient, producer: FakeEventProducer) -> None:
    body = recorded("shopify_orders_paid.json")
    r = client.post(URL, content=body, headers=headers(body, topic=None))
    assert (r.status_code, r.json()["detail"]) == (400, "the X-Shopify-Topic header is missing")
    assert producer.sent == []


def test_other_topics_are_acknowledged_and_ignored(
    client: TestClient, producer: FakeEventProducer
) -> None:
    body = b'{"id": 632910392, "title": "IPod Nano - 8GB"}'
    r = client.post(URL, content=body, headers=headers(body, "products/update"))
    assert r.status_code == 202
    assert r.json()["accepted"] == 0
    assert r.json()["ignored"] == [
        {"index": 0, "detail": "topic 'products/update' carries no order event"}
    ]
    assert producer.sent == []


def test_a_refund_without_money_is_ignored(client: TestClient, producer: FakeEventProducer) -> None:
    refund = orjson.loads(recorded("shopify_refunds_create.json"))
    refund["transactions"] = []  # a restock-only refund
    body = orjson.dumps(refund)
    r = client.post(URL, content=body, headers=headers(body, "refunds/create"))
    assert (r.status_code, r.json()["accepted"]) == (202, 0)
    assert "no successful refund transaction" in r.json()["ignored"][0]["detail"]
    assert producer.sent == []


def _without(name: str, *fields: str, **values: Any) -> bytes:
    order = orjson.loads(recorded(name))
    for f in fields:
        del order[f]
    return orjson.dumps(order | values)


@pytest.mark.parametrize(
    ("body", "topic", "needle"),
    [
        (b'{"id": 1, "currency": "USD"', "orders/paid", "the body is not valid JSON"),
        (b"[1, 2]", "orders/paid", "the body must be a JSON object"),
        (_without("shopify_orders_paid.json", "currency"), "orders/paid", "currency None"),
        (_without("shopify_orders_paid.json", "total_price"), "orders/paid", "total_price"),
        (_without("shopify_orders_paid.json", "id"), "orders/paid", "id is required"),
        (_without("shopify_orders_create.json", "created_at"), "orders/create", "created_at"),
        (_without("shopify_orders_paid.json", total_price="-"), "orders/paid", "amount '-'"),
        (_without("shopify_refunds_create.json", "order_id"), "refunds/create", "order_id"),
        (_without("shopify_orders_paid.json", currency="usd1"), "orders/paid", "ISO 4217"),
        # mapped, but breaks the shop.orders contract: refused the same way
        (
            _without(
                "shopify_orders_paid.json",
                line_items=[{"sku": "A", "quantity": 10**6, "price": "1.00"}],
            ),
            "orders/paid",
            "items.0.qty",
        ),
    ],
)
def test_a_malformed_body_is_422_with_the_reason_and_nothing_is_produced(
    client: TestClient, producer: FakeEventProducer, body: bytes, topic: str, needle: str
) -> None:
    r = client.post(URL, content=body, headers=headers(body, topic))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert needle in detail["message"] + " ".join(e["detail"] for e in detail["errors"])
    assert producer.sent == []


def test_kafka_down_is_503_so_shopify_retries(
    client: TestClient, producer: FakeEventProducer
) -> None:
    producer.fail = True
    body = recorded("shopify_orders_paid.json")
    assert client.post(URL, content=body, headers=headers(body)).status_code == 503
