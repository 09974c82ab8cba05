"""``POST /api/v1/events``: HTTP ingest, validated (all or nothing) and produced to Kafka.

Before producing, each valid event is checked against what the API knows of its store's
closed minutes and its own history (:mod:`api.ingest_check`): late events refuse the batch
like invalid ones, events the API will not serve are accepted with a warning, and every
outcome is counted on /metrics (:mod:`api.ingest_metrics`). ``docs/ingest.md`` describes
what the sender sees.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from api.auth import IngestKey
from api.deps import EventProducerDep, FeedDep, IngestStatsDep, SettingsDep, ViewDep
from api.ingest import MAX_BATCH, BadEnvelope, IngestError, parse_batch, rejected
from api.ingest_check import CATCHING_UP_NOTE, LAG_NOTE, check_batch
from api.producer import ProducerUnavailableError

router = APIRouter(prefix="/api/v1", tags=["ingest"])


class EventEnvelope(BaseModel):
    """One event and the topic it belongs to (the event exactly as that topic carries it)."""

    topic: Literal["shop.orders", "shop.clicks", "shop.chats", "shop.inventory"]
    event: dict[str, Any] = Field(description="The event (docs/architecture.md: Source events).")


class IngestIssueOut(BaseModel):
    """Something to know about one event of the batch, by its index."""

    index: int
    reason: Literal["before_history", "likely_late"]
    detail: str


class IngestOut(BaseModel):
    accepted: int = Field(description="Events produced to Kafka (every event of the batch).")
    warnings: list[IngestIssueOut] = Field(
        default_factory=list,
        description=(
            "Accepted events the API expects not to be counted or not to be served:"
            " `likely_late` (the worker has probably closed the event's minute and will"
            " dead-letter it), `before_history` (counted by the worker, but older than the"
            " minutes this API keeps, so its reads will not show it)."
        ),
    )
    notes: list[str] = Field(
        default_factory=list,
        description="Caveats: the API's view of closed minutes can lag the worker's.",
    )


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
        422: {
            "description": (
                "Some events are invalid, or late (their minute is closed); nothing was"
                " produced. `detail.errors` lists each by index and reason."
            )
        },
        503: {"description": "Kafka did not take the events; nothing is lost, try again."},
    },
)
async def ingest(
    request: Request,
    producer: EventProducerDep,
    settings: SettingsDep,
    view: ViewDep,
    feed: FeedDep,
    stats: IngestStatsDep,
    _key: IngestKey,
) -> IngestOut:
    """One envelope ``{"topic", "event"}`` or an array of up to 1,000. All or nothing: if any
    event breaks its topic's contract, or is *late* (before the end of its store's newest
    closed minute, ``closed_until`` in ``GET /api/v1/stores``: the worker would dead-letter
    it), the answer lists each by index and reason and nothing is produced. Accepted events
    are on Kafka (acknowledged by all in-sync replicas); ``warnings`` names those that are
    probably late at the worker or older than the minutes this API serves, and ``notes``
    says that the API's knowledge of closed minutes can lag the worker's."""
    try:
        batch = parse_batch(await request.body(), settings.api_max_body_bytes)
    except IngestError as exc:
        raise _unprocessable(exc) from None
    verdict = check_batch(
        batch.records,
        view.mark,
        cutoff_ms=view.cutoff_ms(),
        window_ms=settings.window_ms,
        grace_ms=settings.grace_ms,
    )
    errors = [*batch.bad, *verdict.rejected]
    if errors:
        stats.refused(batch.size, errors)
        raise _unprocessable(rejected(errors, batch.size))
    records = [record for _, record in batch.records]
    try:
        await producer.send_all(records)
    except ProducerUnavailableError as exc:
        stats.unacknowledged(len(records))
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from None
    stats.accepted(len(records), verdict.warnings)
    return IngestOut(
        accepted=len(records),
        warnings=[_issue(w) for w in verdict.warnings],
        notes=[LAG_NOTE] + ([CATCHING_UP_NOTE] if feed is not None and not feed.caught_up else []),
    )


def _unprocessable(exc: IngestError) -> HTTPException:
    return HTTPException(
        422, detail={"message": exc.message, "errors": [e.to_json() for e in exc.errors]}
    )


def _issue(warning: BadEnvelope) -> IngestIssueOut:
    return IngestIssueOut.model_validate(warning.to_json())


EventEnvelope.model_rebuild()
