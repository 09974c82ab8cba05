"""The expected intraday GMV curve of a store's local day, and the share of it due by an instant.

A *curve* says which share of the day's GMV is expected in each local hour, so that "GMV so
far" can be judged against "GMV expected by now" rather than against the whole day's target.

Built-in curves: ``ecommerce`` (the default: the simulator's
:func:`shoppulse.diurnal.diurnal_factor` averaged over each hour — quiet nights, a
mid-day peak and a higher evening peak) and ``flat`` (1/24 an hour). Weights are
normalized to sum to 1. Within an hour, sales are assumed to arrive evenly.

Daylight saving time: on a day that skips an hour (23 h) the skipped hour's weight is
never earned, and on a day that repeats an hour (25 h) the repeated hour's weight is
earned twice; :func:`expected_share_at` measures the share of *that* day's total, so it
still runs from 0 at local midnight to 1 at the next.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import Final

from shoppulse.diurnal import MINUTE_MS, diurnal_factor

HOURS_PER_DAY: Final = 24


@dataclass(frozen=True, slots=True)
class Curve:
    """24 hourly weights of a day's GMV, normalized to sum to 1 (hour 0 is 00:00 to 01:00 local).

    >>> c = Curve.from_weights("two", [1] * 12 + [3] * 12)
    >>> c.weights[0], c.weights[23], round(sum(c.weights), 12)
    (0.020833333333333332, 0.0625, 1.0)
    >>> Curve.from_weights("bad", [1] * 23)
    Traceback (most recent call last):
    ...
    ValueError: a curve has 24 hourly weights, got 23
    """

    name: str
    weights: tuple[float, ...]
    cumulative: tuple[float, ...] = field(repr=False)

    @classmethod
    def from_weights(cls, name: str, weights: Sequence[float]) -> Curve:
        """Validate (24 finite non-negative weights, not all 0) and normalize."""
        if len(weights) != HOURS_PER_DAY:
            raise ValueError(f"a curve has 24 hourly weights, got {len(weights)}")
        if any(isinstance(w, bool) or not (math.isfinite(w) and w >= 0) for w in weights):
            raise ValueError("curve weights must be finite numbers >= 0")
        total = math.fsum(weights)
        if total <= 0:
            raise ValueError("curve weights must not all be 0")
        normalized = tuple(w / total for w in weights)
        cumulative = tuple(math.fsum(weights[:i]) / total for i in range(HOURS_PER_DAY + 1))
        return cls(name, normalized, cumulative)

    def share_by_hour(self, hours: float) -> float:
        """Cumulative share by ``hours`` (0 to 24) after local midnight, linear within the hour."""
        h = min(max(hours, 0.0), float(HOURS_PER_DAY))
        i = min(int(h), HOURS_PER_DAY - 1)
        return min(1.0, self.cumulative[i] + (h - i) * self.weights[i])


def _ecommerce_weights() -> list[float]:
    per_hour = 60
    return [
        math.fsum(diurnal_factor((h * per_hour + m) * MINUTE_MS) for m in range(per_hour))
        for h in range(HOURS_PER_DAY)
    ]


#: The default curve: a realistic e-commerce day (see the module docstring).
ECOMMERCE_CURVE: Final = Curve.from_weights("ecommerce", _ecommerce_weights())
FLAT_CURVE: Final = Curve.from_weights("flat", [1.0] * HOURS_PER_DAY)
BUILTIN_CURVES: Final[Mapping[str, Curve]] = MappingProxyType(
    {c.name: c for c in (ECOMMERCE_CURVE, FLAT_CURVE)}
)


def expected_share(curve: Curve, local_time: time) -> float:
    """The expected cumulative share of the day's GMV by a local wall-clock time.

    Linear within the hour. This is the plain wall-clock reading of the curve; for a real
    instant in a store's time zone (correct on DST days) use :func:`expected_share_at`.

    >>> expected_share(FLAT_CURVE, time(6, 0)), expected_share(FLAT_CURVE, time(6, 30))
    (0.25, 0.2708333333333333)
    >>> c = ECOMMERCE_CURVE
    >>> expected_share(c, time(0)), round(expected_share(c, time.max), 6)
    (0.0, 1.0)
    >>> 0.02 < expected_share(ECOMMERCE_CURVE, time(9, 0)) < 0.2 < 0.5 < expected_share(
    ...     ECOMMERCE_CURVE, time(17, 0)) < 0.8
    True
    """
    return curve.share_by_hour(_hours(local_time))


def _hours(t: time) -> float:
    return t.hour + t.minute / 60 + t.second / 3600 + t.microsecond / 3_600_000_000


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants at which the local ``day`` starts and the next one starts.

    >>> from zoneinfo import ZoneInfo
    >>> start, end = local_day_bounds(date(2024, 3, 31), ZoneInfo("Europe/Berlin"))
    >>> start.isoformat(), (end - start) / timedelta(hours=1)
    ('2024-03-30T23:00:00+00:00', 23.0)
    """
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def expected_share_at(curve: Curve, now: datetime, tz: tzinfo) -> float:
    """The expected share of the local day's GMV earned by the instant ``now`` (aware).

    Follows the real timeline of the local day, so DST days come out right.

    >>> from zoneinfo import ZoneInfo
    >>> berlin = ZoneInfo("Europe/Berlin")
    >>> expected_share_at(FLAT_CURVE, datetime(2024, 6, 5, 12, tzinfo=berlin), berlin)
    0.5
    >>> round(expected_share_at(FLAT_CURVE, datetime(2024, 3, 31, 12, tzinfo=berlin), berlin)
    ...       * 23, 9)  # 11 of the day's 23 hours
    11.0
    """
    _require_aware(now)
    day = now.astimezone(tz).date()
    start, end = local_day_bounds(day, tz)
    total = _weight_between(curve, start, end, tz, day)
    if total <= 0:  # a curve whose weight all sits in a skipped hour: read the wall clock
        return expected_share(curve, now.astimezone(tz).time())
    done = _weight_between(curve, start, max(start, now.astimezone(UTC)), tz, day)
    return min(1.0, max(0.0, done / total))


def _weight_between(curve: Curve, a: datetime, b: datetime, tz: tzinfo, day: date) -> float:
    """The curve's weight over the real interval [a, b) of the local ``day``."""
    if b <= a:
        return 0.0
    offset = _utcoffset(a, tz)
    if _utcoffset(b - timedelta(microseconds=1), tz) != offset:
        split = _offset_change(a, b, tz)
        return _weight_between(curve, a, split, tz, day) + _weight_between(curve, split, b, tz, day)
    midnight = datetime.combine(day, time(0))

    def wall_hours(x: datetime) -> float:
        return (x.replace(tzinfo=None) + offset - midnight) / timedelta(hours=1)

    return curve.share_by_hour(wall_hours(b)) - curve.share_by_hour(wall_hours(a))


def _utcoffset(instant: datetime, tz: tzinfo) -> timedelta:
    off = instant.astimezone(tz).utcoffset()
    return timedelta(0) if off is None else off


def _offset_change(a: datetime, b: datetime, tz: tzinfo) -> datetime:
    """The first instant in (a, b) with another UTC offset than ``a`` (to the second)."""
    first = _utcoffset(a, tz)
    lo, hi = a, b  # offset(lo) == first; offset(hi - 1µs) != first
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if _utcoffset(mid, tz) == first:
            lo = mid
        else:
            hi = mid
    # Zone transitions fall on whole seconds: the first whole second after ``lo``.
    return lo.replace(microsecond=0) + timedelta(seconds=1)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
