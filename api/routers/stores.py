"""``GET /api/v1/stores``: the stores the view knows, with their newest and closed minutes."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import FeedDep, ViewDep
from api.schemas import StoreOut, StoresOut
from api.view import KpiView
from shoppulse.timeutil import format_ts_ms

router = APIRouter(prefix="/api/v1", tags=["stores"])


@router.get("/stores", response_model=StoresOut, summary="List the stores")
async def list_stores(view: ViewDep, feed: FeedDep) -> StoresOut:
    """Every store the API has read a snapshot of, with the minutes it holds (back to an hour
    before the same UTC day last week, ``history_start``), its newest minute and the end of
    its newest closed minute (``closed_until``: ingest refuses events before it as late). A
    store whose minutes are all older than ``history_start`` is listed with ``minutes: 0``.
    """  # async: read on the event loop, where the feed changes the view
    cutoff = view.cutoff_ms()
    return StoresOut(
        stores=[store_out(view, store_id) for store_id in view.known_stores()],
        caught_up=bool(feed and feed.caught_up),
        history_start=format_ts_ms(cutoff),
        history_start_ms=cutoff,
    )


def store_out(view: KpiView, store_id: str) -> StoreOut:
    """One store of ``GET /api/v1/stores``."""
    latest = view.latest(store_id)
    mark = view.mark(store_id)
    start = latest.window_start_ms if latest else mark.latest_start_ms if mark else None
    final = latest.final if latest else mark.latest_final if mark else None
    closed = mark.closed_until_ms if mark else None
    return StoreOut(
        store_id=store_id,
        currency=view.currency(store_id),
        minutes=view.minute_count(store_id),
        latest_window_start=format_ts_ms(start) if start is not None else None,
        latest_window_start_ms=start,
        latest_final=final,
        closed_until=format_ts_ms(closed) if closed is not None else None,
        closed_until_ms=closed,
    )
