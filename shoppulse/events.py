"""Event contracts for the four source topics, and their validation.

Validation happens at the worker's edge: :func:`decode_event` turns raw Kafka
bytes into a typed event or a :class:`Rejection` with a machine-readable
reason, so a bad event is dead-lettered, never dropped and never fatal.

>>> raw = b'{"event_id":"e1","store_id":"s1","ts":1700000000000,"session_id":"x",'
>>> raw += b'"visitor_id":"v","kind":"impression"}'
>>> ev = decode_event("shop.clicks", raw)
>>> (type(ev).__name__, ev.kind, ev.ts_ms)
('ClickEvent', 'impression', 1700000000000)
>>> decode_event("shop.clicks", b'{"event_id": 1}').reason
'schema'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, cast

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shoppulse import topics
from shoppulse.timeutil import MAX_TS_MS, MIN_TS_MS, TimestampError, parse_ts_ms

MAX_EVENT_BYTES: Final = 64 * 1024

Ident = Annotated[str, Field(min_length=1, max_length=128)]
StoreId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Minor = Annotated[int, Field(ge=0, le=10**13)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Channel = Literal["organic", "paid", "social", "email", "direct", "referral"]
OrderStatus = Literal["placed", "paid", "cancelled", "refunded", "shipped"]
ClickKind = Literal["impression", "page_view", "product_view", "add_to_cart", "checkout"]
ChatKind = Literal[
    "opened",
    "customer_message",
    "agent_message",
    "transferred",
    "escalated",
    "resolved",
    "rated",
]


class _Event(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", populate_by_name=True)

    event_id: Ident
    store_id: StoreId
    ts_ms: int = Field(validation_alias="ts", serialization_alias="ts")

    @field_validator("ts_ms", mode="before")
    @classmethod
    def _parse_ts(cls, value: object) -> int:
        if type(value) is int and MIN_TS_MS <= value < MAX_TS_MS:
            return value  # epoch milliseconds in range: what parse_ts_ms returns, sooner
        try:
            return parse_ts_ms(value)
        except TimestampError as exc:
            raise ValueError(str(exc)) from exc


class OrderItem(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    sku: Ident
    qty: Annotated[int, Field(ge=1, le=100_000)]
    unit_price_minor: Minor


class OrderEvent(_Event):
    """An order's state change on ``shop.orders``; GMV counts ``paid``."""

    order_id: Ident
    customer_id: Ident
    status: OrderStatus
    amount_minor: Minor
    currency: Currency
    items: Annotated[list[OrderItem], Field(max_length=1000)] = []
    cost_minor: Minor | None = None
    channel: Channel = "direct"
    session_id: Ident | None = None
    visitor_id: Ident | None = None
    """The storefront visitor (anonymous) id the order came from: an order naming a
    ``visitor_id`` other than its ``customer_id`` makes them one person in its store (ADR 20)."""


class ClickEvent(_Event):
    """A storefront interaction on ``shop.clicks`` (the funnel)."""

    session_id: Ident
    visitor_id: Ident
    kind: ClickKind
    sku: Ident | None = None
    channel: Channel | None = None
    cost_minor: Minor | None = None
    experiment: Ident | None = None
    variant: Ident | None = None


class ChatEvent(_Event):
    """A customer-service conversation event on ``shop.chats``."""

    conversation_id: Ident
    customer_id: Ident
    kind: ChatKind
    agent_id: Ident | None = None
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    nps: Annotated[int, Field(ge=0, le=10)] | None = None
    complaint: bool | None = None


class InventoryEvent(_Event):
    """An absolute stock level for one SKU on ``shop.inventory``."""

    sku: Ident
    on_hand: Annotated[int, Field(ge=0, le=10**9)]
    reorder_point: Annotated[int, Field(ge=0, le=10**9)] | None = None


ShopEvent = OrderEvent | ClickEvent | ChatEvent | InventoryEvent

EVENT_MODELS: Final[dict[str, type[_Event]]] = {
    topics.ORDERS: OrderEvent,
    topics.CLICKS: ClickEvent,
    topics.CHATS: ChatEvent,
    topics.INVENTORY: InventoryEvent,
}

RejectReason = Literal[
    "too_large",
    "invalid_utf8",
    "invalid_json",
    "not_an_object",
    "schema",
    "unknown_topic",
    "future_ts",
    "late",
    "internal_error",
]


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an event cannot be counted; it goes to ``shop.deadletter``."""

    reason: RejectReason
    detail: str


def decode_event(
    family: str, raw: bytes | None, max_bytes: int = MAX_EVENT_BYTES
) -> ShopEvent | Rejection:
    """Decode and validate one raw event of a topic family (a logical topic name)."""
    model = EVENT_MODELS.get(family)
    if model is None:
        return Rejection("unknown_topic", f"no event contract for topic {family!r}")
    if raw is None:
        return Rejection("not_an_object", "the record has no value")
    if len(raw) > max_bytes:
        return Rejection("too_large", f"event is {len(raw)} bytes; the limit is {max_bytes}")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # orjson refuses every byte string that is not UTF-8 (and a UTF-8 byte order mark),
        # so text it parsed needs no second check: only a refusal is told apart here.
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            return Rejection("invalid_utf8", f"not UTF-8 at byte {bad.start}")
        return Rejection("invalid_json", str(exc)[:200])
    if not isinstance(payload, dict):
        return Rejection("not_an_object", f"expected a JSON object, got {type(payload).__name__}")
    return validate_payload(model, payload)


def validate_payload(model: type[_Event], payload: dict[str, Any]) -> ShopEvent | Rejection:
    """Validate an already-parsed JSON object against an event model."""
    try:
        # ``model_validate`` without its Python wrapper (it passes no options here).
        event = model.__pydantic_validator__.validate_python(payload)
    except ValidationError as exc:
        return Rejection("schema", describe_errors(exc))
    except RecursionError:
        return Rejection("schema", "event is nested too deeply")
    return cast(ShopEvent, event)


def describe_errors(exc: ValidationError, limit: int = 5) -> str:
    """A short, precise message: ``field.path: problem`` for the first errors."""
    parts = []
    for err in exc.errors(include_url=False)[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "(event)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"... and {more} more")
    return "; ".join(parts)
