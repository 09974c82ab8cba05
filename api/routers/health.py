"""``/healthz`` (liveness, always 200) and ``/readyz`` (200 once the Kafka feeds caught up)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ActionLogDep, AlertsFeedDep, FeedDep
from api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut, summary="Liveness")
def healthz() -> HealthOut:
    """The process is up and serving requests."""
    return HealthOut(status="ok")


@router.get(
    "/readyz",
    response_model=HealthOut,
    summary="Readiness",
    responses={503: {"model": HealthOut, "description": "A Kafka feed has not caught up yet."}},
)
async def readyz(
    feed: FeedDep, alerts_feed: AlertsFeedDep, action_log: ActionLogDep
) -> JSONResponse:
    """200 once every Kafka feed has replayed its topic up to its end offsets at start, else
    503 with the first reason: the KPIs (``shoppulse.kpis``), the alerts
    (``shoppulse.alerts``) and the acknowledgements and silences
    (``shoppulse.alert-actions``).

    Readiness is sticky: a later Kafka outage shows in each feed's ``reason`` but does
    not take the API out of service (it still serves the last known values).
    """
    if feed is None or alerts_feed is None or action_log is None:
        body = HealthOut(status="not_ready", reason="the Kafka feeds are not running")
        return JSONResponse(body.model_dump(), status_code=503)
    parts = {
        "kpis": (feed.caught_up, feed.reason, feed.status()),
        "alerts": (alerts_feed.caught_up, alerts_feed.reason, alerts_feed.status()),
        "alert_actions": (action_log.ready, action_log.reason, action_log.status()),
    }
    feeds = {name: s for name, (_, _, s) in parts.items()}
    waiting = [f"{name}: {reason}" for name, (ok, reason, _) in parts.items() if not ok]
    if waiting:
        body = HealthOut(
            status="not_ready", reason="; ".join(waiting), feed=feed.status(), feeds=feeds
        )
        return JSONResponse(body.model_dump(), status_code=503)
    return JSONResponse(HealthOut(status="ready", feed=feed.status(), feeds=feeds).model_dump())
