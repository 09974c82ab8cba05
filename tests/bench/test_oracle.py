"""The oracle's CUSUM: exact alarms, the likelihood ratios it is told, its calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.incidents import DAY_MINUTES
from bench.oracle import calibrate_threshold, cusum_alarms, cusum_steps
from bench.traffic import HONEST, POISSON, generate, simulate_store


def reference_alarms(steps: list[float], threshold: float) -> list[int]:
    """The CUSUM with restart, one minute at a time."""
    out, s = [], 0.0
    for t, x in enumerate(steps):
        s = max(0.0, s + x)
        if s >= threshold:
            out.append(t)
            s = 0.0
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-24, 24).map(lambda i: i / 8), max_size=600),
    st.integers(4, 160).map(lambda i: i / 8),
)
def test_alarms_match_the_minute_by_minute_cusum(steps: list[float], threshold: float) -> None:
    """Eighths add up exactly, so the chunked sums must give the very same alarms."""
    assert cusum_alarms(np.array(steps, dtype=np.float64), threshold) == reference_alarms(
        steps, threshold
    )


def test_a_limit_stops_the_count_early() -> None:
    steps = np.ones(100)
    assert cusum_alarms(steps, 2.0) == list(range(1, 100, 2))
    assert cusum_alarms(steps, 2.0, limit=3) == [1, 3, 5, 7]
    assert cusum_alarms(steps, 2.0, limit=1, count_from=50) == [
        *range(1, 50, 2),
        51,
        53,
    ]


def test_gamma_poisson_steps_weigh_evidence_less_and_tend_to_poisson() -> None:
    mu = np.full(5, 100.0)
    x = np.array([60.0, 80.0, 100.0, 120.0, 140.0])
    poisson = cusum_steps(x, mu, -0.3)
    for k in (10.0, 100.0, 1e4):
        nb = cusum_steps(x, mu, -0.3, k)
        assert np.all(np.abs(nb) <= np.abs(poisson) + 1e-12)
    assert np.allclose(cusum_steps(x, mu, -0.3, 1e9), poisson, atol=1e-5)
    # Exactly the log-likelihood ratio of two negative binomials of shape k.
    k, m0, m1 = 50.0, 100.0, 70.0

    def log_nb(n: float, m: float) -> float:
        return (
            math.lgamma(n + k)
            - math.lgamma(k)
            - math.lgamma(n + 1)
            + k * math.log(k / (k + m))
            + n * math.log(m / (k + m))
        )

    step = cusum_steps(np.array([80.0]), np.array([m0]), -0.3, k)[0]
    assert step == pytest.approx(log_nb(80, m1) - log_nb(80, m0))


def test_an_outage_step_resets_on_any_payment() -> None:
    steps = cusum_steps(np.array([0.0, 0.0, 1.0, 0.0]), np.full(4, 2.0), -1.0)
    assert steps.tolist() == [2.0, 2.0, -1e4, 2.0]


def test_the_oracle_with_a_huge_threshold_never_fires() -> None:
    data = generate(days=2, stores_per_size=1, seed=2, kinds=("gmv_dip", "traffic_drop"))
    for store in data.stores:
        for kind in ("conversion_drop_50", "checkout_outage", "chat_surge", "traffic_spike"):
            truth = store.truth(kind)
            steps = cusum_steps(truth.observed, truth.expected, 2.0, truth.shape)
            assert cusum_alarms(steps, 1e9) == []


def test_the_oracle_finds_an_outage_within_minutes_under_the_payment_lag() -> None:
    start = DAY_MINUTES + 12 * 60
    for traffic in (POISSON, HONEST):
        store, _ = simulate_store(
            "s", "large", 2, [("checkout_outage", start)], np.random.default_rng(1), traffic=traffic
        )
        truth = store.truth("checkout_outage")
        alarms = cusum_alarms(cusum_steps(truth.observed, truth.expected, -1.0), 4.0)
        assert any(start <= t < start + 3 for t in alarms), traffic.name


def test_calibration_finds_the_smallest_threshold_within_the_budget() -> None:
    rng = np.random.default_rng(0)
    runs = [rng.normal(-0.5, 1.0, 3 * DAY_MINUTES) for _ in range(2)]
    for budget in (0, 3, 20):
        h = calibrate_threshold(runs, budget)
        count = sum(sum(1 for t in cusum_alarms(r, h) if t >= DAY_MINUTES) for r in runs)
        below = sum(sum(1 for t in cusum_alarms(r, h / 1.002) if t >= DAY_MINUTES) for r in runs)
        assert count <= budget < below
