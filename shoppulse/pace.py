"""Attainment and pace: where a store stands against today's GMV target, and where it heads.

>>> from shoppulse.targets_file import load_targets
>>> book = load_targets('''
... stores:
...   s1: {daily_gmv_target_minor: 2400000, currency: EUR, timezone: Europe/Berlin,
...        curve: flat}
... ''')
>>> t = book.get("s1")
>>> book.get("nope") is None
True
>>> from datetime import datetime
>>> p = pace(1_152_000, t, datetime(2024, 6, 5, 12, 0, tzinfo=t.timezone))
>>> p.expected_share, p.projected_minor, p.status
(0.5, 2304000, 'on_track')
>>> p.summary
'GMV 11,520.00 EUR is 48% of the 24,000.00 EUR target at 12:00, 50% expected by now: on track for 96% of target (projected 23,040.00 EUR).'
"""  # noqa: E501

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Final, Literal

from shoppulse.money import format_minor
from shoppulse.target_curves import _require_aware
from shoppulse.targets import StoreTarget

#: Below this expected share of the day's GMV, :func:`pace` does not project (``too_early``).
MIN_EXPECTED_SHARE: Final = 0.02
#: :func:`pace` reports ``ahead``/``behind`` outside ``1 ± PACE_TOLERANCE`` of the target.
PACE_TOLERANCE: Final = 0.05

PaceStatus = Literal["no_target", "too_early", "met", "ahead", "on_track", "behind"]


def attainment(gmv_today_minor: int, target_minor: int) -> float | None:
    """GMV so far as a share of the day's target; ``None`` when there is no target (0).

    >>> attainment(1_200, 4_000), attainment(5_000, 4_000), attainment(0, 4_000)
    (0.3, 1.25, 0.0)
    >>> attainment(10, 0) is None
    True
    """
    if gmv_today_minor < 0:
        raise ValueError(f"gmv_today_minor must be >= 0, got {gmv_today_minor}")
    if target_minor < 0:
        raise ValueError(f"a target must be >= 0, got {target_minor}")
    if target_minor == 0:
        return None
    return gmv_today_minor / target_minor


@dataclass(frozen=True, slots=True)
class Pace:
    """Where a store stands against today's target, and where it is heading.

    ``projected_ratio`` equals ``attainment / expected_share``: the expected-share-adjusted
    attainment ("on track for 96% of target").
    """

    store_id: str
    day: date
    as_of: datetime  # local time of the store
    target_minor: int
    gmv_minor: int
    currency: str
    attainment: float | None
    expected_share: float
    expected_minor: int  # where the curve says GMV should be by now
    projected_minor: int | None
    projected_ratio: float | None
    status: PaceStatus
    summary: str


def pace(
    gmv_today_minor: int,
    target: StoreTarget,
    now: datetime,
    *,
    min_share: float = MIN_EXPECTED_SHARE,
    tolerance: float = PACE_TOLERANCE,
) -> Pace:
    """Today's attainment and projected end-of-day GMV at the instant ``now`` (aware).

    ``gmv_today_minor`` is the GMV of the store's local day so far
    (:meth:`StoreTarget.day_bounds_ms`). Projection is ``gmv / expected_share``; while
    less than ``min_share`` of the day's GMV is expected, the status is ``too_early`` and
    nothing is projected. Statuses, first match wins: ``no_target`` (target 0), ``met``
    (GMV ≥ target), ``too_early``, ``ahead`` / ``on_track`` / ``behind`` (projection above,
    within, below ``1 ± tolerance`` of the target).

    >>> from datetime import UTC
    >>> from zoneinfo import ZoneInfo
    >>> from shoppulse.target_curves import FLAT_CURVE
    >>> t = StoreTarget("s1", 2_400_000, "EUR", ZoneInfo("UTC"), FLAT_CURVE)
    >>> early = pace(1_000, t, datetime(2024, 6, 5, 0, 20, tzinfo=UTC))
    >>> early.status, early.projected_minor
    ('too_early', None)
    >>> late = pace(1_500_000, t, datetime(2024, 6, 5, 18, 0, tzinfo=UTC))
    >>> late.status, late.projected_minor, round(late.projected_ratio, 4)
    ('behind', 2000000, 0.8333)
    """
    if not 0 < min_share <= 1:
        raise ValueError("min_share must be in (0, 1]")
    _require_aware(now)
    local = now.astimezone(target.timezone)
    day = local.date()
    target_minor = target.target_minor_on(day)
    att = attainment(gmv_today_minor, target_minor)
    share = target.expected_share_at(now)
    projected: int | None = None
    ratio: float | None = None
    if att is not None and share >= min_share:
        projected = round(gmv_today_minor / share)
        ratio = att / share
    status: PaceStatus
    if att is None:
        status = "no_target"
    elif att >= 1.0:
        status = "met"
    elif ratio is None:
        status = "too_early"
    elif ratio > 1.0 + tolerance:
        status = "ahead"
    elif ratio >= 1.0 - tolerance:
        status = "on_track"
    else:
        status = "behind"
    result = Pace(
        store_id=target.store_id,
        day=day,
        as_of=local,
        target_minor=target_minor,
        gmv_minor=gmv_today_minor,
        currency=target.currency,
        attainment=att,
        expected_share=share,
        expected_minor=round(target_minor * share),
        projected_minor=projected,
        projected_ratio=ratio,
        status=status,
        summary="",
    )
    return replace(result, summary=_summary(result))


def _summary(p: Pace) -> str:
    gmv = format_minor(p.gmv_minor, p.currency)
    if p.attainment is None:
        return f"GMV {gmv}; no target for {p.day:%A %Y-%m-%d}."
    head = (
        f"GMV {gmv} is {_pct(p.attainment)} of the {format_minor(p.target_minor, p.currency)} "
        f"target at {p.as_of:%H:%M}, {_pct(p.expected_share)} expected by now"
    )
    met = "target met; " if p.status == "met" else ""
    if p.projected_minor is None or p.projected_ratio is None:
        return (
            f"{head}: {met}too early to project." if p.status != "met" else f"{head}: target met."
        )
    return (
        f"{head}: {met}on track for {_pct(p.projected_ratio)} of target "
        f"(projected {format_minor(p.projected_minor, p.currency)})."
    )


def _pct(x: float) -> str:
    return f"{x:.1%}" if 0 < x < 0.1 else f"{x:.0%}"
