"""``POST /api/v1/connectors/segment/{store_id}``: Segment / RudderStack e-commerce events.

The body is one spec message or ``{"batch": [...]}`` (Segment's HTTP API and webhook
destinations, RudderStack's webhook destination); the store is the path's ``store_id``
and the caller needs an ingest key, like ``POST /api/v1/events`` (a webhook destination
sends it as a custom header). Mapping: :mod:`api.connectors.segment`; validation and
producing: :mod:`api.connectors.produce`; fields: ``docs/connectors.md``.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request, status

from api.auth import IngestKey
from api.connectors.mapping import Mapped, MappingError
from api.connectors.produce import (
    ERROR_RESPONSES,
    ConnectorOut,
    map_all,
    produce_mapped,
    unprocessable,
)
from api.connectors.segment import batch_messages, map_message
from api.deps import EventProducerDep, FeedDep, IngestStatsDep, SettingsDep, ViewDep

router = APIRouter(prefix="/api/v1/connectors", tags=["connectors"])

StorePath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="The ShopPulse store id the events are counted for.",
    ),
]

_MESSAGE: dict[str, Any] = {
    "type": "object",
    "description": "A spec call: type track (event, properties) or page; others are ignored.",
    "properties": {
        "type": {"type": "string", "examples": ["track"]},
        "event": {"type": "string", "examples": ["Order Completed"]},
        "messageId": {"type": "string"},
        "anonymousId": {"type": "string"},
        "userId": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "properties": {"type": "object"},
        "context": {"type": "object"},
    },
}
_BODY_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "required": ["batch"],
            "properties": {"batch": {"type": "array", "items": _MESSAGE, "minItems": 1}},
        },
        _MESSAGE,
    ]
}


@router.post(
    "/segment/{store_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ConnectorOut,
    summary="Ingest Segment / RudderStack e-commerce events",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _BODY_SCHEMA}}}
    },
    responses=ERROR_RESPONSES,
)
async def ingest_segment(
    store_id: StorePath,
    request: Request,
    producer: EventProducerDep,
    settings: SettingsDep,
    view: ViewDep,
    feed: FeedDep,
    stats: IngestStatsDep,
    _key: IngestKey,
) -> ConnectorOut:
    """Product Viewed, Product Added and Checkout Started become clicks, page calls page
    views, Order Completed and Order Refunded paid and refunded orders (docs/connectors.md);
    other calls are `ignored` (listed, not an error). All or nothing, like
    `POST /api/v1/events`: a message that cannot be mapped, is invalid or late refuses the
    request (422, nothing produced)."""
    try:
        messages = batch_messages(orjson.loads(await request.body()))
    except orjson.JSONDecodeError as exc:
        raise unprocessable(f"the body is not valid JSON: {exc}") from None
    except MappingError as exc:
        raise unprocessable(str(exc)) from None
    if not messages:
        raise unprocessable("the batch is empty")

    def mapper(message: object) -> Mapped:
        return map_message(message, store_id)

    results = map_all(messages, mapper)
    return await produce_mapped(
        results, producer=producer, settings=settings, view=view, feed=feed, stats=stats
    )
