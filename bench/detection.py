"""The detection benchmark behind ``shoppulse bench-detect``: simulated shops, injected
incidents, the pipeline's detectors against an oracle CUSUM.

* **Traffic** (:mod:`bench.traffic`): per store, a minute series of its funnel over
  ``warmup_days`` (2) + ``days`` measured days (28) — tiny, small and large stores (weekday
  peaks of 0.5, 3 and 10 paid orders a minute), quiet nights, weekday and weekend levels,
  log-normal day factors, persistent level shifts, a slow wander of the level, gamma-Poisson
  sessions and payments 0-3 minutes after their checkout. The ``poisson`` profile is the
  tame traffic of earlier versions (a fixed curve, Poisson counts, no payment lag).
* **Incidents** (:mod:`bench.incidents`): stores are *clean* (the false-alarm
  measurement) or carry one incident kind, 60 minutes at a random time of day on every other
  measured day: conversion drops of 20/30/50 %, a checkout outage, a chat surge, a traffic
  spike x3, a traffic drop -50 % and a GMV dip -40 %.
* **Pipeline** (:mod:`bench.pipeline`): each store's minutes with events go through
  :class:`~shoppulse.store_detectors.StoreDetectors` as final snapshots, as in the worker; its
  signals are the output. Stores run in parallel processes (``jobs``).
* **Evaluation** (here): a false alarm is a firing transition on a measured day outside every
  incident window and the 30 minutes after it (every store has all detectors). An incident is
  detected when its kind's detector makes a firing transition inside the window; the delay is
  that minute - start.
* **Oracle** (:mod:`bench.oracle`): a CUSUM told the true expectation and change,
  its threshold calibrated on the clean stores of the size to the detector's false-alarm rate.
* **Figures** (:mod:`bench.report`).

Everything is deterministic for a seed (each store has its own random streams).

>>> data = generate(days=1, stores_per_size=1, seed=1, kinds=("traffic_spike",),
...                 sizes=("large",))
>>> result = evaluate(data)
>>> [k.kind for k in result.kinds], result.kinds[0].incidents
(['traffic_spike'], 1)
>>> sorted(result.to_dict()["false_alarms_per_store_day_all_detectors"])
['all', 'large']
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
import numpy.typing as npt

from bench.incidents import (
    AFTERMATH_MINUTES,
    DAY_MINUTES,
    INCIDENT_TYPES,
    KINDS,
    Incident,
    IncidentKind,
)
from bench.oracle import calibrate_threshold, cusum_alarms, cusum_steps
from bench.pipeline import PipelineRun, run_pipeline
from bench.report import NOTES, BenchResult, FalseAlarms, KindResult, compare
from bench.traffic import (
    HONEST,
    SIZES,
    TRAFFIC,
    Dataset,
    Size,
    StoreSeries,
    Traffic,
    generate,
)
from shoppulse.detectors import DETECTORS, Sensitivity

__all__ = [
    "TRAFFIC",
    "BenchResult",
    "Dataset",
    "bench_steps",
    "compare",
    "evaluate",
    "excluded_minutes",
    "generate",
    "run_bench",
    "run_pipelines",
]

Step = Callable[[str], None]


def default_jobs() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_pipelines(
    stores: Sequence[StoreSeries],
    warmup: int = 30,
    jobs: int = 1,
    on_done: Step | None = None,
    sensitivity: Sensitivity = "default",
) -> dict[str, PipelineRun]:
    """:func:`~bench.pipeline.run_pipeline` of every store, in ``jobs`` processes
    (1: in this one); ``on_done(store name)`` as each finishes."""
    done = on_done or (lambda _name: None)
    out: dict[str, PipelineRun] = {}
    if jobs <= 1 or len(stores) <= 1:
        for store in stores:
            out[store.name] = run_pipeline(store, warmup, sensitivity)
            done(store.name)
        return out
    with ProcessPoolExecutor(max_workers=min(jobs, len(stores))) as pool:
        futures = {
            pool.submit(run_pipeline, store, warmup, sensitivity): store.name for store in stores
        }
        for future in as_completed(futures):
            out[futures[future]] = future.result()
            done(futures[future])
    return out


def excluded_minutes(
    minutes: int, incidents: Sequence[Incident], warmup_days: int = 1
) -> npt.NDArray[np.bool_]:
    """Minutes that are not clean: the warm-up days and each incident window plus its
    aftermath.

    >>> m = excluded_minutes(3 * DAY_MINUTES, [], warmup_days=2)
    >>> int(m.sum()) == 2 * DAY_MINUTES, bool(m[2 * DAY_MINUTES])
    (True, False)
    """
    mask = np.zeros(minutes, dtype=bool)
    mask[: warmup_days * DAY_MINUTES] = True
    for inc in incidents:
        mask[inc.start : min(minutes, inc.end + AFTERMATH_MINUTES)] = True
    return mask


def false_alarms(fired: Sequence[int], excluded: npt.NDArray[np.bool_]) -> int:
    return sum(1 for m in fired if not excluded[m])


def first_in_window(minutes: Sequence[int], start: int, end: int) -> int | None:
    """The delay of the first of the sorted ``minutes`` in ``[start, end)``.

    >>> first_in_window([3, 12, 15], 10, 20), first_in_window([3], 10, 20)
    (2, None)
    """
    for m in minutes:
        if start <= m < end:
            return m - start
        if m >= end:
            break
    return None


def bench_steps(data: Dataset) -> int:
    """Units of work :func:`evaluate` reports through ``on_step``."""
    sizes = {s.size for s in data.stores}
    kinds = {s.kind for s in data.stores if s.kind is not None}
    return len(data.stores) + len(sizes) * len(kinds)


def _signal_names(runs: dict[str, PipelineRun]) -> list[str]:
    names = [d.name for d in DETECTORS]
    for run in runs.values():
        names.extend(n for n in run.transitions if n not in names)
    return names


def evaluate(
    data: Dataset,
    warmup: int = 30,
    on_step: Step | None = None,
    stores_per_size: int = 0,
    seed: int = 0,
    jobs: int = 1,
    sensitivity: Sensitivity = "default",
) -> BenchResult:
    """Run the pipeline and the oracle over ``data``; ``on_step(label)`` after each unit."""
    began = time.perf_counter()
    step = on_step or (lambda _label: None)
    runs = run_pipelines(
        data.stores, warmup, jobs, lambda name: step(f"pipeline {name}"), sensitivity
    )
    names = _signal_names(runs)
    sizes = [s for s in SIZES if any(store.size == s for store in data.stores)]
    measured_days = float(data.measured_days)

    clean: dict[str, dict[str, FalseAlarms]] = {n: {s: FalseAlarms() for s in sizes} for n in names}
    incident_fa: dict[str, FalseAlarms] = {n: FalseAlarms() for n in names}
    by_kind: dict[tuple[str, str], KindResult] = {}
    seen: dict[str, list[float]] = {s: [0.0, 0.0] for s in sizes}
    for store in data.stores:
        run = runs[store.name]
        seen[store.size][0] += run.published
        seen[store.size][1] += store.minutes
        incs = data.incidents_of(store.name)
        excluded = excluded_minutes(store.minutes, incs, data.warmup_days)
        if store.kind is None:
            for name in names:
                fa = clean[name][store.size]
                fa.alarms += false_alarms(run.fired(name), excluded)
                fa.store_days += measured_days
            continue
        free_days = float((~excluded).sum()) / DAY_MINUTES
        for name in names:
            incident_fa[name].alarms += false_alarms(run.fired(name), excluded)
            incident_fa[name].store_days += free_days
        itype = INCIDENT_TYPES[store.kind]
        result = by_kind.setdefault(
            (store.kind, store.size), KindResult(store.kind, store.size, itype.detector)
        )
        fired = run.fired(itype.detector)
        firing = run.firing(itype.detector, store.minutes)
        anyone = sorted(m for name in names for m in run.fired(name))
        for inc in incs:
            result.incidents += 1
            delay = first_in_window(fired, inc.start, inc.end)
            if delay is not None:
                result.delays.append(delay)
            if inc.start > 0 and firing[inc.start - 1]:
                result.already_firing += 1
            any_delay = first_in_window(anyone, inc.start, inc.end)
            if any_delay is not None:
                result.any_delays.append(any_delay)

    for kind in KINDS:
        for size in sizes:
            result_or_none = by_kind.get((kind, size))
            if result_or_none is None:
                continue
            step(f"oracle {kind} {size}")
            _oracle(data, result_or_none, clean[INCIDENT_TYPES[kind].detector][size])
    kinds = [by_kind[(k, s)] for k in KINDS for s in sizes if (k, s) in by_kind]
    minutes_seen = {s: (v[0] / v[1] if v[1] else 0.0) for s, v in seen.items()}
    return BenchResult(
        data.traffic,
        data.days,
        data.warmup_days,
        stores_per_size,
        seed,
        kinds,
        clean,
        incident_fa,
        minutes_seen,
        list(NOTES),
        time.perf_counter() - began,
    )


def _oracle(data: Dataset, result: KindResult, detector_fa: FalseAlarms) -> None:
    """Calibrate the oracle of ``result``'s kind and size on the clean stores to the
    detector's false alarms there, then time it on the incident stores."""
    kind: IncidentKind = result.kind
    change = INCIDENT_TYPES[kind].change
    count_from = data.warmup_days * DAY_MINUTES

    def steps(store: StoreSeries) -> npt.NDArray[np.float64]:
        truth = store.truth(kind)
        return cusum_steps(truth.observed, truth.expected, change, truth.shape)

    clean_steps = [steps(s) for s in data.stores if s.kind is None and s.size == result.size]
    # The same false-alarm rate on the same store-days: none when the detector had none (a
    # budget of one a store-day there compared the detector with a far noisier oracle).
    target = detector_fa.per_store_day
    budget = math.floor(target * detector_fa.store_days + 1e-9)
    h = calibrate_threshold(clean_steps, budget, count_from)
    got = sum(sum(1 for t in cusum_alarms(st, h) if t >= count_from) for st in clean_steps)
    result.oracle_threshold = h
    result.oracle_target_per_store_day = target
    result.oracle_false_alarms_per_store_day = (
        got / detector_fa.store_days if detector_fa.store_days else 0.0
    )
    for store in data.stores:
        if store.kind != kind or store.size != result.size:
            continue
        alarms = cusum_alarms(steps(store), h)
        for inc in data.incidents_of(store.name):
            delay = first_in_window(alarms, inc.start, inc.end)
            if delay is not None:
                result.oracle_delays.append(delay)


def run_bench(
    days: int = 28,
    stores_per_size: int = 2,
    seed: int = 7,
    warmup: int = 30,
    on_step: Step | None = None,
    traffic: Traffic = HONEST,
    warmup_days: int = 2,
    jobs: int = 1,
    kinds: Sequence[IncidentKind] = KINDS,
    sizes: Sequence[Size] = SIZES,
    sensitivity: Sensitivity = "default",
) -> BenchResult:
    """Generate and evaluate one run (see :func:`generate` and :func:`evaluate`)."""
    data = generate(days, stores_per_size, seed, kinds, traffic, warmup_days, sizes)
    return evaluate(data, warmup, on_step, stores_per_size, seed, jobs, sensitivity)
