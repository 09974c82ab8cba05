"""The figures of ``shoppulse bench-detect``: per incident kind and store size, per detector,
and the comparison of two traffic profiles run side by side.

>>> k = KindResult("traffic_drop", "small", "traffic_drop", incidents=4,
...                delays=[2, 4, 6], oracle_delays=[1, 2, 3, 5])
>>> k.detection_rate, round(k.ratio, 2)  # medians with misses as infinite: 5 and 2.5
(0.75, 1.71)
>>> k.to_dict()["median_delay_min"], k.to_dict()["oracle_median_delay_min"]
(4.0, 2.5)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np

from bench.incidents import IncidentKind
from bench.traffic import SIZES, Size, Traffic


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


def _r(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


@dataclass(slots=True)
class KindResult:
    kind: IncidentKind
    size: Size
    detector: str
    incidents: int = 0
    delays: list[int] = field(default_factory=list)
    """Minutes from the incident's start to the detector's first firing transition in it."""
    oracle_delays: list[int] = field(default_factory=list)
    already_firing: int = 0
    """Incidents the detector was already firing at (a false alarm still open): not counted
    as detected unless it fires again inside the window."""
    any_delays: list[int] = field(default_factory=list)
    """Delays of the first firing transition of any detector."""
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
        return {
            "kind": self.kind,
            "size": self.size,
            "detector": self.detector,
            "incidents": self.incidents,
            "detected": len(self.delays),
            "detection_rate": _r(self.detection_rate),
            "median_delay_min": _r(_median(self.delays)),
            "p90_delay_min": _r(_p90(self.delays)),
            "already_firing": self.already_firing,
            "oracle_detected": len(self.oracle_delays),
            "oracle_detection_rate": _r(
                len(self.oracle_delays) / self.incidents if self.incidents else 0.0
            ),
            "oracle_median_delay_min": _r(_median(self.oracle_delays)),
            "oracle_p90_delay_min": _r(_p90(self.oracle_delays)),
            "ratio": _r(self.ratio),
            "any_detector_detected": len(self.any_delays),
            "any_detector_median_delay_min": _r(_median(self.any_delays)),
            "oracle_threshold": _r(self.oracle_threshold),
            "oracle_target_fa_per_store_day": _r(self.oracle_target_per_store_day),
            "oracle_fa_per_store_day": _r(self.oracle_false_alarms_per_store_day),
        }


@dataclass(slots=True)
class FalseAlarms:
    alarms: int = 0
    store_days: float = 0.0

    @property
    def per_store_day(self) -> float:
        return self.alarms / self.store_days if self.store_days else 0.0


NOTES: Final = [
    "stock-out is an inventory rule (a SKU at 0 fires at once) and is not benchmarked here",
    "false alarm: a detector's firing transition on a clean store's measured day; all"
    " detectors: their sum per clean store-day",
    "delay = first firing transition of the kind's detector in the incident window - its"
    " start (0: the first minute); a detector already firing at the start (an open false"
    " alarm) must fire again to count; delays are over detected incidents; ratio ="
    " (median + 1) / (oracle median + 1) with misses as infinite delays (none: the detector"
    " misses at least half)",
    "oracle: a CUSUM told each minute's true expectation (level, day factor, shifts, wander;"
    " rates given the observed denominators across the payment lag), the counts'"
    " distribution and the true change; its threshold is the smallest with no more false"
    " alarms on the clean stores of the size than the detector's (none when the detector has"
    " none: the same rate, measured on the same store-days)",
    "the detectors run as the worker runs them: StoreDetectors.on_final on each final"
    " minute with events (minutes without any event are never closed, so never seen)",
]


@dataclass(slots=True)
class BenchResult:
    traffic: Traffic
    days: int
    warmup_days: int
    stores_per_size: int
    seed: int
    kinds: list[KindResult]
    clean: dict[str, dict[str, FalseAlarms]]
    """signal → size → false alarms on the clean stores' measured days."""
    incident_stores: dict[str, FalseAlarms]
    """signal → false alarms on incident stores outside incident windows (+ aftermath)."""
    minutes_seen: dict[str, float]
    """size → share of the minutes the detectors saw (minutes with events)."""
    notes: list[str]
    wall_s: float = 0.0

    @property
    def sizes(self) -> list[str]:
        present = {size for by_size in self.clean.values() for size in by_size}
        return [s for s in SIZES if s in present]

    def clean_total(self, detector: str | None = None, size: str | None = None) -> FalseAlarms:
        """False alarms of one detector (or all: per clean store-day, not per store-detector
        pair) on the clean stores of one size (or all)."""
        out = FalseAlarms()
        for name, by_size in self.clean.items():
            if detector is None or name == detector:
                for s, fa in by_size.items():
                    if size is None or s == size:
                        out.alarms += fa.alarms
                        out.store_days += fa.store_days
        if detector is None:
            out.store_days /= max(1, len(self.clean))
        return out

    def to_dict(self) -> dict[str, Any]:
        sizes = self.sizes
        return {
            "traffic": self.traffic.name,
            "traffic_parameters": asdict(self.traffic),
            "days": self.days,
            "warmup_days": self.warmup_days,
            "measured_days": self.days - self.warmup_days,
            "stores_per_size": self.stores_per_size,
            "seed": self.seed,
            "wall_s": round(self.wall_s, 1),
            "incidents": [k.to_dict() for k in self.kinds],
            "false_alarms_per_store_day": {
                name: {
                    **{s: round(self.clean_total(name, s).per_store_day, 4) for s in sizes},
                    "all": round(self.clean_total(name).per_store_day, 4),
                }
                for name in self.clean
            },
            "false_alarms_per_store_day_all_detectors": {
                **{s: round(self.clean_total(None, s).per_store_day, 4) for s in sizes},
                "all": round(self.clean_total().per_store_day, 4),
            },
            "false_alarms": {
                name: sum(fa.alarms for fa in by_size.values())
                for name, by_size in self.clean.items()
            },
            "clean_store_days": {
                **{s: round(self.clean_total(None, s).store_days, 3) for s in sizes},
                "all": round(self.clean_total().store_days, 3),
            },
            "incident_store_false_alarms": {
                name: {
                    "alarms": fa.alarms,
                    "store_days": round(fa.store_days, 3),
                    "per_store_day": round(fa.per_store_day, 4),
                }
                for name, fa in self.incident_stores.items()
            },
            "minutes_seen": {s: round(v, 4) for s, v in self.minutes_seen.items()},
            "notes": self.notes,
        }


def compare(results: Mapping[str, BenchResult]) -> dict[str, Any]:
    """Side by side, per traffic profile: false alarms per clean store-day per detector
    (and all together), and per incident kind (all sizes) detection rate and median delay.

    >>> compare({})
    {'false_alarms_per_store_day': {}, 'incidents': {}}
    """
    fa: dict[str, dict[str, float]] = {}
    incidents: dict[str, dict[str, dict[str, float | None]]] = {}
    for traffic, result in results.items():
        for name in [*result.clean, "all detectors"]:
            total = result.clean_total(None if name == "all detectors" else name)
            fa.setdefault(name, {})[traffic] = round(total.per_store_day, 4)
        by_kind: dict[str, list[KindResult]] = {}
        for k in result.kinds:
            by_kind.setdefault(k.kind, []).append(k)
        for kind, rows in by_kind.items():
            n = sum(r.incidents for r in rows)
            delays = [d for r in rows for d in r.delays]
            oracle = [d for r in rows for d in r.oracle_delays]
            incidents.setdefault(kind, {})[traffic] = {
                "detection_rate": _r(len(delays) / n if n else 0.0),
                "median_delay_min": _r(_median(delays)),
                "oracle_detection_rate": _r(len(oracle) / n if n else 0.0),
                "oracle_median_delay_min": _r(_median(oracle)),
            }
    return {"false_alarms_per_store_day": fa, "incidents": incidents}
