"""Daily GMV targets per store: each store's target, currency, time zone and curve.

A store's *day* is its local calendar day (IANA time zone, :mod:`zoneinfo`). Its target for
the day is ``daily_gmv_target_minor`` (integer minor currency units), or a per-weekday
override. Its *curve* says which share of the day's GMV is expected in each local hour, so
that "GMV so far" can be judged against "GMV expected by now" rather than against the whole
day's target: at 14:00 a store at 40% of its target is ahead if the curve expects 35% by
then.

A target is read from a targets file (:mod:`shoppulse.targets_file`), its curve is a
:class:`shoppulse.target_curves.Curve`, and :func:`shoppulse.pace.pace` judges a day's GMV
against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from shoppulse.target_curves import (
    ECOMMERCE_CURVE,
    Curve,
    _require_aware,
    expected_share_at,
    local_day_bounds,
)
from shoppulse.timeutil import epoch_ms


@dataclass(frozen=True, slots=True)
class StoreTarget:
    """One store's resolved daily target, currency, time zone and curve.

    >>> from datetime import UTC
    >>> from shoppulse.target_curves import FLAT_CURVE
    >>> t = StoreTarget("s1", 1000, "JPY", ZoneInfo("Asia/Tokyo"), FLAT_CURVE, {5: 2000})
    >>> t.local_day(datetime(2024, 6, 7, 15, 30, tzinfo=UTC))  # Saturday already in Tokyo
    datetime.date(2024, 6, 8)
    >>> t.target_minor_on(date(2024, 6, 8)), t.target_minor_on(date(2024, 6, 9))
    (2000, 1000)
    """

    store_id: str
    daily_gmv_target_minor: int
    currency: str
    timezone: ZoneInfo
    curve: Curve = ECOMMERCE_CURVE
    #: Overrides by weekday number (Monday = 0).
    weekday_targets_minor: Mapping[int, int] = field(default_factory=dict)

    def target_minor_on(self, day: date) -> int:
        """The target for a local calendar day (a weekday override, else the daily target)."""
        return self.weekday_targets_minor.get(day.weekday(), self.daily_gmv_target_minor)

    def local_day(self, now: datetime) -> date:
        """The store's local calendar day at the instant ``now`` (aware)."""
        _require_aware(now)
        return now.astimezone(self.timezone).date()

    def day_bounds_ms(self, now: datetime) -> tuple[int, int]:
        """Epoch milliseconds of the start of the store's local day and of the next day.

        Sum the minute windows in ``[start, end)`` to get "GMV today" for :func:`pace`.
        """
        start, end = local_day_bounds(self.local_day(now), self.timezone)
        return epoch_ms(start), epoch_ms(end)

    def expected_share_at(self, now: datetime) -> float:
        """:func:`expected_share_at` with this store's curve and time zone."""
        return expected_share_at(self.curve, now, self.timezone)


@dataclass(frozen=True, slots=True)
class TargetBook:
    """Every configured store's target; :meth:`get` returns ``None`` for an unknown store."""

    stores: Mapping[str, StoreTarget]

    def get(self, store_id: str) -> StoreTarget | None:
        return self.stores.get(store_id)

    def __contains__(self, store_id: object) -> bool:
        return store_id in self.stores

    def __len__(self) -> int:
        return len(self.stores)
