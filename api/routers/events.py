"""``POST /api/v1/events``: HTTP ingest, validated (all or nothing) and produced to Kafka."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from api.auth import IngestKey
from api.deps import EventProducerDep, SettingsDep
from api.ingest import MAX_BATCH, IngestError, parse_ingest
from api.producer import ProducerUnavailableError

router = APIRouter(prefix="/api/v1", tags=["ingest"])


class EventEnvelope(BaseModel):
    """One event and the topic it belongs to (the event exactly as that topic carries it)."""

    topic: Literal["shop.orders", "shop.clicks", "shop.chats", "shop.inventory"]
    event: dict[str, Any] = Field(description="The event (see the README's Events section).")


class IngestOut(BaseModel):
    accepted: int = Field(description="Events produced to Kafka.")


_BODY_SCHEMA = {
    "oneOf": [
        {"$ref": "#/components/schemas/EventEnvelope"},
        {
            "type": "array",
            "items": {"$ref": "#/components/schemas/EventEnvelope"},
            "minItems": 1,
            "maxItems": MAX_BATCH,
        },
    ]
}


@router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=IngestOut,
    summary="Ingest events",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _BODY_SCHEMA}}}
    },
    responses={
        413: {"description": "The body is larger than SHOPPULSE_API_MAX_BODY_BYTES."},
        415: {"description": "The Content-Type is not application/json."},
        422: {"description": "Some events are invalid; nothing was produced."},
        503: {"description": "Kafka did not take the events; nothing is lost, try again."},
    },
)
async def ingest(
    request: Request, producer: EventProducerDep, settings: SettingsDep, _key: IngestKey
) -> IngestOut:
    """One envelope ``{"topic", "event"}`` or an array of up to 1,000. All or nothing: if any
    event breaks its topic's contract, the answer lists each by index and reason and nothing
    is produced. Accepted events are on Kafka (acknowledged by all in-sync replicas)."""
    try:
        records = parse_ingest(await request.body(), settings.api_max_body_bytes)
    except IngestError as exc:
        raise HTTPException(
            422,
            detail={"message": exc.message, "errors": [e.to_json() for e in exc.errors]},
        ) from None
    try:
        await producer.send_all(records)
    except ProducerUnavailableError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from None
    return IngestOut(accepted=len(records))


EventEnvelope.model_rebuild()
