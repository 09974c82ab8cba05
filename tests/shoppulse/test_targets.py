from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shoppulse.diurnal import HOUR_MS, diurnal_factor
from shoppulse.targets import (
    ECOMMERCE_CURVE,
    FLAT_CURVE,
    Curve,
    StoreTarget,
    TargetsError,
    attainment,
    expected_share,
    expected_share_at,
    format_minor,
    load_targets,
    pace,
)

ROOT = Path(__file__).resolve().parents[2]
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")


def _store(
    target_minor: int = 2_400_000,
    tz: ZoneInfo = BERLIN,
    curve: Curve = FLAT_CURVE,
    weekdays: dict[int, int] | None = None,
) -> StoreTarget:
    return StoreTarget("s1", target_minor, "EUR", tz, curve, weekdays or {})


# --- YAML ---------------------------------------------------------------------------------


def test_example_file_loads() -> None:
    book = load_targets((ROOT / "config" / "targets.example.yaml").read_text(encoding="utf-8"))
    assert len(book) == 4
    s1 = book.get("store-001")
    assert s1 is not None
    assert (s1.currency, s1.timezone.key, s1.curve.name) == ("EUR", "Europe/Berlin", "ecommerce")
    assert s1.target_minor_on(date(2024, 6, 5)) == 2_400_000  # a Wednesday
    assert s1.target_minor_on(date(2024, 6, 8)) == 3_000_000  # a Saturday
    s2 = book.get("store-002")
    assert s2 is not None
    assert (s2.currency, s2.timezone.key, s2.curve.name) == (
        "USD",
        "America/New_York",
        "late_evening",
    )
    s7 = book.get("store-007")
    assert s7 is not None
    assert s7.target_minor_on(date(2024, 6, 9)) == 0  # closed on Sundays
    assert book.get("store-999") is None
    assert "store-003" in book


def test_defaults_fill_in_and_timezone_defaults_to_utc() -> None:
    book = load_targets(
        """
        defaults: {daily_gmv_target_minor: 500, currency: SEK}
        stores:
          a: {}
          b: {daily_gmv_target_minor: 700, curve: flat, timezone: Asia/Tokyo}
        """
    )
    a, b = book.get("a"), book.get("b")
    assert a is not None
    assert b is not None
    assert (a.daily_gmv_target_minor, a.currency, a.timezone.key) == (500, "SEK", "UTC")
    assert a.curve is ECOMMERCE_CURVE
    assert (b.daily_gmv_target_minor, b.currency, b.timezone.key, b.curve.name) == (
        700,
        "SEK",
        "Asia/Tokyo",
        "flat",
    )


def test_named_and_inline_curves_are_normalized() -> None:
    book = load_targets(
        """
        curves: {evening: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0]}
        stores:
          a: {daily_gmv_target_minor: 1, currency: EUR, curve: evening}
          b: {daily_gmv_target_minor: 1, currency: EUR,
              curve: [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6]}
        """
    )
    a, b = book.get("a"), book.get("b")
    assert a is not None
    assert b is not None
    assert a.curve.weights[18] == 0.25
    assert expected_share(a.curve, time(18, 0)) == 0.0
    assert expected_share(a.curve, time(20, 0)) == 0.5
    assert expected_share(b.curve, time(12, 0)) == 0.25
    for curve in (a.curve, b.curve):
        assert math.fsum(curve.weights) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stores: {s1: {currency: EUR}}", "stores.s1.daily_gmv_target_minor: required"),
        ("stores: {s1: {daily_gmv_target_minor: 10}}", "stores.s1.currency: required"),
        (
            "stores: {s1: {daily_gmv_target_minor: '10', currency: EUR}}",
            "stores.s1.daily_gmv_target_minor: Input should be a valid integer",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 10.5, currency: EUR}}",
            "stores.s1.daily_gmv_target_minor: Input should be a valid integer",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: -1, currency: EUR}}",
            "stores.s1.daily_gmv_target_minor: Input should be greater than or equal to 0",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 1, currency: eur}}",
            "stores.s1.currency: an ISO 4217 currency code",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 1, currency: EUR, timezone: Mars/Base}}",
            "stores.s1.timezone: unknown IANA time zone 'Mars/Base'",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 1, currency: EUR, curve: [1, 2]}}",
            "stores.s1.curve: a curve has 24 hourly weights, got 2",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 1, currency: EUR, curve: nightly}}",
            "stores.s1.curve: unknown curve 'nightly'; known: ecommerce, flat",
        ),
        (
            "defaults: {curve: nightly}\nstores: {s1: {daily_gmv_target_minor: 1, currency: EUR}}",
            "defaults.curve: unknown curve 'nightly'",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 1, currency: EUR, colour: red}}",
            "stores.s1.colour: unknown field",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 1, currency: EUR,"
            " weekday_targets_minor: {fri: -5}}}",
            "stores.s1.weekday_targets_minor.fri: Input should be greater than or equal to 0",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 1, currency: EUR,"
            " weekday_targets_minor: {friday: 5}}}",
            "stores.s1.weekday_targets_minor: key 'friday'",
        ),
        ("curves: {x: [0, 0]}\nstores: {}", "curves.x: a curve has 24 hourly weights"),
        (f"curves: {{x: {[0] * 24}}}\nstores: {{}}", "curves.x: curve weights must not all be 0"),
        (f"curves: {{x: {[1] * 23 + [-1]}}}\nstores: {{}}", "curves.x: curve weights must be"),
        (f"curves: {{flat: {[1] * 24}}}\nstores: {{}}", "the built-in curve 'flat' cannot be"),
        ("defaults: {currency: EUR}", "stores: required"),
        ("stores: {001: {daily_gmv_target_minor: 1, currency: EUR}}", "stores: key 1"),
        ("- a\n- b", "expected a YAML mapping"),
        ("stores: {s1: [", "not valid YAML"),
    ],
)
def test_errors_name_the_field(text: str, message: str) -> None:
    with pytest.raises(TargetsError) as info:
        load_targets(text)
    assert message in str(info.value)


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


def test_the_store_timezone_decides_the_day_and_the_share() -> None:
    now = datetime(2024, 6, 8, 20, 0, tzinfo=UTC)  # Saturday 20:00 UTC
    tokyo = _store(tz=TOKYO, weekdays={6: 4_800_000})  # a Sunday override
    berlin = _store(tz=BERLIN, weekdays={6: 4_800_000})
    p_tokyo, p_berlin = pace(0, tokyo, now), pace(1_200_000, berlin, now)
    assert (p_tokyo.day, p_tokyo.target_minor) == (date(2024, 6, 9), 4_800_000)  # Sun 05:00
    assert p_tokyo.expected_share == pytest.approx(5 / 24)
    assert (p_berlin.day, p_berlin.target_minor) == (date(2024, 6, 8), 2_400_000)  # Sat 22:00
    assert p_berlin.expected_share == pytest.approx(22 / 24)
    assert p_berlin.as_of.isoformat() == "2024-06-08T22:00:00+02:00"


# --- attainment and pace -------------------------------------------------------------------


def test_attainment() -> None:
    assert attainment(1_200, 4_000) == 0.3
    assert attainment(0, 4_000) == 0.0
    assert attainment(8_000, 4_000) == 2.0
    assert attainment(0, 0) is None
    assert attainment(50, 0) is None
    with pytest.raises(ValueError, match="gmv_today_minor"):
        attainment(-1, 100)


@pytest.mark.parametrize(
    ("hour", "gmv_minor", "share", "projected_minor", "status"),
    [
        (6, 600_000, 0.25, 2_400_000, "on_track"),
        (9, 600_000, 0.375, 1_600_000, "behind"),
        (12, 1_152_000, 0.5, 2_304_000, "on_track"),
        (18, 2_000_000, 0.75, 2_666_667, "ahead"),
        (21, 2_400_000, 0.875, 2_742_857, "met"),
    ],
)
def test_pace_at_several_times_of_day(
    hour: int, gmv_minor: int, share: float, projected_minor: int, status: str
) -> None:
    store = _store()
    p = pace(gmv_minor, store, datetime(2024, 6, 5, hour, tzinfo=BERLIN))
    assert p.expected_share == pytest.approx(share)
    assert p.expected_minor == round(2_400_000 * share)
    assert p.projected_minor == projected_minor
    assert p.projected_ratio == pytest.approx(gmv_minor / share / 2_400_000)
    assert p.status == status
    assert p.attainment == pytest.approx(gmv_minor / 2_400_000)


def test_pace_is_computed_in_the_stores_timezone() -> None:
    now = datetime(2024, 6, 5, 10, 0, tzinfo=UTC)  # 12:00 in Berlin, 06:00 in New York
    assert pace(1_200_000, _store(tz=BERLIN), now).projected_minor == 2_400_000
    assert pace(600_000, _store(tz=NEW_YORK), now).projected_minor == 2_400_000


def test_pace_on_a_dst_day() -> None:
    now = datetime(2024, 3, 31, 12, 0, tzinfo=BERLIN)  # 11 of 23 hours gone
    p = pace(1_100_000, _store(target_minor=2_300_000), now)
    assert p.projected_minor == 2_300_000
    assert p.projected_ratio == pytest.approx(1.0)
    assert p.status == "on_track"


def test_summary_reads_like_a_sentence() -> None:
    p = pace(1_152_000, _store(), datetime(2024, 6, 5, 12, tzinfo=BERLIN))
    assert p.summary == (
        "GMV 11,520.00 EUR is 48% of the 24,000.00 EUR target at 12:00, 50% expected by now: "
        "on track for 96% of target (projected 23,040.00 EUR)."
    )


def test_too_early_in_the_day_projects_nothing() -> None:
    store = _store(curve=ECOMMERCE_CURVE)
    now = datetime(2024, 6, 5, 0, 45, tzinfo=BERLIN)
    p = pace(30_000, store, now)
    assert p.expected_share < 0.02
    assert (p.status, p.projected_minor, p.projected_ratio) == ("too_early", None, None)
    assert "too early to project" in p.summary
    later = pace(30_000, store, datetime(2024, 6, 5, 9, 0, tzinfo=BERLIN))
    assert later.status == "behind"
    assert later.projected_minor is not None


def test_min_share_is_configurable() -> None:
    now = datetime(2024, 6, 5, 0, 45, tzinfo=BERLIN)
    p = pace(30_000, _store(curve=ECOMMERCE_CURVE), now, min_share=0.001)
    assert p.projected_minor is not None
    with pytest.raises(ValueError, match="min_share"):
        pace(0, _store(), now, min_share=0.0)


def test_no_gmv_yet() -> None:
    p = pace(0, _store(), datetime(2024, 6, 5, 15, tzinfo=BERLIN))
    assert (p.attainment, p.projected_minor, p.projected_ratio, p.status) == (
        0.0,
        0,
        0.0,
        "behind",
    )
    assert "on track for 0% of target" in p.summary


def test_zero_target_means_no_target() -> None:
    store = _store(weekdays={6: 0})
    p = pace(12_345, store, datetime(2024, 6, 9, 15, tzinfo=BERLIN))  # a Sunday
    assert (p.target_minor, p.attainment, p.projected_minor, p.status) == (
        0,
        None,
        None,
        "no_target",
    )
    assert p.summary == "GMV 123.45 EUR; no target for Sunday 2024-06-09."


def test_target_met_early_in_the_day() -> None:
    p = pace(2_500_000, _store(curve=ECOMMERCE_CURVE), datetime(2024, 6, 5, 0, 30, tzinfo=BERLIN))
    assert p.status == "met"
    assert p.projected_minor is None
    assert p.summary.endswith("target met.")


def test_end_of_day_projection_equals_gmv() -> None:
    p = pace(
        2_000_000, _store(curve=ECOMMERCE_CURVE), datetime(2024, 6, 5, 23, 59, 59, tzinfo=BERLIN)
    )
    assert p.expected_share == pytest.approx(1.0, abs=1e-4)
    assert p.projected_minor == pytest.approx(2_000_000, rel=1e-4)
    assert p.status == "behind"
    midnight = pace(0, _store(), datetime(2024, 6, 6, 0, 0, tzinfo=BERLIN))
    assert (midnight.day, midnight.expected_share, midnight.status) == (
        date(2024, 6, 6),
        0.0,
        "too_early",
    )


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        pace(0, _store(), datetime(2024, 6, 5, 12))


def test_format_minor() -> None:
    assert format_minor(0, "EUR") == "0.00 EUR"
    assert format_minor(5, "EUR") == "0.05 EUR"
    assert format_minor(123_456_789, "USD") == "1,234,567.89 USD"
    assert format_minor(9_000_000, "JPY") == "9,000,000 JPY"
    assert format_minor(1_234, "KWD") == "1.234 KWD"
