"""``GET /api/v1/scorecards?store=ID``: the live sales and service scorecards of a store."""

from __future__ import annotations

from fastapi import APIRouter

from api.config_files import ApiConfig
from api.deps import ApiConfigDep, ReaderDep
from api.routers.common import StoreQuery, now_utc, require_one_store
from api.schemas import AgentScorecardOut, ScorecardOut, ScorecardsOut, ScorePartOut
from api.view import KpiView
from shoppulse.pace import pace
from shoppulse.scorecards import (
    SalesInputs,
    Scorecard,
    ServiceInputs,
    score_sales,
    score_service,
)
from shoppulse.service_agents import agent_kpis
from shoppulse.target_curves import local_day_bounds
from shoppulse.timeutil import epoch_ms, format_ts_ms

router = APIRouter(prefix="/api/v1", tags=["scorecards"])


def _card(card: Scorecard) -> ScorecardOut:
    return ScorecardOut(
        role=card.role,
        total=card.total,
        weight_set=card.weight_set,
        parts=[
            ScorePartOut(
                name=p.name,
                weight=p.weight,
                effective_weight=p.effective_weight,
                value=p.value,
                mark=p.mark,
                zero_at=p.zero_at,
                score=p.score,
            )
            for p in card.parts
        ],
        missing=card.missing,
    )


@router.get(
    "/scorecards",
    response_model=ScorecardsOut,
    summary="Live sales and service scorecards of a store (today, local day)",
    responses={
        404: {"description": "An unknown store."},
        422: {"description": "`store=all`: scorecards are per store."},
    },
)
async def get_scorecards(
    reader: ReaderDep, config: ApiConfigDep, store: StoreQuery
) -> ScorecardsOut:
    """The seed article's weighted role scores for the store's local day so far, 0-100.

    Sales: GMV against the pace-adjusted target (missing without a target in
    ``SHOPPULSE_TARGETS_FILE``, or while less than 2% of the day's GMV is expected),
    gross margin, new-customer conversion and repeat-purchase rate. Service: CSAT (4-5
    share), resolution rate, first-response p90 and escalation rate. The weight set,
    ``peak`` or ``off_peak``, follows the store's local time; weights, marks, time zone
    and peak hours come from ``SHOPPULSE_SCORECARDS_FILE`` (default: the article's
    weights). A missing input is left out, the other weights are renormalized and it is
    listed under ``missing``.

    The day is the store's local day in its target's time zone, else in its scorecard
    time zone. ``agents`` holds a service scorecard per agent named on today's chat
    events: CSAT of the ratings credited to them, resolution and escalation rates per
    conversation they answered first, and their first-response p90.
    """
    require_one_store(reader.view, config.targets.stores, store, "scorecards")
    start_ms, end_ms = _day_bounds_ms(reader.view, config, store)
    return await reader.read(
        [(start_ms, end_ms)], lambda frozen: scorecards_out(frozen, config, store)
    )


def _day_bounds_ms(view: KpiView, config: ApiConfig, store: str) -> tuple[int, int]:
    """The store's local day now: in its target's time zone, else its scorecard's."""
    target = config.targets.get(store)
    tz = target.timezone if target is not None else config.scorecards.for_store(store).timezone
    start, end = local_day_bounds(now_utc(view).astimezone(tz).date(), tz)
    return epoch_ms(start), epoch_ms(end)


def scorecards_out(view: KpiView, config: ApiConfig, store: str) -> ScorecardsOut:
    """The answer of ``GET /api/v1/scorecards``."""
    now = now_utc(view)
    scoring = config.scorecards.for_store(store)
    target = config.targets.get(store)
    tz = target.timezone if target is not None else scoring.timezone
    local_now = now.astimezone(tz)
    start_ms, end_ms = _day_bounds_ms(view, config, store)
    rollup = view.rollup_range(store, start_ms, end_ms, window="today_local")
    kpis = rollup.kpis
    notes: list[str] = []
    gmv = rollup.components.get("gmv_minor", 0)
    margin = kpis.get("gross_margin")
    new_conv = kpis.get("new_customer_conversion")
    repeat = kpis.get("repeat_purchase_rate")
    if target is None:
        notes.append(f"no daily GMV target is configured for store {store!r}: GMV is missing")
        sales_inputs = SalesInputs(None, margin, new_conv, repeat)
    elif gmv is None or view.currency(store) not in (None, target.currency):
        notes.append(
            f"store {store!r} reports another currency than its target ({target.currency}): "
            "GMV is missing"
        )
        sales_inputs = SalesInputs(None, margin, new_conv, repeat)
    else:
        sales_inputs = SalesInputs.from_pace(
            pace(gmv, target, now),
            gross_margin=margin,
            new_customer_conversion=new_conv,
            repeat_purchase_rate=repeat,
        )
    service_inputs = ServiceInputs.from_kpis(kpis)
    notes.extend(rollup.notes)
    agents = [
        AgentScorecardOut(
            agent_id=agent_id,
            kpis=(values := agent_kpis(counts)),
            scorecard=_card(score_service(ServiceInputs.from_kpis(values), scoring, now)),
        )
        for agent_id, counts in sorted(view.agents_between(store, start_ms, end_ms).items())
    ]
    return ScorecardsOut(
        store_id=store,
        day=local_now.date().isoformat(),
        timezone=tz.key,
        as_of=local_now.isoformat(timespec="seconds"),
        day_start=format_ts_ms(start_ms),
        day_end=format_ts_ms(end_ms),
        day_start_ms=start_ms,
        day_end_ms=end_ms,
        minutes=rollup.minutes,
        sales=_card(score_sales(sales_inputs, scoring, now)),
        service=_card(score_service(service_inputs, scoring, now)),
        agents=agents,
        notes=notes,
    )
