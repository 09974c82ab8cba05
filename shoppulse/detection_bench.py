"""The detection benchmark behind ``shoppulse bench-detect``: seeded minute series, injected
incidents, the pipeline's detectors against an oracle CUSUM.

**Generator** (numpy, vectorized, one seeded stream per store). Over ``days`` days (day 0
is the detectors' warm-up, the rest are *measured*), each minute of a store holds

* sessions ~ Poisson(λ_s(t)), λ_s following :func:`shoppulse.simulation.diurnal_factor`
  and x1.15 on weekends (day 0 is a Monday); a "small" store peaks at ≈ 3 paid orders a
  minute on a weekday, a "large" one at ≈ 10;
* paid orders ~ Binomial(sessions, p = 0.05); checkouts = paid orders + Binomial(sessions -
  paid, 0.02) (checkouts that do not get paid);
* first responses ~ Poisson(0.01·λ_s(t)), of which slow (> 30 s) ~ Binomial(responses, 0.1).

Stores are *clean* (no incident: the false-alarm measurement, all six detectors) or carry
one incident kind on every measured day (its own store-day each), 60 minutes starting at a
random minute between 09:00 and 20:00 (so it ends by 21:00); only the kind's detector runs
there. Kinds: conversion drops of 20/30/50 % (p x 0.8/0.7/0.5), a checkout outage (no paid
order while checkouts continue), a chat surge (slow share x 5 and responses x 3) and a
traffic spike (sessions x 3).

**Evaluation.** Each detector is the pipeline's :class:`~shoppulse.detectors.Detector`
(score then learn, every minute, as the worker does). An incident is detected if the
detector is firing in some minute of ``[start, end)``; the delay is that minute - start.
A false alarm is a firing transition on a measured day outside every incident window
(and the 30 minutes after it).

**Oracle.** A Poisson CUSUM with restart that knows the true expectation μ_t of every
minute (from λ_s, p; for a rate, the observed denominator times the true rate) and the
true relative change δ. Its threshold is the smallest whose false alarms on the clean
stores' measured days of the same size do not exceed the detector's (or 1 per store-day
when the detector has none).

>>> data = generate(days=2, stores_per_size=1, seed=1, kinds=("traffic_spike",))
>>> [s.name for s in data.stores]
['clean-small-0', 'traffic_spike-small-0', 'clean-large-0', 'traffic_spike-large-0']
>>> inc = data.incidents[0]
>>> inc.kind, inc.end - inc.start, 1440 + 540 <= inc.start <= 1440 + 1200, inc.change
('traffic_spike', 60, True, 2.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from shoppulse.detectors import DETECTOR_BY_NAME, DETECTORS, Detector
from shoppulse.seasonal import SeasonalBaseline
from shoppulse.simulation import DIURNAL_PEAK, diurnal_factor

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DAY_MINUTES: Final = 1440
MINUTE_MS: Final = 60_000
#: Minute 0 of every series: Monday 2024-01-01 00:00 UTC (the stores' local time is UTC).
T0_MS: Final = 1_704_067_200_000
CONVERSION: Final = 0.05
UNPAID_CHECKOUT: Final = 0.02
"""Share of the sessions without a paid order that still reach checkout."""
RESPONSES_PER_SESSION: Final = 0.01
SLOW_SHARE: Final = 0.1
WEEKEND_FACTOR: Final = 1.15
INCIDENT_MINUTES: Final = 60
AFTERMATH_MINUTES: Final = 30
"""Firing transitions this long after an incident's end still belong to it."""
#: Incident starts: a minute of the day in [09:00, 20:00], so that it ends by 21:00.
START_RANGE: Final = (9 * 60, 20 * 60)
#: Weekday paid orders per minute at the daily peak.
PEAK_ORDERS: Final[dict[str, float]] = {"small": 3.0, "large": 10.0}
SIZES: Final = tuple(PEAK_ORDERS)

Size = Literal["small", "large"]
IncidentKind = Literal[
    "conversion_drop_20",
    "conversion_drop_30",
    "conversion_drop_50",
    "checkout_outage",
    "chat_surge",
    "traffic_spike",
]


@dataclass(frozen=True, slots=True)
class IncidentType:
    kind: IncidentKind
    detector: str
    """The detector that should catch it."""
    change: float
    """True relative change δ of the watched series (negative: a drop)."""
    title: str


INCIDENT_TYPES: Final[dict[str, IncidentType]] = {
    t.kind: t
    for t in (
        IncidentType("conversion_drop_20", "conversion_drop", -0.2, "conversion -20%"),
        IncidentType("conversion_drop_30", "conversion_drop", -0.3, "conversion -30%"),
        IncidentType("conversion_drop_50", "conversion_drop", -0.5, "conversion -50%"),
        IncidentType("checkout_outage", "checkout_outage", -1.0, "checkout outage"),
        IncidentType("chat_surge", "first_response_spike", 4.0, "chat surge"),
        IncidentType("traffic_spike", "traffic_spike", 2.0, "traffic spike x3"),
    )
}
KINDS: Final[tuple[IncidentKind, ...]] = tuple(t.kind for t in INCIDENT_TYPES.values())

#: Minute of the day → traffic multiplier (mean 1).
_DIURNAL: Final = np.array([diurnal_factor(m * MINUTE_MS) for m in range(DAY_MINUTES)])
_BIG_STEP: Final = 1e4
"""Impossible observations (a paid order during an outage hypothesis) step by -this."""
MAX_THRESHOLD: Final = 1e3


@dataclass(frozen=True, slots=True)
class Incident:
    kind: IncidentKind
    store: str
    start: int
    """First minute (index into the store's series)."""
    end: int
    """Minute after the last one."""
    expected: FloatArray
    """True expectation of the watched series per minute of ``[start, end)`` without the
    incident (for a rate, given the observed denominator)."""
    change: float
    """True relative change of the watched series."""


@dataclass(frozen=True, slots=True)
class StoreSeries:
    name: str
    size: Size
    kind: IncidentKind | None
    sessions: IntArray
    orders_paid: IntArray
    checkouts: IntArray
    responses: IntArray
    slow_responses: IntArray
    session_rate: FloatArray
    """λ_s per minute under normal conditions (the truth the oracle knows)."""

    @property
    def minutes(self) -> int:
        return len(self.sessions)

    def detector_input(self, detector: str) -> tuple[FloatArray, FloatArray]:
        """(value, denominator) per minute, as ``DetectorSpec.observe`` reads the components."""
        pairs: dict[str, tuple[IntArray, IntArray | None]] = {
            "conversion_drop": (self.orders_paid, self.sessions),
            "gmv_dip": (self.orders_paid, None),
            "traffic_drop": (self.sessions, None),
            "traffic_spike": (self.sessions, None),
            "first_response_spike": (self.slow_responses, self.responses),
            "checkout_outage": (self.orders_paid, self.checkouts),
        }
        if detector not in pairs:
            raise ValueError(f"unknown detector {detector!r}")
        value, den = pairs[detector]
        ones = np.ones(self.minutes, dtype=np.float64)
        return value.astype(np.float64), ones if den is None else den.astype(np.float64)

    def truth(self, kind: IncidentKind) -> tuple[FloatArray, FloatArray]:
        """(observed count, true expectation without incidents) of ``kind``'s watched series."""
        f64 = np.float64
        if kind.startswith("conversion_drop"):
            return self.orders_paid.astype(f64), self.sessions.astype(f64) * CONVERSION
        if kind == "checkout_outage":
            # Per session: paid (p), checkout unpaid ((1-p)q), or neither: given c checkouts,
            # paid orders ~ Binomial(c, p / (p + (1-p) q)).
            share = CONVERSION / (CONVERSION + (1 - CONVERSION) * UNPAID_CHECKOUT)
            return self.orders_paid.astype(f64), self.checkouts.astype(f64) * share
        if kind == "chat_surge":
            return self.slow_responses.astype(f64), self.responses.astype(f64) * SLOW_SHARE
        return self.sessions.astype(f64), self.session_rate.copy()


@dataclass(frozen=True, slots=True)
class Dataset:
    days: int
    stores: list[StoreSeries]
    incidents: list[Incident]

    def incidents_of(self, store: str) -> list[Incident]:
        return [i for i in self.incidents if i.store == store]


def peak_session_rate(size: Size) -> float:
    """λ_s at a weekday's peak minute: ``PEAK_ORDERS[size] / p`` sessions."""
    return PEAK_ORDERS[size] / CONVERSION


def session_rate(size: Size, days: int) -> FloatArray:
    scale = peak_session_rate(size) / DIURNAL_PEAK
    weekly = np.array([WEEKEND_FACTOR if d % 7 in (5, 6) else 1.0 for d in range(days)])
    return np.asarray(scale * np.tile(_DIURNAL, days) * np.repeat(weekly, DAY_MINUTES))


def simulate_store(
    name: str,
    size: Size,
    days: int,
    incidents: Sequence[tuple[IncidentKind, int]],
    rng: np.random.Generator,
    kind: IncidentKind | None = None,
) -> tuple[StoreSeries, list[Incident]]:
    """One store's minute series over ``days`` days with ``(kind, start minute)`` incidents."""
    n = days * DAY_MINUTES
    lam = session_rate(size, days)
    traffic = np.ones(n)
    conversion = np.full(n, CONVERSION)
    chat_volume = np.ones(n)
    slow_share = np.full(n, SLOW_SHARE)
    outage = np.zeros(n, dtype=bool)
    for inc_kind, start in incidents:
        w = slice(start, start + INCIDENT_MINUTES)
        if inc_kind.startswith("conversion_drop"):
            conversion[w] *= 1.0 + INCIDENT_TYPES[inc_kind].change
        elif inc_kind == "checkout_outage":
            outage[w] = True
        elif inc_kind == "chat_surge":
            chat_volume[w] *= 3.0
            slow_share[w] *= 5.0
        elif inc_kind == "traffic_spike":
            traffic[w] *= 3.0
        else:
            raise ValueError(f"unknown incident kind {inc_kind!r}")
    sessions = rng.poisson(lam * traffic)
    paid = rng.binomial(sessions, conversion)
    checkouts = paid + rng.binomial(sessions - paid, UNPAID_CHECKOUT)
    paid[outage] = 0
    responses = rng.poisson(RESPONSES_PER_SESSION * lam * chat_volume)
    slow = rng.binomial(responses, slow_share)
    store = StoreSeries(
        name,
        size,
        kind,
        sessions.astype(np.int64),
        paid.astype(np.int64),
        checkouts.astype(np.int64),
        responses.astype(np.int64),
        slow.astype(np.int64),
        lam,
    )
    out = []
    for inc_kind, start in incidents:
        end = start + INCIDENT_MINUTES
        _, mu = store.truth(inc_kind)
        change = INCIDENT_TYPES[inc_kind].change
        out.append(Incident(inc_kind, name, start, end, mu[start:end], change))
    return store, out


def generate(
    days: int = 8,
    stores_per_size: int = 3,
    seed: int = 7,
    kinds: Sequence[IncidentKind] = KINDS,
) -> Dataset:
    """Per size: ``stores_per_size`` clean stores, and as many stores per incident kind with
    that incident on each measured day. Every store has its own stream, derived from
    ``(seed, size, kind, index)``, so a store does not change when others are added."""
    if days < 2:
        raise ValueError("days must be at least 2: a warm-up day and a measured day")
    stores: list[StoreSeries] = []
    incidents: list[Incident] = []
    sizes: tuple[Size, ...] = ("small", "large")
    for size_ix, size in enumerate(sizes):
        groups: list[IncidentKind | None] = [None, *kinds]
        for kind in groups:
            kind_ix = 0 if kind is None else 1 + KINDS.index(kind)
            for i in range(stores_per_size):
                rng = np.random.default_rng([seed, size_ix, kind_ix, i])
                plan: list[tuple[IncidentKind, int]] = []
                if kind is not None:
                    offsets = rng.integers(START_RANGE[0], START_RANGE[1] + 1, size=days - 1)
                    plan = [(kind, (d + 1) * DAY_MINUTES + int(o)) for d, o in enumerate(offsets)]
                name = f"{kind or 'clean'}-{size}-{i}"
                store, incs = simulate_store(name, size, days, plan, rng, kind)
                stores.append(store)
                incidents.extend(incs)
    return Dataset(days, stores, incidents)


# -- detectors --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DetectorRun:
    detector: str
    store: str
    firing: npt.NDArray[np.bool_]
    """Firing state after each minute."""
    fired: list[int]
    """Minutes of the firing transitions."""


def run_detector(store: StoreSeries, detector: str, warmup: int = 30) -> DetectorRun:
    """The pipeline's detector over every minute of ``store`` (score, then learn)."""
    det = Detector(DETECTOR_BY_NAME[detector], SeasonalBaseline(warmup=warmup))
    values, dens = store.detector_input(detector)
    firing = np.zeros(store.minutes, dtype=bool)
    fired: list[int] = []
    update = det.update
    for m, (v, d) in enumerate(zip(values.tolist(), dens.tolist(), strict=True)):
        out = update(T0_MS + m * MINUTE_MS, v, d)
        if out.firing:
            firing[m] = True
        if out.change == "firing":
            fired.append(m)
    return DetectorRun(detector, store.name, firing, fired)


def excluded_minutes(minutes: int, incidents: Sequence[Incident]) -> npt.NDArray[np.bool_]:
    """Minutes that are not clean: day 0 and each incident window plus its aftermath."""
    mask = np.zeros(minutes, dtype=bool)
    mask[:DAY_MINUTES] = True
    for inc in incidents:
        mask[inc.start : min(minutes, inc.end + AFTERMATH_MINUTES)] = True
    return mask


def false_alarms(fired: Sequence[int], excluded: npt.NDArray[np.bool_]) -> int:
    return sum(1 for m in fired if not excluded[m])


def first_in_window(flags: npt.NDArray[np.bool_], start: int, end: int) -> int | None:
    hit = np.flatnonzero(flags[start:end])
    return int(hit[0]) if hit.size else None


# -- oracle -----------------------------------------------------------------------------


def cusum_steps(x: FloatArray, mu: FloatArray, change: float) -> FloatArray:
    """Per-minute log-likelihood ratio of "μ·(1 + change)" against "μ" for Poisson counts.

    A drop to zero (``change == -1``) makes any positive count impossible under the
    alternative: its step is ``-_BIG_STEP``, which resets a CUSUM with a threshold up to
    :data:`MAX_THRESHOLD` exactly as ``-inf`` would."""
    if change <= -1.0:
        return np.where(x > 0, -_BIG_STEP, mu)
    steps = x * math.log1p(change) - change * mu
    return np.asarray(np.maximum(steps, -_BIG_STEP))


def cusum_alarms(
    steps: FloatArray, threshold: float, limit: int | None = None, count_from: int = 0
) -> list[int]:
    """Alarm minutes of a CUSUM ``S = max(0, S + step)`` that restarts at 0 after each alarm
    (``S ≥ threshold``). Stops once more than ``limit`` alarms at or after ``count_from``."""
    alarms: list[int] = []
    counted = 0
    pos, n = 0, len(steps)
    while pos < n:
        c = np.cumsum(steps[pos:])
        s = c - np.minimum(np.minimum.accumulate(c), 0.0)
        hit = np.flatnonzero(s >= threshold)
        if hit.size == 0:
            break
        t = pos + int(hit[0])
        alarms.append(t)
        counted += t >= count_from
        if limit is not None and counted > limit:
            break
        pos = t + 1
    return alarms


def calibrate_threshold(step_runs: Sequence[FloatArray], max_alarms: int) -> float:
    """The smallest threshold (to 0.1 %) with at most ``max_alarms`` alarms on the measured
    days (from minute 1440) over ``step_runs``."""

    def alarms(h: float) -> int:
        total = 0
        for steps in step_runs:
            total += sum(
                1
                for t in cusum_alarms(steps, h, max_alarms - total, DAY_MINUTES)
                if t >= DAY_MINUTES
            )
            if total > max_alarms:
                break
        return total

    lo, hi = 1e-3, MAX_THRESHOLD
    if alarms(hi) > max_alarms:
        return hi
    while hi / lo > 1.001:
        mid = math.sqrt(lo * hi)
        if alarms(mid) <= max_alarms:
            hi = mid
        else:
            lo = mid
    return hi


# -- the benchmark ----------------------------------------------------------------------


def _median(xs: Sequence[int]) -> float | None:
    return float(np.median(xs)) if xs else None


def _censored_median(delays: Sequence[int], incidents: int) -> float | None:
    """The median delay over all incidents, misses as infinite; ``None`` if infinite."""
    if not incidents:
        return None
    xs = sorted(delays) + [math.inf] * (incidents - len(delays))
    m = float(np.median(xs))
    return None if math.isinf(m) else m


def _p90(xs: Sequence[int]) -> float | None:
    return float(np.percentile(xs, 90)) if xs else None


@dataclass(slots=True)
class KindResult:
    kind: IncidentKind
    size: Size
    detector: str
    incidents: int = 0
    delays: list[int] = field(default_factory=list)
    oracle_delays: list[int] = field(default_factory=list)
    oracle_threshold: float = 0.0
    oracle_target_per_store_day: float = 0.0
    oracle_false_alarms_per_store_day: float = 0.0

    @property
    def detection_rate(self) -> float:
        return len(self.delays) / self.incidents if self.incidents else 0.0

    @property
    def ratio(self) -> float | None:
        """Median delay over the oracle's, a miss counting as an infinite delay, in minutes
        of data used (delay + 1); ``None`` when the detector misses half the incidents."""
        det = _censored_median(self.delays, self.incidents)
        ora = _censored_median(self.oracle_delays, self.incidents)
        if det is None:
            return None
        return 0.0 if ora is None else (det + 1) / (ora + 1)

    def to_dict(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 3)

        return {
            "kind": self.kind,
            "size": self.size,
            "detector": self.detector,
            "incidents": self.incidents,
            "detected": len(self.delays),
            "detection_rate": r(self.detection_rate),
            "median_delay_min": r(_median(self.delays)),
            "p90_delay_min": r(_p90(self.delays)),
            "oracle_detected": len(self.oracle_delays),
            "oracle_median_delay_min": r(_median(self.oracle_delays)),
            "oracle_p90_delay_min": r(_p90(self.oracle_delays)),
            "ratio": r(self.ratio),
            "oracle_threshold": r(self.oracle_threshold),
            "oracle_target_fa_per_store_day": r(self.oracle_target_per_store_day),
            "oracle_fa_per_store_day": r(self.oracle_false_alarms_per_store_day),
        }


@dataclass(slots=True)
class FalseAlarms:
    alarms: int = 0
    store_days: float = 0.0

    @property
    def per_store_day(self) -> float:
        return self.alarms / self.store_days if self.store_days else 0.0


@dataclass(slots=True)
class BenchResult:
    days: int
    stores_per_size: int
    seed: int
    kinds: list[KindResult]
    clean: dict[str, dict[str, FalseAlarms]]
    """detector → size → false alarms on the clean stores' measured days."""
    incident_stores: dict[str, FalseAlarms]
    """detector → false alarms on incident stores outside incident windows (+ aftermath)."""
    notes: list[str]

    def clean_total(self, detector: str | None = None) -> FalseAlarms:
        out = FalseAlarms()
        for name, by_size in self.clean.items():
            if detector is None or name == detector:
                for fa in by_size.values():
                    out.alarms += fa.alarms
                    out.store_days += fa.store_days
        if detector is None:  # store-days of the clean stores, not of store-detector pairs
            out.store_days /= max(1, len(self.clean))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "measured_days": self.days - 1,
            "stores_per_size": self.stores_per_size,
            "seed": self.seed,
            "incidents": [k.to_dict() for k in self.kinds],
            "false_alarms_per_store_day": {
                name: {
                    **{size: round(fa.per_store_day, 4) for size, fa in by_size.items()},
                    "all": round(self.clean_total(name).per_store_day, 4),
                }
                for name, by_size in self.clean.items()
            },
            "false_alarms": {
                name: sum(fa.alarms for fa in by_size.values())
                for name, by_size in self.clean.items()
            },
            "clean_store_days": round(self.clean_total().store_days, 3),
            "false_alarms_per_store_day_all_detectors": round(self.clean_total().per_store_day, 4),
            "incident_store_false_alarms": {
                name: {"alarms": fa.alarms, "store_days": round(fa.store_days, 3)}
                for name, fa in self.incident_stores.items()
            },
            "notes": self.notes,
        }


NOTES: Final = [
    "stock-out is an inventory rule (a SKU at 0 fires at once) and is not benchmarked here",
    "delay = first firing minute - incident start (0: fired on the first incident minute);"
    " delays are over detected incidents; ratio = (median + 1) / (oracle median + 1) with"
    " misses as infinite delays (none: the detector misses at least half)",
    "oracle threshold: smallest with no more false alarms on the clean stores than the"
    " detector's (1 per store-day when the detector has none)",
]


def bench_steps(data: Dataset) -> int:
    """Units of work :func:`evaluate` reports through ``on_step``."""
    clean = sum(1 for s in data.stores if s.kind is None)
    return clean * len(DETECTORS) + (len(data.stores) - clean) + 2 * len(KINDS)


def evaluate(
    data: Dataset,
    warmup: int = 30,
    on_step: Callable[[str], None] | None = None,
    stores_per_size: int = 0,
    seed: int = 0,
) -> BenchResult:
    """Run the detectors and the oracle over ``data``; ``on_step(label)`` after each unit."""
    step = on_step or (lambda _label: None)
    measured = (data.days - 1) * DAY_MINUTES

    clean: dict[str, dict[str, FalseAlarms]] = {
        d.name: {size: FalseAlarms() for size in SIZES} for d in DETECTORS
    }
    incident_fa: dict[str, FalseAlarms] = {}
    clean_runs: dict[tuple[str, str], list[DetectorRun]] = {}
    by_kind: dict[tuple[str, str], KindResult] = {}
    for store in data.stores:
        if store.kind is None:
            excluded = excluded_minutes(store.minutes, [])
            for spec in DETECTORS:
                run = run_detector(store, spec.name, warmup)
                fa = clean[spec.name][store.size]
                fa.alarms += false_alarms(run.fired, excluded)
                fa.store_days += measured / DAY_MINUTES
                clean_runs.setdefault((spec.name, store.size), []).append(run)
                step(f"{store.name} {spec.name}")
            continue
        itype = INCIDENT_TYPES[store.kind]
        incs = data.incidents_of(store.name)
        run = run_detector(store, itype.detector, warmup)
        excluded = excluded_minutes(store.minutes, incs)
        fa = incident_fa.setdefault(itype.detector, FalseAlarms())
        fa.alarms += false_alarms(run.fired, excluded)
        fa.store_days += float((~excluded).sum()) / DAY_MINUTES
        result = by_kind.setdefault(
            (store.kind, store.size), KindResult(store.kind, store.size, itype.detector)
        )
        for inc in incs:
            result.incidents += 1
            delay = first_in_window(run.firing, inc.start, inc.end)
            if delay is not None:
                result.delays.append(delay)
        step(f"{store.name} {itype.detector}")

    for kind in KINDS:
        itype = INCIDENT_TYPES[kind]
        for size in SIZES:
            step(f"oracle {kind} {size}")
            result_or_none = by_kind.get((kind, size))
            if result_or_none is None:
                continue
            result = result_or_none
            fa = clean[itype.detector][size]
            clean_stores = [s for s in data.stores if s.kind is None and s.size == size]
            clean_steps = [cusum_steps(*s.truth(kind), itype.change) for s in clean_stores]
            target = fa.per_store_day if fa.alarms else 1.0
            budget = math.floor(target * fa.store_days + 1e-9)
            h = calibrate_threshold(clean_steps, budget)
            got = sum(sum(1 for t in cusum_alarms(st, h) if t >= DAY_MINUTES) for st in clean_steps)
            result.oracle_threshold = h
            result.oracle_target_per_store_day = target
            result.oracle_false_alarms_per_store_day = got / fa.store_days if fa.store_days else 0
            for store in data.stores:
                if store.kind != kind or store.size != size:
                    continue
                alarms = np.zeros(store.minutes, dtype=bool)
                alarms[cusum_alarms(cusum_steps(*store.truth(kind), itype.change), h)] = True
                for inc in data.incidents_of(store.name):
                    delay = first_in_window(alarms, inc.start, inc.end)
                    if delay is not None:
                        result.oracle_delays.append(delay)
    kinds = [by_kind[(k, s)] for k in KINDS for s in SIZES if (k, s) in by_kind]
    return BenchResult(data.days, stores_per_size, seed, kinds, clean, incident_fa, list(NOTES))


def run_bench(
    days: int = 8,
    stores_per_size: int = 3,
    seed: int = 7,
    warmup: int = 30,
    on_step: Callable[[str], None] | None = None,
) -> BenchResult:
    return evaluate(generate(days, stores_per_size, seed), warmup, on_step, stores_per_size, seed)
