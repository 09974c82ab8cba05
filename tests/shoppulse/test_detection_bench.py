from __future__ import annotations

import numpy as np
import pytest

from shoppulse.detection_bench import (
    CONVERSION,
    DAY_MINUTES,
    INCIDENT_MINUTES,
    RESPONSES_PER_SESSION,
    SLOW_SHARE,
    Dataset,
    Incident,
    IncidentKind,
    Size,
    StoreSeries,
    cusum_alarms,
    cusum_steps,
    evaluate,
    first_in_window,
    generate,
    run_detector,
    simulate_store,
)
from shoppulse.detectors import DETECTOR_BY_NAME

NOON = 12 * 60


def test_the_generator_is_deterministic_for_a_seed() -> None:
    a, b = generate(days=2, stores_per_size=1, seed=3), generate(days=2, stores_per_size=1, seed=3)
    other = generate(days=2, stores_per_size=1, seed=4)
    assert [s.name for s in a.stores] == [s.name for s in b.stores]
    for x, y, z in zip(a.stores, b.stores, other.stores, strict=True):
        for series in ("sessions", "orders_paid", "checkouts", "responses", "slow_responses"):
            assert np.array_equal(getattr(x, series), getattr(y, series))
        assert not np.array_equal(x.sessions, z.sessions)
    assert [(i.kind, i.store, i.start) for i in a.incidents] == [
        (i.kind, i.store, i.start) for i in b.incidents
    ]


def test_every_measured_day_of_an_incident_store_has_one_incident_between_9_and_21() -> None:
    data = generate(days=4, stores_per_size=1, seed=5)
    for store in data.stores:
        incs = data.incidents_of(store.name)
        if store.kind is None:
            assert incs == []
            continue
        assert sorted(i.start // DAY_MINUTES for i in incs) == [1, 2, 3]
        for inc in incs:
            assert inc.kind == store.kind
            assert inc.end - inc.start == INCIDENT_MINUTES
            assert inc.start % DAY_MINUTES >= 9 * 60
            assert inc.end % DAY_MINUTES <= 21 * 60


def test_store_sizes_peak_at_about_3_and_10_paid_orders_a_minute() -> None:
    sizes: tuple[tuple[Size, float], ...] = (("small", 3.0), ("large", 10.0))
    for size, peak in sizes:
        store, _ = simulate_store("s", size, 5, [], np.random.default_rng(1))
        top = store.session_rate[:DAY_MINUTES].max()
        assert top * CONVERSION == pytest.approx(peak)
        by_minute = store.orders_paid[: 5 * DAY_MINUTES].reshape(5, DAY_MINUTES)[:4].mean(axis=0)
        around_peak = by_minute[int(store.session_rate[:DAY_MINUTES].argmax()) - 30 :][:60]
        assert around_peak.mean() == pytest.approx(peak, rel=0.1)


def near(count: float, expected: float) -> bool:
    """Within 4 standard deviations of a Poisson count."""
    return abs(count - expected) <= 4 * float(np.sqrt(expected))


def window(kind: IncidentKind, seed: int = 11) -> tuple[slice, slice, StoreSeries, Incident]:
    """A large store with one ``kind`` incident at noon of day 1; (window, reference, store,
    incident), the reference being the same minutes of day 0."""
    start = DAY_MINUTES + NOON
    store, (inc,) = simulate_store("s", "large", 2, [(kind, start)], np.random.default_rng(seed))
    return slice(start, start + 60), slice(NOON, NOON + 60), store, inc


@pytest.mark.parametrize(
    ("kind", "factor"),
    [("conversion_drop_20", 0.8), ("conversion_drop_30", 0.7), ("conversion_drop_50", 0.5)],
)
def test_a_conversion_drop_lowers_paid_per_session_only(kind: IncidentKind, factor: float) -> None:
    w, _, store, inc = window(kind)
    s, paid = store.sessions, store.orders_paid
    assert near(paid[w].sum(), s[w].sum() * CONVERSION * factor)
    assert near(s[w].sum(), store.session_rate[w].sum())
    assert np.allclose(inc.expected, s[w] * CONVERSION)
    assert inc.change == pytest.approx(factor - 1)


def test_a_checkout_outage_stops_paid_orders_but_not_checkouts() -> None:
    w, ref, store, inc = window("checkout_outage")
    assert store.orders_paid[w].sum() == 0
    rate = store.session_rate[w].sum()
    assert near(store.checkouts[w].sum(), rate * (CONVERSION + (1 - CONVERSION) * 0.02))
    assert store.orders_paid[ref].sum() > 0
    assert inc.change == -1.0


def test_a_chat_surge_triples_responses_and_quintuples_the_slow_share() -> None:
    w, ref, store, _ = window("chat_surge")
    r, slow = store.responses, store.slow_responses
    rate = store.session_rate
    assert near(r[w].sum(), 3 * RESPONSES_PER_SESSION * rate[w].sum())
    assert near(r[ref].sum(), RESPONSES_PER_SESSION * rate[ref].sum())
    assert near(slow[w].sum(), 5 * SLOW_SHARE * r[w].sum())
    assert near(store.sessions[w].sum(), rate[w].sum())


def test_a_traffic_spike_triples_sessions_at_the_same_conversion() -> None:
    w, ref, store, inc = window("traffic_spike")
    s = store.sessions
    assert near(s[w].sum(), 3 * inc.expected.sum())
    assert near(s[ref].sum(), store.session_rate[ref].sum())
    assert near(store.orders_paid[w].sum(), CONVERSION * s[w].sum())


def test_a_half_conversion_drop_at_a_large_store_is_found_within_10_minutes() -> None:
    start = 2 * DAY_MINUTES + NOON
    store, (inc,) = simulate_store(
        "s", "large", 3, [("conversion_drop_50", start)], np.random.default_rng(7)
    )
    run = run_detector(store, "conversion_drop")
    delay = first_in_window(run.firing, inc.start, inc.end)
    assert delay is not None
    assert delay <= 10


def test_a_clean_day_of_a_large_store_raises_no_false_alarm() -> None:
    store, _ = simulate_store("s", "large", 2, [], np.random.default_rng(7))
    for name in DETECTOR_BY_NAME:
        run = run_detector(store, name)
        assert [m for m in run.fired if m >= DAY_MINUTES] == [], name


def test_the_oracle_with_a_huge_threshold_never_fires() -> None:
    data = generate(days=3, stores_per_size=1, seed=2)
    for store in data.stores:
        for kind in ("conversion_drop_50", "checkout_outage", "chat_surge", "traffic_spike"):
            steps = cusum_steps(*store.truth(kind), -0.5 if kind.startswith("conv") else 2.0)
            assert cusum_alarms(steps, 1e9) == []


def test_the_oracle_finds_an_outage_at_once() -> None:
    w, _, store, _inc = window("checkout_outage")
    steps = cusum_steps(*store.truth("checkout_outage"), -1.0)
    alarms = cusum_alarms(steps, 3.0)
    assert any(w.start <= t < w.start + 3 for t in alarms)


def test_clean_measured_days_stay_within_one_false_alarm_per_store_day() -> None:
    """The thresholds' goal, on the clean stores of the default run (seed 7, 3 per size)."""
    data = generate()
    clean = Dataset(data.days, [s for s in data.stores if s.kind is None], [])
    result = evaluate(clean)
    figures = {
        name: {size: (fa.alarms, fa.store_days) for size, fa in by_size.items()}
        for name, by_size in result.clean.items()
    }
    assert result.clean_total().store_days == 42
    for name in result.clean:
        assert result.clean_total(name).per_store_day <= 1.0, figures
    assert result.clean_total().per_store_day <= 1.0, figures
