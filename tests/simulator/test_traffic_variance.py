"""Real shops' variance for the simulator: the drawn level, its parts, the payment lag."""

from __future__ import annotations

import doctest
import itertools
import math
import random
import statistics
from collections import Counter

import pytest

from bench import traffic as bench_traffic
from simulator import traffic_variance
from simulator.durations import DAY_MS, MINUTE_MS
from simulator.traffic_variance import (
    DAY_RANGE,
    LEVEL_RANGE,
    PAYMENT_LAG,
    WEEKDAY_FACTORS,
    Variance,
)

MONDAY_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z, bench_traffic's day 0
#: Only one part of the level at a time.
CALM = Variance(day_sd=0.0, shift_every_days=0, wander_sd=0.0, dispersion=None, conversion_sd=0)


def test_doctests() -> None:
    assert doctest.testmod(traffic_variance).failed == 0


def test_the_defaults_are_the_detection_benchmarks_honest_traffic() -> None:
    honest, v = bench_traffic.HONEST, Variance()
    assert v.weekday == honest.weekday
    assert v.day_sd == honest.day_sigma
    assert 1 / v.shift_every_days == pytest.approx(honest.shift_chance)
    assert v.shift_size == honest.shift_size
    assert (v.wander_sd, v.wander_minutes) == (honest.wander_sd, honest.wander_minutes)
    assert v.dispersion == honest.dispersion == bench_traffic.DISPERSION
    assert v.payment_lag == honest.payment_lag == bench_traffic.PAYMENT_LAG
    assert v.conversion_sd == honest.conversion_sigma
    assert (DAY_RANGE, LEVEL_RANGE) == (bench_traffic.DAY_RANGE, bench_traffic.LEVEL_RANGE)


def test_day_factors_are_log_normal_within_their_range() -> None:
    track = Variance().track("store-001", seed=4, origin_ms=MONDAY_MS)
    factors = [track.day_factor(d) for d in range(20_000)]
    assert DAY_RANGE[0] <= min(factors)
    assert max(factors) <= DAY_RANGE[1]
    assert min(factors) == DAY_RANGE[0]
    assert max(factors) == DAY_RANGE[1]
    logs = [math.log(f) for f in factors]
    assert abs(statistics.mean(logs)) < 0.005
    assert statistics.stdev(logs) == pytest.approx(0.12, rel=0.05)
    conversion = [math.log(track.conversion(d * DAY_MS)) for d in range(20_000)]
    assert statistics.stdev(conversion) == pytest.approx(0.05, rel=0.05)
    assert track.day_factor(7) == Variance().track("store-001", seed=4, origin_ms=0).day_factor(7)


def test_the_weekday_pattern_follows_the_local_day() -> None:
    # UTC+1: the store's Monday starts at Sunday 23:00 UTC.
    track = CALM.track("s", seed=1, origin_ms=MONDAY_MS - DAY_MS, utc_offset_min=60)
    hour = 3_600_000
    levels = [track.rate_factor(MONDAY_MS - hour + d * DAY_MS) for d in range(14)]
    assert levels == [*WEEKDAY_FACTORS, *WEEKDAY_FACTORS]
    assert track.rate_factor(MONDAY_MS + 14 * DAY_MS - hour - 1) == WEEKDAY_FACTORS[6]
    assert max(WEEKDAY_FACTORS) == WEEKDAY_FACTORS[6]
    assert min(WEEKDAY_FACTORS) == 0.92


def test_level_shifts_are_rare_persistent_and_bounded() -> None:
    shifts = Variance(day_sd=0.0, wander_sd=0.0, dispersion=None)
    walks = []
    for store in range(300):
        track = shifts.track(f"store-{store}", seed=2, origin_ms=MONDAY_MS)
        day0 = track.day_of(MONDAY_MS)
        assert track.shift(day0) == 1.0
        assert track.shift(day0 - 5) == 1.0
        walks.append([track.shift(day0 + d) for d in range(60)])
    moves = [(a, b) for w in walks for a, b in itertools.pairwise(w) if a != b]
    assert len(moves) / (300 * 59) == pytest.approx(1 / 14, rel=0.1)
    assert all(LEVEL_RANGE[0] <= x <= LEVEL_RANGE[1] for w in walks for x in w)
    assert any(x == LEVEL_RANGE[1] for w in walks for x in w)  # clipped, sometimes
    unclipped = [b / a - 1 for a, b in moves if LEVEL_RANGE[0] < b < LEVEL_RANGE[1]]
    assert all(0.15 - 1e-9 <= abs(r) <= 0.3 + 1e-9 for r in unclipped)
    assert 0.4 < sum(r > 0 for r in unclipped) / len(unclipped) < 0.6
    again = shifts.track("store-7", seed=2, origin_ms=MONDAY_MS)
    assert again.shift(again.day_of(MONDAY_MS) + 59) == walks[7][59]  # drawn in any order
    never = Variance(shift_every_days=0).track("s", seed=2, origin_ms=MONDAY_MS)
    assert {never.shift(never.day_of(MONDAY_MS) + d) for d in range(1000)} == {1.0}


def test_the_wander_is_a_slow_ar1_and_the_gamma_factor_has_variance_one_over_k() -> None:
    wander = Variance(day_sd=0.0, shift_every_days=0, dispersion=None)
    track = wander.track("s", seed=3, origin_ms=MONDAY_MS)
    times = [MONDAY_MS + m * MINUTE_MS for m in range(100_000)]
    logs = [math.log(track.rate_factor(t) / track.level(t)) for t in times]
    assert statistics.stdev(logs) == pytest.approx(0.08, rel=0.15)
    lag = 180
    assert statistics.correlation(logs[:-lag], logs[lag:]) == pytest.approx(math.exp(-1), abs=0.1)
    assert statistics.correlation(logs[:-1], logs[1:]) > 0.99
    gamma = Variance(day_sd=0.0, shift_every_days=0, wander_sd=0.0, dispersion=25.0)
    g_track = gamma.track("s", seed=3, origin_ms=MONDAY_MS)
    g = [g_track.rate_factor(t) / g_track.level(t) for t in times[:20_000]]
    assert statistics.mean(g) == pytest.approx(1.0, abs=0.01)
    assert statistics.variance(g) == pytest.approx(1 / 25, rel=0.05)
    assert statistics.correlation(g[:-1], g[1:]) == pytest.approx(0.0, abs=0.03)


def test_one_factor_per_minute_and_time_never_goes_back() -> None:
    track = Variance().track("s", seed=1, origin_ms=MONDAY_MS)
    seconds = [track.rate_factor(MONDAY_MS + s * 1000) for s in range(180)]
    assert [len(set(seconds[i : i + 60])) for i in (0, 60, 120)] == [1, 1, 1]
    assert len(set(seconds)) == 3
    with pytest.raises(ValueError, match="time went back"):
        track.rate_factor(MONDAY_MS)


def test_deterministic_per_seed_and_store() -> None:
    def factors(seed: int, store: str) -> list[float]:
        track = Variance().track(store, seed=seed, origin_ms=MONDAY_MS)
        return [track.rate_factor(MONDAY_MS + m * MINUTE_MS) for m in range(0, 30 * 1440, 7)]

    assert factors(1, "store-001") == factors(1, "store-001")
    assert factors(1, "store-001") != factors(2, "store-001")
    assert factors(1, "store-001") != factors(1, "store-002")


def test_payments_land_zero_to_three_minutes_after_their_checkout() -> None:
    track = Variance().track("s", seed=1, origin_ms=MONDAY_MS)
    rng = random.Random(8)
    lags: Counter[int] = Counter()
    n = 40_000
    for _ in range(n):
        checkout = MONDAY_MS + rng.randrange(DAY_MS)
        paid = track.payment_ms(checkout, rng)
        assert paid >= checkout + 2
        lags[paid // MINUTE_MS - checkout // MINUTE_MS] += 1
    assert set(lags) == {0, 1, 2, 3}
    for minutes, p in enumerate(PAYMENT_LAG):
        assert lags[minutes] / n == pytest.approx(p, abs=0.01)
    same_minute = Variance(payment_lag=(1.0,)).track("s", seed=1, origin_ms=0)
    assert same_minute.payment_ms(30_000, rng) // MINUTE_MS == 0
    assert same_minute.payment_ms(59_999, rng) == 60_001  # no room left in its minute


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weekday": (1.0,) * 6}, "7 factors"),
        ({"weekday": (1.0,) * 6 + (0.0,)}, "7 factors"),
        ({"day_sd": math.nan}, "day_sd"),
        ({"wander_sd": -0.1}, "wander_sd"),
        ({"shift_every_days": 0.5}, "shift_days"),
        ({"shift_size": (0.3, 0.15)}, "lo <= hi"),
        ({"shift_size": (0.3, 1.0)}, "lo <= hi"),
        ({"wander_minutes": 0.0}, "wander"),
        ({"dispersion": 0.0}, "k must be"),
        ({"payment_lag": ()}, "payment lag"),
        ({"payment_lag": (1.2, -0.2)}, "payment lag"),
    ],
)
def test_bad_parameters_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Variance(**kwargs)  # type: ignore[arg-type]


def test_headroom_covers_the_busiest_weekday_and_two_sd_of_the_slow_level() -> None:
    assert Variance().headroom == pytest.approx(1.18 * math.exp(2 * math.hypot(0.12, 0.08)))
    assert CALM.headroom == 1.18
