"""The benchmark's traffic has the variance its docstring promises, and is seeded."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.incidents import DAY_MINUTES
from bench.traffic import (
    CONVERSION,
    DAY_RANGE,
    DISPERSION,
    HONEST,
    LEVEL_RANGE,
    PAYMENT_LAG,
    POISSON,
    SIZES,
    Size,
    StoreSeries,
    Traffic,
    ar1,
    draw_level,
    generate,
    land_payments,
    simulate_store,
)

SERIES = ("sessions", "orders_paid", "checkouts", "responses", "slow_responses")


def store(
    size: Size = "large", days: int = 30, traffic: Traffic = HONEST, seed: int = 1
) -> StoreSeries:
    s, _ = simulate_store("s", size, days, [], np.random.default_rng(seed), traffic=traffic)
    return s


def test_the_generator_is_deterministic_for_a_seed() -> None:
    a = generate(days=2, stores_per_size=1, seed=3, kinds=("gmv_dip",))
    b = generate(days=2, stores_per_size=1, seed=3, kinds=("gmv_dip",))
    other = generate(days=2, stores_per_size=1, seed=4, kinds=("gmv_dip",))
    assert (
        [s.name for s in a.stores]
        == [s.name for s in b.stores]
        == [f"{k}-{size}-0" for size in SIZES for k in ("clean", "gmv_dip")]
    )
    for x, y, z in zip(a.stores, b.stores, other.stores, strict=True):
        for series in SERIES:
            assert np.array_equal(getattr(x, series), getattr(y, series))
        assert np.array_equal(x.level.day, y.level.day)
        assert not np.array_equal(x.sessions, z.sessions)
    assert [(i.store, i.start) for i in a.incidents] == [(i.store, i.start) for i in b.incidents]


def test_a_store_does_not_change_when_others_are_added() -> None:
    few = generate(days=2, stores_per_size=1, seed=3, kinds=("gmv_dip",), sizes=("small",))
    many = generate(days=2, stores_per_size=2, seed=3, sizes=("tiny", "small"))
    mine = next(s for s in many.stores if s.name == "gmv_dip-small-0")
    assert np.array_equal(few.stores[1].sessions, mine.sessions)


def test_sessions_are_gamma_poisson_with_the_documented_dispersion() -> None:
    """Var(sessions | λ) = λ + λ²/k with k = DISPERSION, against λ for Poisson traffic."""
    for traffic, k in ((HONEST, DISPERSION), (POISSON, math.inf)):
        s = store("large", 30, traffic)
        lam = s.session_rate
        busy = lam > 100  # where λ²/k is large against λ
        resid = (s.sessions - lam)[busy]
        expected = float(np.mean(lam[busy] + lam[busy] ** 2 / k))
        assert abs(float(resid.mean())) < 0.5  # unbiased given the true λ
        assert float(np.mean(resid**2)) == pytest.approx(expected, rel=0.06), traffic.name
    honest = store("large", 30, HONEST)
    busy = honest.session_rate > 150
    fano = float(np.mean((honest.sessions - honest.session_rate)[busy] ** 2)) / float(
        honest.session_rate[busy].mean()
    )
    assert fano > 2.0  # at least 2x Poisson at a large store's busy minutes


def test_day_factors_stay_in_range_and_change_the_level_by_10_to_30_percent() -> None:
    days = np.concatenate([draw_level(HONEST, 60, np.random.default_rng(i)).day for i in range(50)])
    assert DAY_RANGE[0] <= days.min()
    assert days.max() <= DAY_RANGE[1]
    changes = np.abs(np.diff(np.log(days)))
    assert float(np.std(np.log(days))) == pytest.approx(0.12, abs=0.01)
    assert 0.1 <= float(np.median(np.expm1(changes))) <= 0.3
    poisson = draw_level(POISSON, 20, np.random.default_rng(0))
    assert np.all(poisson.day == 1.0)
    assert np.all(poisson.shift == 1.0)
    assert np.all(poisson.wander == 0.0)


def test_level_shifts_are_persistent_rare_and_bounded() -> None:
    levels = [draw_level(HONEST, 56, np.random.default_rng(i)).shift for i in range(100)]
    moves = sum(int(np.count_nonzero(np.diff(s))) for s in levels)
    assert moves / (100 * 55) == pytest.approx(1 / 14, abs=0.02)
    for shift in levels:
        assert shift[0] == 1.0
        assert LEVEL_RANGE[0] <= shift.min()
        assert shift.max() <= LEVEL_RANGE[1]
        steps = np.abs(np.diff(shift) / shift[:-1])
        moved = steps[steps > 0]
        # A move is 15-30 % unless it ran into a bound.
        assert np.all(moved <= 0.3 + 1e-9)


def test_the_level_wanders_by_about_8_percent_over_hours() -> None:
    x = ar1(400_000, HONEST.wander_sd, HONEST.wander_minutes, np.random.default_rng(5))
    assert float(x.std()) == pytest.approx(0.08, rel=0.1)
    lag = int(HONEST.wander_minutes)
    corr = float(np.corrcoef(x[:-lag], x[lag:])[0, 1])
    assert corr == pytest.approx(math.exp(-1), abs=0.05)  # time constant: 3 hours
    assert float(np.corrcoef(x[:-1], x[1:])[0, 1]) > 0.99  # slow, not minute noise


def test_weekday_pattern_and_quiet_nights() -> None:
    s = store("small", 14, POISSON)
    assert s.level.weekday.tolist() == [1.0] * 5 + [1.15] * 2 + [1.0] * 5 + [1.15] * 2
    h = store("small", 7, HONEST)
    assert h.level.weekday.tolist() == list(HONEST.weekday)
    friday, saturday = HONEST.weekday[4], HONEST.weekday[5]
    assert friday < 1.0 < saturday < HONEST.weekday[6]
    day = s.session_rate[DAY_MINUTES : 2 * DAY_MINUTES]  # a Tuesday
    assert day[4 * 60] < 0.1 * day.max()


@pytest.mark.parametrize(("size", "peak"), [("tiny", 0.5), ("small", 3.0), ("large", 10.0)])
def test_store_sizes_peak_at_the_documented_paid_orders(size: Size, peak: float) -> None:
    s = store(size, 29, POISSON)
    tuesday = s.session_rate[DAY_MINUTES : 2 * DAY_MINUTES]
    assert tuesday.max() * CONVERSION == pytest.approx(peak)
    top = int(tuesday.argmax())
    weekdays = [d for d in range(29) if d % 7 in (1, 2, 3)]
    around = [s.orders_paid[d * DAY_MINUTES + top - 30 :][:60].mean() for d in weekdays]
    assert float(np.mean(around)) == pytest.approx(peak, rel=0.1)


def test_payments_land_0_to_3_minutes_after_their_checkout() -> None:
    paid = land_payments(
        np.array([0, 10_000, 0, 0, 0, 0, 0]), PAYMENT_LAG, np.random.default_rng(2)
    )
    assert paid[0] == 0
    assert paid[5:].sum() == 0
    assert paid.sum() == 10_000
    assert (paid[1:5] / 10_000) == pytest.approx(list(PAYMENT_LAG), abs=0.015)
    s = store("large", 3, HONEST)
    window = np.lib.stride_tricks.sliding_window_view(np.concatenate([[0] * 3, s.checkouts]), 4)
    assert np.all(s.orders_paid <= window.sum(axis=1))  # every payment's checkout is in t-3..t
    assert np.any(s.orders_paid > s.checkouts)  # and some arrive after their minute
    tame = store("large", 3, POISSON)
    assert np.all(tame.orders_paid <= tame.checkouts)


def test_the_oracle_is_told_unbiased_expectations_across_the_payment_lag() -> None:
    s = store("large", 10, HONEST, seed=4)
    for kind in ("conversion_drop_20", "checkout_outage", "gmv_dip", "traffic_drop", "chat_surge"):
        truth = s.truth(kind)
        gap = float(truth.observed.sum() - truth.expected.sum())
        # Within 4 sd of the sum (gamma-Poisson series are wider: their shape says how much).
        var = float(truth.expected.sum())
        if truth.shape is not None:
            var += float((truth.expected**2).sum()) / truth.shape
        assert abs(gap) < 4 * math.sqrt(var), kind
    # Conversion: the paid orders of a minute expect p·sessions of the 4 minutes before.
    truth = s.truth("conversion_drop_50")
    p = s.conversion
    m = 5000
    want = sum(w * p[m - lag] * s.sessions[m - lag] for lag, w in enumerate(PAYMENT_LAG))
    assert truth.expected[m] == pytest.approx(want)
    by_minute = truth.observed.sum() / truth.expected.sum()
    assert by_minute == pytest.approx(1.0, abs=0.02)


def test_a_minute_without_events_is_not_published() -> None:
    s = store("tiny", 3, HONEST)
    quiet = ~s.published
    assert quiet.any()  # a tiny store's night has empty minutes
    assert np.all(s.sessions[quiet] == 0)
    assert np.all(s.orders_paid[quiet] + s.checkouts[quiet] + s.responses[quiet] == 0)
    assert store("large", 3, HONEST).published.all()
