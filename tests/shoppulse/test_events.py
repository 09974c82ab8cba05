from __future__ import annotations

from typing import Any

import orjson
import pytest

from shoppulse.events import (
    ChatEvent,
    ClickEvent,
    InventoryEvent,
    OrderEvent,
    Rejection,
    decode_event,
)

BASE: dict[str, Any] = {"event_id": "e1", "store_id": "store-1", "ts": 1_700_000_000_000}
ORDER = {
    **BASE,
    "order_id": "o1",
    "customer_id": "c1",
    "status": "paid",
    "amount_minor": 1999,
    "currency": "EUR",
    "items": [{"sku": "A", "qty": 1, "unit_price_minor": 1999}],
    "channel": "organic",
}
CLICK = {**BASE, "session_id": "s", "visitor_id": "v", "kind": "product_view", "sku": "A"}
CHAT = {**BASE, "conversation_id": "cv", "customer_id": "c1", "kind": "rated", "rating": 5}
INVENTORY = {**BASE, "sku": "A", "on_hand": 3, "reorder_point": 5}


@pytest.mark.parametrize(
    ("family", "payload", "model"),
    [
        ("shop.orders", ORDER, OrderEvent),
        ("shop.clicks", CLICK, ClickEvent),
        ("shop.chats", CHAT, ChatEvent),
        ("shop.inventory", INVENTORY, InventoryEvent),
    ],
)
def test_valid_events_decode(family: str, payload: dict[str, Any], model: type) -> None:
    event = decode_event(family, orjson.dumps(payload))
    assert isinstance(event, model)
    assert not isinstance(event, Rejection)
    assert event.ts_ms == 1_700_000_000_000


def test_rfc3339_with_offset_is_accepted() -> None:
    event = decode_event("shop.clicks", orjson.dumps({**CLICK, "ts": "2023-11-15T00:13:20+02:00"}))
    assert isinstance(event, ClickEvent)
    assert event.ts_ms == 1_700_000_000_000


def _reason(family: str, raw: bytes) -> tuple[str, str]:
    out = decode_event(family, raw)
    assert isinstance(out, Rejection), out
    return out.reason, out.detail


@pytest.mark.parametrize(
    ("raw", "reason", "fragment"),
    [
        (b"\xff\xfe", "invalid_utf8", "UTF-8"),
        (b"{not json", "invalid_json", ""),
        (b"[1, 2]", "not_an_object", "list"),
        (orjson.dumps({**ORDER, "amount_minor": -5}), "schema", "amount_minor"),
        (orjson.dumps({**ORDER, "amount_minor": "5"}), "schema", "amount_minor"),
        (orjson.dumps({**ORDER, "amount_minor": 1.5}), "schema", "amount_minor"),
        (orjson.dumps({**ORDER, "currency": "euro"}), "schema", "currency"),
        (orjson.dumps({**ORDER, "status": "lost"}), "schema", "status"),
        (orjson.dumps({**ORDER, "ts": "2023-11-15 00:13:20"}), "schema", "ts"),
        (orjson.dumps({**ORDER, "ts": 12}), "schema", "ts"),
        (orjson.dumps({k: v for k, v in ORDER.items() if k != "event_id"}), "schema", "event_id"),
        (b'{"event_id": "' + b"x" * 70_000 + b'"}', "too_large", "bytes"),
    ],
)
def test_bad_events_are_rejected_with_a_reason(raw: bytes, reason: str, fragment: str) -> None:
    got_reason, detail = _reason("shop.orders", raw)
    assert got_reason == reason
    assert fragment in detail


def test_unknown_topic_and_missing_value() -> None:
    assert _reason("shop.unknown", b"{}")[0] == "unknown_topic"
    assert _reason("shop.orders", None)[0] == "not_an_object"  # type: ignore[arg-type]


def test_deep_nesting_is_a_schema_error_not_a_crash() -> None:
    deep = b'{"event_id":"e","items":' + b"[" * 5000 + b"]" * 5000 + b"}"
    reason, _ = _reason("shop.orders", deep)
    assert reason in {"schema", "invalid_json"}
