"""``GET /api/v1/targets?store=ID``: today's GMV in the store's local day against its target."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, HTTPException, status

from api.clock import DAY_MS
from api.comparisons import compare
from api.deps import ApiConfigDep, ReaderDep
from api.routers.common import StoreQuery, now_utc, require_one_store
from api.schemas import ComparisonWindowOut, TargetOut
from api.view import KpiView
from shoppulse.pace import pace
from shoppulse.targets import StoreTarget
from shoppulse.timeutil import format_ts_ms

router = APIRouter(prefix="/api/v1", tags=["targets"])


@router.get(
    "/targets",
    response_model=TargetOut,
    summary="Today's GMV of a store against its daily target",
    responses={
        404: {"description": "An unknown store, or a store without a configured target."},
        409: {"description": "The store reports another currency than its target's."},
        422: {"description": "`store=all`: targets are per store."},
    },
)
async def get_target(reader: ReaderDep, config: ApiConfigDep, store: StoreQuery) -> TargetOut:
    """GMV of paid orders since the store's local midnight (its time zone from the targets
    file, ``SHOPPULSE_TARGETS_FILE``) against today's target, with the pace: the share of
    the day's GMV the store's curve expects by now, the projected end-of-day GMV and a
    status (``no_target`` on a day whose target is 0, ``too_early``, ``met``, ``ahead``,
    ``on_track``, ``behind``). ``gmv_yesterday_minor`` is the same stretch of the day 24 h
    earlier, as ``GET /api/v1/kpis`` compares a window with yesterday.
    """
    view = reader.view
    require_one_store(view, config.targets.stores, store, "targets")
    target = config.targets.get(store)
    if target is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no daily GMV target is configured for store {store!r} "
            "(add it to the file named by SHOPPULSE_TARGETS_FILE)",
        )
    start_ms, end_ms = target.day_bounds_ms(now_utc(view))
    _, now_end = view.window_bounds("1m")
    spans = [(start_ms, end_ms), (start_ms - DAY_MS, now_end - DAY_MS)]
    return await reader.read(spans, lambda frozen: target_out(frozen, store, target))


def target_out(view: KpiView, store: str, target: StoreTarget) -> TargetOut:
    """The answer of ``GET /api/v1/targets`` (409 when the store's currency differs)."""
    now = now_utc(view)
    start_ms, end_ms = target.day_bounds_ms(now)
    rollup = view.rollup_range(store, start_ms, end_ms, window="today_local")
    reported = view.currency(store)
    gmv = rollup.components.get("gmv_minor", 0)
    if (reported is not None and reported != target.currency) or gmv is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"store {store!r} reports GMV in {reported or 'several currencies'} but its "
            f"target is in {target.currency}; fix the file named by SHOPPULSE_TARGETS_FILE",
        )
    _, now_end = view.window_bounds("1m")
    so_far = dataclasses.replace(rollup, end_ms=min(end_ms, now_end))
    comparisons = compare(view, so_far)
    p = pace(gmv, target, now)
    return TargetOut(
        store_id=store,
        day=p.day.isoformat(),
        timezone=target.timezone.key,
        as_of=p.as_of.isoformat(timespec="seconds"),
        day_start=format_ts_ms(start_ms),
        day_end=format_ts_ms(end_ms),
        day_start_ms=start_ms,
        day_end_ms=end_ms,
        currency=p.currency,
        target_minor=p.target_minor,
        gmv_today_minor=p.gmv_minor,
        minutes=rollup.minutes,
        attainment=p.attainment,
        expected_share=p.expected_share,
        expected_minor=p.expected_minor,
        projected_minor=p.projected_minor,
        projected_ratio=p.projected_ratio,
        status=p.status,
        summary=p.summary,
        gmv_yesterday_minor=comparisons.values["yesterday"]["gmv_minor"],
        yesterday_window=ComparisonWindowOut(**comparisons.windows["yesterday"]),
    )
