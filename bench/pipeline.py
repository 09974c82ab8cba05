"""The pipeline's side of ``shoppulse bench-detect``: a store's minutes through its real
:class:`~shoppulse.store_detectors.StoreDetectors`, as the worker's detection agent runs them.

Each minute with events becomes a final :class:`~shoppulse.snapshot.KpiSnapshot` whose
components carry what the detectors read (``sessions``, ``checkouts``, ``orders_paid``,
``gmv_minor`` and the first-response histogram: fast answers in the 10-15 s bucket, slow
ones in the 30-45 s bucket) and ``skus_tracked = 0`` (no stock feed: the inventory rules stay
silent). :meth:`StoreDetectors.on_final` scores and learns; its signals (alerts in the
Prometheus shape) are the benchmark's output. Minutes without events are skipped, as the
worker never closes them (:attr:`~bench.traffic.StoreSeries.published`).

What differs from the worker: the detector state is kept in memory, not read back from its
table (the agent keeps it decoded too), and the snapshot's derived KPIs are computed only if
something reads them (:class:`LazyKpis`; the detectors read components).

>>> import numpy as np
>>> from bench.traffic import simulate_store
>>> store, _ = simulate_store("s", "small", 2, [], np.random.default_rng(1))
>>> run = run_pipeline(store)
>>> run.store, run.published == int(store.published.sum()), sorted(run.transitions)[:2]
('s', True, ['checkout_outage', 'conversion_drop'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from bench.traffic import MINUTE_MS, T0_MS, StoreSeries
from shoppulse.detectors import DETECTORS, Sensitivity
from shoppulse.histogram import FIRST_RESPONSE_S, component_names
from shoppulse.lazy_kpis import LazyKpis
from shoppulse.snapshot import KpiSnapshot
from shoppulse.store_detectors import StoreDetectors

_BUCKETS: Final = component_names(FIRST_RESPONSE_S)
_FAST: Final = _BUCKETS[2]
"""(10 s, 15 s]"""
_SLOW: Final = _BUCKETS[5]
"""(30 s, 45 s]"""
_SUM: Final = _BUCKETS[-1]
_TICKS: Final = FIRST_RESPONSE_S.ticks_per_unit
AOV_MINOR: Final = 4_500
"""Amount of every paid order (GMV is watched as a count of paid orders)."""


@dataclass(frozen=True, slots=True)
class PipelineRun:
    store: str
    transitions: dict[str, list[tuple[int, bool]]]
    """Signal name → (minute, firing?) of every state change, in order."""
    published: int
    """Minutes the detectors saw."""

    def firing(self, name: str, minutes: int) -> npt.NDArray[np.bool_]:
        """Whether ``name`` is firing after each minute (a state holds until it changes)."""
        out = np.zeros(minutes, dtype=bool)
        since: int | None = None
        for minute, on in self.transitions.get(name, []):
            if on and since is None:
                since = minute
            elif not on and since is not None:
                out[since:minute] = True
                since = None
        if since is not None:
            out[since:] = True
        return out

    def fired(self, name: str) -> list[int]:
        """Minutes at which ``name`` started firing."""
        return [m for m, on in self.transitions.get(name, []) if on]


def minute_components(
    sessions: int, checkouts: int, paid: int, responses: int, slow: int
) -> dict[str, int]:
    """The components of a minute that the detectors read.

    >>> c = minute_components(40, 3, 2, 5, 1)
    >>> c["sessions"], c["orders_paid"], c["first_response_s_b02"], c["first_response_s_b05"]
    (40, 2, 4, 1)
    """
    fast = responses - slow
    return {
        "sessions": sessions,
        "checkouts": checkouts,
        "orders_paid": paid,
        "gmv_minor": paid * AOV_MINOR,
        _FAST: fast,
        _SLOW: slow,
        _SUM: (fast * 12 + slow * 40) * _TICKS,
        "skus_tracked": 0,
    }


def run_pipeline(
    store: StoreSeries, warmup: int = 30, sensitivity: Sensitivity = "default"
) -> PipelineRun:
    """Every minute with events of ``store`` through a new :class:`StoreDetectors` (the
    detection agent's construction: ``warmup`` is ``Settings.detection_warmup``)."""
    sd = StoreDetectors(store.name, warmup=warmup, sensitivity=sensitivity)
    transitions: dict[str, list[tuple[int, bool]]] = {d.name: [] for d in DETECTORS}
    minutes = np.flatnonzero(store.published)
    columns = zip(
        minutes.tolist(),
        store.sessions[minutes].tolist(),
        store.checkouts[minutes].tolist(),
        store.orders_paid[minutes].tolist(),
        store.responses[minutes].tolist(),
        store.slow_responses[minutes].tolist(),
        strict=True,
    )
    for m, sessions, checkouts, paid, responses, slow in columns:
        start = T0_MS + m * MINUTE_MS
        components = minute_components(sessions, checkouts, paid, responses, slow)
        snap = KpiSnapshot(
            store_id=store.name,
            window_start_ms=start,
            window_end_ms=start + MINUTE_MS,
            final=True,
            revision=1,
            currency="EUR",
            components=components,
            emitted_at_ms=start + MINUTE_MS,
            kpis=LazyKpis(components, MINUTE_MS),
        )
        for signal in sd.on_final(snap):
            name = signal["labels"]["alertname"]
            transitions.setdefault(name, []).append((m, signal["status"] == "firing"))
    return PipelineRun(store.name, transitions, len(minutes))
