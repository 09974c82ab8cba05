"""Segment / RudderStack e-commerce spec messages → ShopPulse events (pure, no IO).

A message is one call of the spec (``type`` ``track`` or ``page``; a ``{"batch": [...]}``
body holds many). :func:`map_message` maps it for one store (the route's ``store_id``):

- ``page`` → a ``page_view`` click;
- track ``Product Viewed`` / ``Product Added`` / ``Checkout Started`` → a ``product_view`` /
  ``add_to_cart`` / ``checkout`` click;
- track ``Order Completed`` / ``Order Refunded`` → a ``paid`` / ``refunded`` order;
- anything else (``identify``, ``group``, other track events) is ignored, with the reason.

``event_id`` is ``seg:`` + ``messageId`` (the sender's retries carry the same one, and the
worker counts an event id once per minute). ``docs/connectors.md`` lists every field.

>>> msg = {"type": "track", "event": "Product Added", "messageId": "m1",
...     "anonymousId": "a1", "timestamp": "2024-05-01T12:00:30.000Z",
...     "properties": {"product_id": "p1", "sku": "SKU-1"}}
>>> env = map_message(msg, "s1").envelope
>>> env["topic"], env["event"]["kind"], env["event"]["session_id"], env["event"]["sku"]
('shop.clicks', 'add_to_cart', 'a1:2024-05-01', 'SKU-1')
>>> map_message({"type": "identify", "messageId": "m2", "userId": "u"}, "s1").ignored
'identify calls carry no shop event'
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from api.connectors.mapping import Mapped, MappingError, currency_of, text, to_minor
from shoppulse.timeutil import TimestampError, parse_ts_ms

CLICKS: Final[dict[str, str]] = {
    "Product Viewed": "product_view",
    "Product Added": "add_to_cart",
    "Checkout Started": "checkout",
}
ORDERS: Final[dict[str, str]] = {"Order Completed": "paid", "Order Refunded": "refunded"}

#: ``context.campaign.medium`` (UTM medium, lower case) → ShopPulse channel.
MEDIUM_CHANNEL: Final[dict[str, str]] = {
    "cpc": "paid",
    "ppc": "paid",
    "paid": "paid",
    "paidsearch": "paid",
    "display": "paid",
    "cpm": "paid",
    "email": "email",
    "newsletter": "email",
    "social": "social",
    "organic": "organic",
    "referral": "referral",
}


def batch_messages(body: object) -> list[object]:
    """The messages of a request body: ``{"batch": [...]}`` or one message."""
    if isinstance(body, dict) and "batch" in body:
        batch = body["batch"]
        if not isinstance(batch, list):
            raise MappingError("batch must be a JSON array of messages")
        return batch
    if isinstance(body, list):
        raise MappingError('send a batch as {"batch": [...]}, not a bare array')
    return [body]


def map_message(message: object, store_id: str) -> Mapped:
    """One spec message mapped for ``store_id``; :class:`MappingError` when it cannot be."""
    if not isinstance(message, dict):
        raise MappingError("a message is a JSON object")
    kind = message.get("type")
    if kind == "track":
        name = message.get("event")
        if not isinstance(name, str):
            raise MappingError("a track call needs event (its name)")
        if name in CLICKS:
            return Mapped(envelope=_click(message, store_id, CLICKS[name]))
        if name in ORDERS:
            return Mapped(envelope=_order(message, store_id, ORDERS[name]))
        return Mapped(ignored=f"track event {name!r} has no ShopPulse event")
    if kind == "page":
        return Mapped(envelope=_click(message, store_id, "page_view"))
    if isinstance(kind, str):
        return Mapped(ignored=f"{kind} calls carry no shop event")
    raise MappingError("a message needs type (track, page, ...)")


def _common(message: dict[str, Any], store_id: str) -> dict[str, Any]:
    message_id = text(message.get("messageId"))
    if message_id is None:
        raise MappingError("messageId is required (it makes the sender's retries count once)")
    return {"event_id": f"seg:{message_id}", "store_id": store_id, "ts": _ts_ms(message)}


def _ts_ms(message: dict[str, Any]) -> int:
    value = message.get("timestamp", message.get("originalTimestamp"))
    if value is None:
        raise MappingError("timestamp is required")
    try:
        return parse_ts_ms(value)
    except TimestampError as exc:
        raise MappingError(f"timestamp: {exc}") from None


def _properties(message: dict[str, Any]) -> dict[str, Any]:
    props = message.get("properties", {})
    if not isinstance(props, dict):
        raise MappingError("properties must be a JSON object")
    return props


def _context(message: dict[str, Any]) -> dict[str, Any]:
    context = message.get("context")
    return context if isinstance(context, dict) else {}


def _channel(message: dict[str, Any]) -> str | None:
    campaign = _context(message).get("campaign")
    medium = campaign.get("medium") if isinstance(campaign, dict) else None
    return MEDIUM_CHANNEL.get(medium.strip().lower()) if isinstance(medium, str) else None


def session_of(message: dict[str, Any], visitor: str, ts_ms: int) -> str:
    """The session rule: the sender's ``context.sessionId`` (RudderStack's) if any, else the
    visitor's UTC day (``<anonymousId>:<YYYY-MM-DD>``)."""
    given = text(_context(message).get("sessionId"))
    if given is not None:
        return given
    day = datetime.fromtimestamp(ts_ms / 1000, UTC).date().isoformat()
    return f"{visitor}:{day}"


def _click(message: dict[str, Any], store_id: str, kind: str) -> dict[str, Any]:
    event = _common(message, store_id)
    visitor = text(message.get("anonymousId")) or text(message.get("userId"))
    if visitor is None:
        raise MappingError("anonymousId or userId is required")
    props = _properties(message)
    event |= {
        "visitor_id": visitor,
        "session_id": session_of(message, visitor, event["ts"]),
        "kind": kind,
    }
    sku = text(props.get("sku")) or text(props.get("product_id"))
    if sku is not None and kind != "page_view":
        event["sku"] = sku
    channel = _channel(message)
    if channel is not None:
        event["channel"] = channel
    return {"topic": "shop.clicks", "event": event}


def _order(message: dict[str, Any], store_id: str, status: str) -> dict[str, Any]:
    event = _common(message, store_id)
    props = _properties(message)
    order_id = text(props.get("order_id"))
    if order_id is None:
        raise MappingError("properties.order_id is required")
    customer = text(message.get("userId"))
    anonymous = text(message.get("anonymousId"))
    if customer is None and anonymous is None:
        raise MappingError("userId or anonymousId is required")
    if "currency" not in props:
        raise MappingError("properties.currency is required (an ISO 4217 code)")
    currency = currency_of(props["currency"])
    items = _items(props.get("products"), currency)
    amount = props.get("total", props.get("revenue"))
    if amount is None:
        if not items:
            raise MappingError("properties.total (or revenue, or priced products) is required")
        total = sum(i["qty"] * i["unit_price_minor"] for i in items)
    else:
        total = to_minor(amount, currency)
    event |= {
        "order_id": order_id,
        # An anonymous order is its visitor's; the worker joins the visitor to the user
        # once an order names both (one identity per person, ADR 20).
        "customer_id": customer if customer is not None else anonymous,
        "status": status,
        "amount_minor": total,
        "currency": currency,
        "items": items,
    }
    if anonymous is not None:
        event["visitor_id"] = anonymous
    session = text(_context(message).get("sessionId"))
    if session is not None:
        event["session_id"] = session
    channel = _channel(message)
    if channel is not None:
        event["channel"] = channel
    return {"topic": "shop.orders", "event": event}


def _items(products: object, currency: str) -> list[dict[str, Any]]:
    """``properties.products`` as order items; a product without an id or a price, or with a
    quantity that is not a whole number of at least 1, is left out."""
    if not isinstance(products, list):
        return []
    items = []
    for product in products:
        if not isinstance(product, dict):
            continue
        sku = text(product.get("sku")) or text(product.get("product_id"))
        qty = product.get("quantity", 1)
        price = product.get("price")
        if sku is None or price is None or isinstance(qty, bool) or not isinstance(qty, int):
            continue
        if qty < 1:
            continue
        try:
            items.append({"sku": sku, "qty": qty, "unit_price_minor": to_minor(price, currency)})
        except MappingError:
            continue
    return items
