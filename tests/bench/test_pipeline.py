"""The benchmark runs the worker's own StoreDetectors, minute by minute."""

from __future__ import annotations

import numpy as np

from bench.pipeline import PipelineRun, minute_components, run_pipeline
from bench.traffic import HONEST, MINUTE_MS, T0_MS, simulate_store
from shoppulse.detectors import DETECTORS
from shoppulse.kpis import derive_kpis
from shoppulse.lazy_kpis import LazyKpis
from shoppulse.snapshot import KpiSnapshot
from shoppulse.store_detectors import StoreDetectors


def test_signals_are_those_of_store_detectors_on_real_snapshots() -> None:
    """The same transitions as StoreDetectors fed eagerly built snapshots of every minute
    with events."""
    store, _ = simulate_store("s", "large", 3, [], np.random.default_rng(2), traffic=HONEST)
    run = run_pipeline(store, warmup=30)
    sd = StoreDetectors("s", warmup=30)
    want: dict[str, list[tuple[int, bool]]] = {d.name: [] for d in DETECTORS}
    for m in np.flatnonzero(store.published).tolist():
        components = minute_components(
            int(store.sessions[m]),
            int(store.checkouts[m]),
            int(store.orders_paid[m]),
            int(store.responses[m]),
            int(store.slow_responses[m]),
        )
        start = T0_MS + m * MINUTE_MS
        snap = KpiSnapshot("s", start, start + MINUTE_MS, True, 1, "EUR", components, 0)
        for signal in sd.on_final(snap):
            want.setdefault(signal["labels"]["alertname"], []).append(
                (m, signal["status"] == "firing")
            )
    assert run.transitions == want
    assert sum(len(v) for v in want.values()) > 0  # the comparison saw signals
    assert run.published == int(store.published.sum())


def test_minutes_without_events_are_never_fed() -> None:
    store, _ = simulate_store("t", "tiny", 2, [], np.random.default_rng(1), traffic=HONEST)
    assert run_pipeline(store).published < store.minutes


def test_the_first_response_buckets_say_fast_and_slow() -> None:
    spec = next(d for d in DETECTORS if d.name == "first_response_spike")
    assert spec.observe(minute_components(10, 1, 1, 7, 2)) == (2.0, 7.0)


def test_lazy_kpis_are_the_derived_kpis() -> None:
    components = minute_components(120, 9, 6, 3, 1)
    lazy = LazyKpis(components, MINUTE_MS)
    assert dict(lazy) == dict(derive_kpis(components, MINUTE_MS))
    snap = KpiSnapshot("s", T0_MS, T0_MS + MINUTE_MS, True, 1, "EUR", components, 0, lazy)
    eager = KpiSnapshot("s", T0_MS, T0_MS + MINUTE_MS, True, 1, "EUR", components, 0)
    assert dict(snap.kpis) == dict(eager.kpis)


def test_firing_holds_from_a_firing_to_its_resolution() -> None:
    run = PipelineRun("s", {"x": [(2, True), (5, False), (8, True)]}, 10)
    on = [m for m, firing in enumerate(run.firing("x", 10).tolist()) if firing]
    assert on == [2, 3, 4, 8, 9]
    assert run.fired("x") == [2, 8]
    assert not run.firing("y", 3).any()
