"""Incidents fall where the benchmark says and do what their kind says."""

from __future__ import annotations

import numpy as np
import pytest

from bench.incidents import (
    DAY_MINUTES,
    INCIDENT_MINUTES,
    INCIDENT_TYPES,
    KINDS,
    Incident,
    IncidentKind,
    incident_starts,
)
from bench.traffic import (
    CONVERSION,
    HONEST,
    POISSON,
    RESPONSES_PER_SESSION,
    StoreSeries,
    generate,
    simulate_store,
)

NOON = 12 * 60


def test_incidents_fall_on_every_other_measured_day_at_any_time_of_day() -> None:
    data = generate(days=9, stores_per_size=2, seed=5)
    seen_minutes: list[int] = []
    for store in data.stores:
        incs = data.incidents_of(store.name)
        if store.kind is None:
            assert incs == []
            continue
        days = [i.start // DAY_MINUTES for i in incs]
        assert days[0] in (2, 3)  # after the 2 warm-up days
        assert days == list(range(days[0], 11, 2))
        for inc in incs:
            assert inc.kind == store.kind
            assert inc.end - inc.start == INCIDENT_MINUTES
            assert inc.end <= (inc.start // DAY_MINUTES + 1) * DAY_MINUTES  # same day
            assert inc.change == INCIDENT_TYPES[inc.kind].change
            seen_minutes.append(inc.start % DAY_MINUTES)
    assert min(seen_minutes) < 6 * 60
    assert max(seen_minutes) > 21 * 60
    assert {s.kind for s in data.stores} == {None, *KINDS}


def test_incidents_are_placed_alike_under_every_traffic() -> None:
    honest = generate(days=6, stores_per_size=1, seed=2, traffic=HONEST)
    tame = generate(days=6, stores_per_size=1, seed=2, traffic=POISSON)
    assert [(i.store, i.start) for i in honest.incidents] == [
        (i.store, i.start) for i in tame.incidents
    ]


def test_a_single_measured_day_still_gets_an_incident() -> None:
    for seed in range(5):
        starts = incident_starts(3, 2, np.random.default_rng(seed))
        assert [s // DAY_MINUTES for s in starts] == [2]


def near(count: float, expected: float, sd: float = 5.0) -> bool:
    return abs(count - expected) <= sd * float(np.sqrt(max(expected, 1.0)))


def window(kind: IncidentKind, seed: int = 11) -> tuple[slice, slice, StoreSeries, Incident]:
    """A large, tame store with one ``kind`` incident at noon of day 1; (window, the same
    minutes of day 0, store, incident)."""
    start = DAY_MINUTES + NOON
    store, (inc,) = simulate_store(
        "s", "large", 2, [(kind, start)], np.random.default_rng(seed), traffic=POISSON
    )
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
    assert np.allclose(inc.expected, s[w] * CONVERSION)  # tame: no payment lag
    assert inc.change == pytest.approx(factor - 1)


def test_a_checkout_outage_stops_payments_but_not_checkouts() -> None:
    w, ref, store, inc = window("checkout_outage")
    assert store.orders_paid[w].sum() == 0
    assert near(store.checkouts[w].sum(), store.checkouts[ref].sum() * 1.0, sd=8.0)
    assert store.orders_paid[ref].sum() > 0
    assert inc.change == -1.0


def test_an_honest_outage_loses_the_payments_that_land_in_the_window() -> None:
    start = DAY_MINUTES + NOON
    store, _ = simulate_store(
        "s", "large", 2, [("checkout_outage", start)], np.random.default_rng(3), traffic=HONEST
    )
    assert store.orders_paid[start : start + INCIDENT_MINUTES].sum() == 0
    after = store.orders_paid[start + INCIDENT_MINUTES : start + INCIDENT_MINUTES + 3]
    assert after.sum() > 0  # checkouts of the window's last minutes pay after it


def test_a_gmv_dip_fails_40_percent_of_payments() -> None:
    w, _, store, inc = window("gmv_dip")
    truth = store.truth("gmv_dip")
    assert near(store.orders_paid[w].sum(), 0.6 * truth.expected[w].sum())
    assert near(store.checkouts[w].sum(), store.session_rate[w].sum() * (CONVERSION + 0.019))
    assert inc.change == pytest.approx(-0.4)


def test_a_chat_surge_triples_responses_and_quintuples_the_slow_share() -> None:
    w, ref, store, _ = window("chat_surge")
    r, slow, rate = store.responses, store.slow_responses, store.session_rate
    assert near(r[w].sum(), 3 * RESPONSES_PER_SESSION * rate[w].sum())
    assert near(r[ref].sum(), RESPONSES_PER_SESSION * rate[ref].sum())
    assert near(slow[w].sum(), 5 * 0.1 * r[w].sum())
    assert near(store.sessions[w].sum(), rate[w].sum())


@pytest.mark.parametrize(("kind", "factor"), [("traffic_spike", 3.0), ("traffic_drop", 0.5)])
def test_traffic_incidents_scale_sessions_at_the_same_conversion(
    kind: IncidentKind, factor: float
) -> None:
    w, ref, store, inc = window(kind)
    s = store.sessions
    assert near(s[w].sum(), factor * inc.expected.sum())
    assert near(s[ref].sum(), store.session_rate[ref].sum())
    assert near(store.orders_paid[w].sum(), CONVERSION * s[w].sum())
    assert inc.change == pytest.approx(factor - 1)
