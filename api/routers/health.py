"""``/healthz`` (liveness, always 200) and ``/readyz`` (200 once the feed has caught up)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import FeedDep
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
    responses={503: {"model": HealthOut, "description": "The KPI feed has not caught up yet."}},
)
def readyz(feed: FeedDep) -> JSONResponse:
    """200 once the KPI feed has replayed the topic up to its end offsets at start, else 503.

    Readiness is sticky: a later Kafka outage shows in ``feed.reason`` but does
    not take the API out of service (it still serves the last known values).
    """
    if feed is None:
        body = HealthOut(status="not_ready", reason="the KPI feed is not running")
        return JSONResponse(body.model_dump(), status_code=503)
    if not feed.caught_up:
        body = HealthOut(status="not_ready", reason=feed.reason, feed=feed.status())
        return JSONResponse(body.model_dump(), status_code=503)
    return JSONResponse(HealthOut(status="ready", feed=feed.status()).model_dump())
