from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shoppulse.pace import attainment, pace
from shoppulse.target_curves import ECOMMERCE_CURVE
from tests.shoppulse.target_stores import BERLIN, NEW_YORK, TOKYO
from tests.shoppulse.target_stores import store_target as _store


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
