"""Shopify order webhooks → ShopPulse order events (pure, no IO), and their signature.

Shopify signs each webhook: ``X-Shopify-Hmac-Sha256`` is base64(HMAC-SHA256(the app's client
secret, the raw body)); :func:`signature_ok` checks it in constant time. The topic is in
``X-Shopify-Topic``; :func:`map_webhook` maps ``orders/create`` (``placed``), ``orders/paid``
(``paid``) and ``refunds/create`` (``refunded``) and ignores other topics.

``event_id`` is ``shopify:<topic>:<order id>`` (``<refund id>`` for refunds): Shopify's
retries of a delivery, and a second subscription to the same topic, count once.
``docs/connectors.md`` lists every field.

>>> body = b'{"id": 1}'
>>> signature_ok(b"secret", body, sign(b"secret", body)), signature_ok(b"x", body, "AAAA")
(True, False)
>>> map_webhook("products/update", {"id": 1}, "s1").ignored
"topic 'products/update' carries no order event"
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, Final

from api.connectors.mapping import Mapped, MappingError, currency_of, text, to_minor
from shoppulse.timeutil import TimestampError, parse_ts_ms

ORDER_TOPICS: Final[dict[str, str]] = {"orders/create": "placed", "orders/paid": "paid"}
REFUND_TOPIC: Final = "refunds/create"
TOPICS: Final = (*ORDER_TOPICS, REFUND_TOPIC)
UNKNOWN_CUSTOMER: Final = "unknown"


def sign(secret: bytes, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, body)): the value of ``X-Shopify-Hmac-Sha256``."""
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def signature_ok(secret: bytes, body: bytes, header: str) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` (compared in constant time)."""
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


def map_webhook(topic: str, payload: object, store_id: str) -> Mapped:
    """A webhook's body mapped for ``store_id``; :class:`MappingError` when it cannot be."""
    if topic not in TOPICS:
        return Mapped(ignored=f"topic {topic!r} carries no order event")
    if not isinstance(payload, dict):
        raise MappingError("the body must be a JSON object")
    if topic == REFUND_TOPIC:
        return _refund(payload, store_id)
    return Mapped(envelope=_order(payload, store_id, topic))


def _ts(payload: dict[str, Any], *names: str) -> int:
    for name in names:
        value = payload.get(name)
        if value is not None:
            try:
                return parse_ts_ms(value)
            except TimestampError as exc:
                raise MappingError(f"{name}: {exc}") from None
    raise MappingError(f"{' or '.join(names)} is required")


def _id(payload: dict[str, Any], name: str) -> str:
    value = text(payload.get(name))
    if value is None:
        raise MappingError(f"{name} is required")
    return value


def _order(payload: dict[str, Any], store_id: str, topic: str) -> dict[str, Any]:
    order_id = _id(payload, "id")
    currency = currency_of(payload.get("currency"))
    if payload.get("total_price") is None:
        raise MappingError("total_price is required")
    customer = payload.get("customer")
    customer_id = text(customer.get("id")) if isinstance(customer, dict) else None
    # orders/create: when the order was placed; orders/paid: the update that paid it.
    names = ("created_at",) if topic == "orders/create" else ("updated_at", "created_at")
    event = {
        "event_id": f"shopify:{topic}:{order_id}",
        "store_id": store_id,
        "ts": _ts(payload, *names),
        "order_id": order_id,
        "customer_id": customer_id if customer_id is not None else f"guest:{order_id}",
        "status": ORDER_TOPICS[topic],
        "amount_minor": to_minor(payload["total_price"], currency),
        "currency": currency,
        "items": _line_items(payload.get("line_items"), currency),
    }
    return {"topic": "shop.orders", "event": event}


def _line_items(lines: object, currency: str) -> list[dict[str, Any]]:
    """``line_items`` as order items: ``sku``, else ``variant:<variant_id>``, else
    ``product:<product_id>``; a line without any, or without a price, is left out."""
    if not isinstance(lines, list):
        return []
    items = []
    for line in lines:
        if not isinstance(line, dict):
            continue
        sku = text(line.get("sku"))
        if sku is None and text(line.get("variant_id")) is not None:
            sku = f"variant:{text(line.get('variant_id'))}"
        if sku is None and text(line.get("product_id")) is not None:
            sku = f"product:{text(line.get('product_id'))}"
        qty = line.get("quantity")
        if sku is None or isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
            continue
        try:
            price = to_minor(line.get("price"), currency)
        except MappingError:
            continue
        items.append({"sku": sku, "qty": qty, "unit_price_minor": price})
    return items


def _refund(payload: dict[str, Any], store_id: str) -> Mapped:
    refund_id = _id(payload, "id")
    order_id = _id(payload, "order_id")
    transactions = payload.get("transactions")
    paid_back = [
        t
        for t in (transactions if isinstance(transactions, list) else [])
        if isinstance(t, dict) and t.get("kind") == "refund" and t.get("status") == "success"
    ]
    if not paid_back:
        return Mapped(ignored="the refund has no successful refund transaction: no money moved")
    currencies = {currency_of(t.get("currency")) for t in paid_back}
    if len(currencies) != 1:
        raise MappingError(f"refund transactions in several currencies: {sorted(currencies)}")
    [currency] = currencies
    amount = sum(to_minor(t.get("amount"), currency) for t in paid_back)
    event = {
        "event_id": f"shopify:{REFUND_TOPIC}:{refund_id}",
        "store_id": store_id,
        "ts": _ts(payload, "created_at", "processed_at"),
        "order_id": order_id,
        "customer_id": UNKNOWN_CUSTOMER,
        "status": "refunded",
        "amount_minor": amount,
        "currency": currency,
    }
    return Mapped(envelope={"topic": "shop.orders", "event": event})
