"""``GET /api/v1/stores``: the stores the view holds."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import FeedDep, ViewDep
from api.schemas import StoreOut, StoresOut
from shoppulse.timeutil import format_ts_ms

router = APIRouter(prefix="/api/v1", tags=["stores"])


@router.get("/stores", response_model=StoresOut, summary="List the stores")
async def list_stores(view: ViewDep, feed: FeedDep) -> StoresOut:
    """Every store with minutes in the view (held back to the same UTC day last week), with its
    latest minute."""  # async: read on the event loop, where the feed changes the view
    out: list[StoreOut] = []
    for store_id in view.stores():
        latest = view.latest(store_id)
        out.append(
            StoreOut(
                store_id=store_id,
                currency=view.currency(store_id),
                minutes=view.minute_count(store_id),
                latest_window_start=format_ts_ms(latest.window_start_ms) if latest else None,
                latest_window_start_ms=latest.window_start_ms if latest else None,
                latest_final=latest.final if latest else None,
            )
        )
    return StoresOut(stores=out, caught_up=bool(feed and feed.caught_up))
