"""``GET /api/v1/kpis`` (a rollup window) and ``GET /api/v1/kpis/history`` (minute points)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from api.comparisons import compare
from api.deps import ReaderDep, SettingsDep
from api.reads import with_comparisons
from api.rollups import Window
from api.routers.common import StoreQuery, absence_notes, require_store
from api.schemas import HistoryOut, KpisOut
from api.view import KpiView
from shoppulse.timeutil import TimestampError, format_ts_ms, parse_ts_ms

router = APIRouter(prefix="/api/v1", tags=["kpis"])

DEFAULT_HISTORY_MINUTES = 60


@router.get("/kpis", response_model=KpisOut, summary="KPIs of a store over a window")
async def get_kpis(
    reader: ReaderDep,
    store: StoreQuery,
    window: Annotated[
        Window,
        Query(description="`1m` latest minute, `5m`, `1h`, or `today` (UTC day)."),
    ] = "1m",
) -> dict[str, Any]:
    """Components and derived KPIs of one store, or ``all`` stores summed, over ``window``.

    Ratios are ratios of sums. Distinct counts (visitors, sessions) are exact for
    ``1m`` of one store; elsewhere they and the KPIs derived from them are null and
    listed in ``unavailable_components``/``unavailable_kpis``.

    ``comparisons`` holds each KPI over the same window 1 day (``yesterday``) and 7 days
    (``last_week``) earlier, rolled up the same way; ``comparison_windows`` gives those
    windows' bounds and minutes. Where those minutes are not held a comparison's values
    are null and its ``notes`` (also appended to ``notes``) say why.

    A store the API has read snapshots of but holds no minute of in the window (its data is
    older than the minutes the API keeps, or it was idle) answers with ``minutes: 0`` and a
    note saying where its newest minute is; only a store never read is a 404.
    """
    require_store(reader.view, store)
    spans = with_comparisons(*reader.view.rollup_bounds(store, window))
    return await reader.read(spans, lambda view: kpis_body(view, store, window))


def kpis_body(view: KpiView, store: str, window: Window) -> dict[str, Any]:
    """The answer of ``GET /api/v1/kpis``: the rollup with its comparisons."""
    rollup = view.rollup(store, window)
    comparisons = compare(view, rollup)
    out = rollup.to_dict()
    absent = absence_notes(view, store, rollup.minutes)
    out["notes"] = [*absent, *out["notes"], *comparisons.notes]
    out["comparisons"] = comparisons.values
    out["comparison_windows"] = comparisons.windows
    return out


def _parse_instant(name: str, raw: str) -> int:
    value: object = int(raw) if raw.strip().lstrip("-").isdigit() else raw
    try:
        return parse_ts_ms(value)
    except TimestampError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"query parameter {name!r}: {exc} (use RFC 3339 with an offset or epoch ms)",
        ) from exc


@router.get("/kpis/history", response_model=HistoryOut, summary="Minute-by-minute KPIs of a store")
async def get_history(
    reader: ReaderDep,
    settings: SettingsDep,
    store: StoreQuery,
    minutes: Annotated[
        int | None,
        Query(ge=1, description="The last N minutes (including the current one)."),
    ] = None,
    start: Annotated[
        str | None,
        Query(alias="from", description="Start (inclusive): RFC 3339 with offset, or epoch ms."),
    ] = None,
    end: Annotated[
        str | None,
        Query(alias="to", description="End (exclusive); defaults to the end of this minute."),
    ] = None,
) -> dict[str, Any]:
    """One point per minute, oldest first: either ``minutes=N`` or ``from``/``to``.

    Without either, the last 60 minutes. Minutes are held from one hour before the start
    of the same UTC day last week (older minutes are simply absent); when a store has no
    minute in the range, ``notes`` says where its newest minute is.
    """
    if minutes is not None and (start is not None or end is not None):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail="give either 'minutes' or 'from'/'to', not both",
        )
    if minutes is not None and minutes > settings.api_history_minutes:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"'minutes' must be at most {settings.api_history_minutes}",
        )
    if end is not None and start is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="'to' needs 'from'")
    require_store(reader.view, store)
    _, now_end = reader.view.window_bounds("1m")
    if start is not None:
        start_ms = _parse_instant("from", start)
        end_ms = _parse_instant("to", end) if end is not None else now_end
        if end_ms <= start_ms:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, detail="'to' must be after 'from'"
            )
    else:
        end_ms = now_end
        start_ms = end_ms - (minutes or DEFAULT_HISTORY_MINUTES) * 60_000
    points, notes = await reader.read(
        [(start_ms, end_ms)], lambda view: _history_points(view, store, start_ms, end_ms)
    )
    return {
        "store_id": store,
        "window_start": format_ts_ms(start_ms),
        "window_end": format_ts_ms(end_ms),
        "window_start_ms": start_ms,
        "window_end_ms": end_ms,
        "points": points,
        "notes": notes,
    }


def _history_points(
    view: KpiView, store: str, start_ms: int, end_ms: int
) -> tuple[list[dict[str, Any]], list[str]]:
    points = [p.to_dict() for p in view.history(store, start_ms, end_ms)]
    return points, absence_notes(view, store, len(points))
