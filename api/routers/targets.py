"""``GET /api/v1/targets?store=ID``: today's GMV in the store's local day against its target."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.deps import ApiConfigDep, ViewDep
from api.routers.common import StoreQuery, now_utc, require_one_store
from api.schemas import TargetOut
from shoppulse.targets import pace
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
def get_target(view: ViewDep, config: ApiConfigDep, store: StoreQuery) -> TargetOut:
    """GMV of paid orders since the store's local midnight (its time zone from the targets
    file, ``SHOPPULSE_TARGETS_FILE``) against today's target, with the pace: the share of
    the day's GMV the store's curve expects by now, the projected end-of-day GMV and a
    status (``no_target`` on a day whose target is 0, ``too_early``, ``met``, ``ahead``,
    ``on_track``, ``behind``).
    """
    require_one_store(view, config.targets.stores, store, "targets")
    target = config.targets.get(store)
    if target is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no daily GMV target is configured for store {store!r} "
            "(add it to the file named by SHOPPULSE_TARGETS_FILE)",
        )
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
    )
