"""``GET /api/v1/alerts`` and ``POST /api/v1/alerts/{id}/ack``."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status

from alerts.actions import Ack, ActionBook
from alerts.board import BoardAlert, StatusFilter
from api.auth import OperatorKey, acting_as
from api.deps import (
    ActionBookDep,
    ActionWriterDep,
    AlertBoardDep,
    AlertsFeedDep,
    ClockDep,
    WriterDep,
    publish_action,
)
from api.rollups import ALL_STORES
from api.schemas import AckIn, AckOut, AlertAckOut, AlertOut, AlertsOut
from shoppulse.timeutil import format_ts_ms

router = APIRouter(prefix="/api/v1", tags=["alerts"])

AlertId = Annotated[
    str, Path(min_length=1, max_length=256, description="The alert's id (its fingerprint).")
]


def ack_out(ack: Ack) -> AckOut:
    return AckOut(by=ack.by, comment=ack.comment, at=format_ts_ms(ack.at_ms))


def alert_out(alert: BoardAlert, book: ActionBook, now_ms: int) -> AlertOut:
    """An alert with the acknowledgement of its occurrence and the silences muting it now."""
    ack = book.ack_for(alert.fingerprint, alert.starts_at)
    return AlertOut(
        id=alert.fingerprint,
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        status=alert.status,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        value=alert.value,
        expected=alert.expected,
        ack=None if ack is None else ack_out(ack),
        silenced_by=[s.id for s in book.silencing(alert.labels, now_ms)],
    )


@router.get("/alerts", response_model=AlertsOut, summary="List alerts")
async def list_alerts(
    board: AlertBoardDep,
    book: ActionBookDep,
    clock: ClockDep,
    feed: AlertsFeedDep,
    writer: ActionWriterDep,
    store: Annotated[
        str,
        Query(min_length=1, max_length=256, description="A store id, or `all` for every store."),
    ] = ALL_STORES,
    alert_status: Annotated[
        StatusFilter,
        Query(
            alias="status",
            description="`firing` (default), `resolved` (those that ended within the last "
            "24 h) or `all`.",
        ),
    ] = "firing",
) -> AlertsOut:
    """The alerts of ``shoppulse.alerts`` as they stand now, newest ``startsAt`` first.

    Each carries ``ack``, the acknowledgement of its current occurrence (its ``id`` and
    ``startsAt``), and ``silencedBy``, the ids of the silences active now that match its
    labels (a silenced alert is shown; its notifications are not sent).
    """
    now = clock()
    alerts = board.alerts(now, status=alert_status, store_id=None if store == ALL_STORES else store)
    return AlertsOut(
        alerts=[alert_out(a, book, now) for a in alerts],
        caught_up=bool(feed and feed.caught_up and writer and writer.ready),
    )


@router.post(
    "/alerts/{alert_id}/ack",
    response_model=AlertAckOut,
    summary="Acknowledge a firing alert",
    responses={
        404: {"description": "No alert has this id."},
        409: {"description": "The alert is resolved."},
        503: {"description": "Kafka is unavailable or still being read: try again."},
    },
)
async def ack_alert(
    alert_id: AlertId,
    body: AckIn,
    request: Request,
    board: AlertBoardDep,
    feed: AlertsFeedDep,
    writer: WriterDep,
    clock: ClockDep,
    key: OperatorKey,
) -> AlertAckOut:
    """Acknowledge the current occurrence (``startsAt``) of a firing alert (an operator key).

    Recorded on Kafka, so it survives restarts. Acknowledging again answers the first
    acknowledgement unchanged. When the alert resolves and fires again, the new occurrence
    is not acknowledged. With API keys, ``by`` is the presenting key's name.
    """
    by, comment = acting_as(key, body.by, body.comment, "by")
    alert = board.get(alert_id)
    if alert is None:
        if feed is not None and not feed.caught_up:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                detail=f"unknown alert {alert_id!r} so far: still reading the alerts from "
                f"Kafka ({feed.reason}); try again shortly",
            )
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"unknown alert {alert_id!r}; GET /api/v1/alerts?status=all lists the alerts",
        )
    if alert.status == "resolved":
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"alert {alert_id!r} resolved at {alert.ends_at or alert.starts_at}; "
            "only a firing alert can be acknowledged",
        )
    lock: asyncio.Lock = request.app.state.ack_lock
    async with lock:  # one acknowledgement per occurrence, even for concurrent requests
        ack = writer.book.ack_for(alert.fingerprint, alert.starts_at)
        if ack is None:
            ack = Ack(alert.fingerprint, alert.starts_at, by, comment, clock())
            await publish_action(writer, ack)
    return AlertAckOut(
        alert_id=alert.fingerprint,
        starts_at=alert.starts_at,
        by=ack.by,
        comment=ack.comment,
        at=format_ts_ms(ack.at_ms),
    )
