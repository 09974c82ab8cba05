from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shoppulse.diurnal import HOUR_MS, diurnal_factor
from shoppulse.target_curves import (
    ECOMMERCE_CURVE,
    FLAT_CURVE,
    Curve,
    expected_share,
    expected_share_at,
)
from tests.shoppulse.target_stores import BERLIN, NEW_YORK
from tests.shoppulse.target_stores import store_target as _store

# --- curves -------------------------------------------------------------------------------


@pytest.mark.parametrize("curve", [ECOMMERCE_CURVE, FLAT_CURVE])
def test_builtin_curves_sum_to_one_and_accumulate(curve: Curve) -> None:
    assert len(curve.weights) == 24
    assert math.fsum(curve.weights) == pytest.approx(1.0, abs=1e-12)
    assert curve.cumulative[0] == 0.0
    assert curve.cumulative[24] == pytest.approx(1.0, abs=1e-12)
    shares = [expected_share(curve, time(m // 60, m % 60)) for m in range(0, 1440, 5)]
    assert all(a <= b for a, b in itertools.pairwise(shares))


def test_ecommerce_curve_follows_the_simulators_diurnal_factor() -> None:
    hourly = [diurnal_factor(h * HOUR_MS + 30 * 60_000) for h in range(24)]
    weights = ECOMMERCE_CURVE.weights
    assert weights.index(max(weights)) == hourly.index(max(hourly))  # the evening peak
    assert weights.index(min(weights)) == hourly.index(min(hourly))  # the dead of night
    assert 0.25 < expected_share(ECOMMERCE_CURVE, time(12)) < 0.4  # most sales after noon


def test_expected_share_interpolates_within_the_hour() -> None:
    c = ECOMMERCE_CURVE
    start, end = c.cumulative[14], c.cumulative[15]
    assert expected_share(c, time(14, 0)) == pytest.approx(start)
    assert expected_share(c, time(14, 15)) == pytest.approx(start + 0.25 * (end - start))
    assert expected_share(c, time(14, 30)) == pytest.approx((start + end) / 2)


# --- time zones and DST --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "local", "elapsed_h", "day_h"),
    [
        (BERLIN, datetime(2024, 6, 5, 12, 0), 12, 24),
        # Spring forward in Berlin: 02:00 → 03:00, a 23-hour day.
        (BERLIN, datetime(2024, 3, 31, 1, 30), 1.5, 23),
        (BERLIN, datetime(2024, 3, 31, 3, 30), 2.5, 23),
        (BERLIN, datetime(2024, 3, 31, 12, 0), 11, 23),
        # Fall back in Berlin: 03:00 → 02:00, a 25-hour day; 02:30 happens twice.
        (BERLIN, datetime(2024, 10, 27, 2, 30, fold=0), 2.5, 25),
        (BERLIN, datetime(2024, 10, 27, 2, 30, fold=1), 3.5, 25),
        (BERLIN, datetime(2024, 10, 27, 12, 0), 13, 25),
        # New York: spring forward at 02:00 on 2024-03-10, fall back on 2024-11-03.
        (NEW_YORK, datetime(2024, 3, 10, 18, 0), 17, 23),
        (NEW_YORK, datetime(2024, 11, 3, 18, 0), 19, 25),
    ],
)
def test_flat_share_follows_real_time_on_dst_days(
    tz: ZoneInfo, local: datetime, elapsed_h: float, day_h: int
) -> None:
    now = local.replace(tzinfo=tz)
    assert expected_share_at(FLAT_CURVE, now, tz) == pytest.approx(elapsed_h / day_h, abs=1e-12)
    start_ms, end_ms = _store(tz=tz).day_bounds_ms(now)
    assert end_ms - start_ms == day_h * HOUR_MS


@pytest.mark.parametrize("day", [date(2024, 3, 31), date(2024, 10, 27), date(2024, 6, 5)])
def test_ecommerce_share_runs_from_zero_to_one_through_a_dst_day(day: date) -> None:
    start = datetime.combine(day, time(0), tzinfo=BERLIN).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=BERLIN).astimezone(UTC)
    steps = int((end - start) / timedelta(minutes=10))
    instants = [start + timedelta(minutes=10 * i) for i in range(steps)]
    shares = [expected_share_at(ECOMMERCE_CURVE, t, BERLIN) for t in instants]
    assert shares[0] == 0.0
    assert all(0.0 <= s <= 1.0 for s in shares)
    assert all(a <= b for a, b in itertools.pairwise(shares))
    last = expected_share_at(ECOMMERCE_CURVE, end - timedelta(microseconds=1), BERLIN)
    assert last == pytest.approx(1.0, abs=1e-9)
