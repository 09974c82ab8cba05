"""Validate and produce a connector request's mapped events exactly as ``POST /api/v1/events``.

The mapped envelopes go through :func:`api.ingest.parse_batch` (the topics' contracts) and
:func:`api.ingest_check.check_batch` (late events), all or nothing: one event that cannot
be mapped, breaks its contract or is late refuses the request (422, nothing produced; the
sender fixes or drops it), the same as ingest today. Events the source sends that have no
ShopPulse event are ``ignored`` (listed in a 2xx answer), so a sender never retries them.
Kafka down: 503, nothing lost (the sender retries). Outcomes count on the ingest metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson
from fastapi import HTTPException, status
from pydantic import BaseModel, Field

from api.connectors.mapping import Mapped, MappingError
from api.feed import KpiFeed
from api.ingest import BadEnvelope, IngestError, parse_batch, rejected
from api.ingest_check import CATCHING_UP_NOTE, LAG_NOTE, check_batch
from api.ingest_metrics import IngestStats
from api.producer import EventProducer, ProducerUnavailableError
from api.routers.events import IngestIssueOut
from api.view import KpiView
from shoppulse.settings import ApiSettings


class IgnoredOut(BaseModel):
    """A source event that has no ShopPulse event (not produced, not an error)."""

    index: int
    detail: str


class ConnectorOut(BaseModel):
    accepted: int = Field(description="Events produced to Kafka.")
    ignored: list[IgnoredOut] = Field(
        default_factory=list,
        description="Source events with no ShopPulse event, by index: not produced.",
    )
    warnings: list[IngestIssueOut] = Field(
        default_factory=list,
        description="As for POST /api/v1/events: `likely_late` or `before_history`, by index.",
    )
    notes: list[str] = Field(
        default_factory=list,
        description="Caveats: the API's view of closed minutes can lag the worker's.",
    )


ERROR_RESPONSES: dict[int | str, dict[str, str]] = {
    413: {"description": "The body is larger than SHOPPULSE_API_MAX_BODY_BYTES."},
    415: {"description": "The Content-Type is not application/json."},
    422: {
        "description": (
            "The body is not JSON, or some events cannot be mapped, are invalid or late;"
            " nothing was produced. `detail.errors` lists each by index and reason."
        )
    },
    503: {"description": "Kafka did not take the events; nothing is lost, try again."},
}


def map_all(
    items: Sequence[object], mapper: Callable[[object], Mapped]
) -> list[Mapped | BadEnvelope]:
    """Each source item mapped by ``mapper``, or its error (reason ``schema``) by index."""
    out: list[Mapped | BadEnvelope] = []
    for index, item in enumerate(items):
        try:
            out.append(mapper(item))
        except MappingError as exc:
            out.append(BadEnvelope(index, "schema", str(exc)))
    return out


def unprocessable(message: str, errors: Sequence[BadEnvelope] = ()) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail={"message": message, "errors": [e.to_json() for e in errors]},
    )


async def produce_mapped(
    results: Sequence[Mapped | BadEnvelope],
    *,
    producer: EventProducer,
    settings: ApiSettings,
    view: KpiView,
    feed: KpiFeed | None,
    stats: IngestStats,
) -> ConnectorOut:
    """Produce the mapped events of a request (``results`` by source index), all or nothing."""
    errors: list[BadEnvelope] = [r for r in results if isinstance(r, BadEnvelope)]
    ignored = [
        IgnoredOut(index=i, detail=r.ignored)
        for i, r in enumerate(results)
        if isinstance(r, Mapped) and r.ignored is not None
    ]
    envelopes = [
        (i, r.envelope)
        for i, r in enumerate(results)
        if isinstance(r, Mapped) and r.envelope is not None
    ]
    size = len(envelopes) + len(errors)
    records = []
    if envelopes:
        try:
            batch = parse_batch(orjson.dumps([e for _, e in envelopes]))
        except IngestError as exc:  # too many events
            stats.refused(size, [])
            raise unprocessable(exc.message) from None
        errors += [BadEnvelope(envelopes[b.index][0], b.reason, b.detail) for b in batch.bad]
        records = [(envelopes[j][0], record) for j, record in batch.records]
    verdict = check_batch(
        records,
        view.mark,
        cutoff_ms=view.cutoff_ms(),
        window_ms=settings.window_ms,
        grace_ms=settings.grace_ms,
    )
    errors += verdict.rejected
    if errors:
        stats.refused(size, errors)
        refusal = rejected(errors, size)
        message = f"{len(errors)} of {len(results)} source events rejected; nothing was produced"
        raise unprocessable(message, refusal.errors)
    to_send = [record for _, record in records]
    if to_send:
        try:
            await producer.send_all(to_send)
        except ProducerUnavailableError as exc:
            stats.unacknowledged(len(to_send))
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from None
    stats.accepted(len(to_send), verdict.warnings)
    return ConnectorOut(
        accepted=len(to_send),
        ignored=ignored,
        warnings=[IngestIssueOut.model_validate(w.to_json()) for w in verdict.warnings],
        notes=[LAG_NOTE] + ([CATCHING_UP_NOTE] if feed is not None and not feed.caught_up else []),
    )
