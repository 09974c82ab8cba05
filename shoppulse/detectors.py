"""Online anomaly detectors on minute counts: seasonal baseline + CUSUM, score then learn.

Each detector reasons in counts. For a count series the expectation of a minute is
its seasonal baseline (``shoppulse.seasonal``); for a rate (paid orders per session,
slow first responses per first response) it is the denominator times the baseline
rate, so a conversion rate from 20 sessions weighs 20 sessions, not one data point.
A one-sided Poisson CUSUM accumulates the log-likelihood ratio of "shifted by
``shift``" against "as expected":

    drop:  S = max(0, S + k·ln(1 - δ) + δ·μ)      spike: S = max(0, S + k·ln(1 + δ) - δ·μ)

It fires when ``S ≥ threshold`` and resolves when S falls below a quarter of it;
while firing, a minute of contrary evidence also shrinks S by 30%, so that even a
long incident resolves within minutes of its end.
At low traffic μ is small, S moves slowly, and the detector waits for evidence
instead of pretending. The score in [0, 1) is ``S / (S + threshold)``: monotone,
never capped (0.5 is the firing threshold). A level series (anything else, e.g. a
GMV amount) uses a Gaussian CUSUM on the deviation from the seasonal mean in units
of the seasonal standard deviation. Detectors learn only while quiet, and stay
silent (score 0) until their baseline is warm: the first day of a new store.

>>> det = Detector(DetectorSpec("demo", "count", "drop", shift=0.5, threshold=6.0),
...                SeasonalBaseline(fading=0.1, warmup=5))
>>> t0 = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000
>>> outs = [det.update(t0 + i * 60_000, 20) for i in range(2 * 1440)]  # two normal days
>>> max(o.score for o in outs[1440:])
0.0
>>> after = [det.update(t0 + (2 * 1440 + i) * 60_000, 8) for i in range(5)]  # -60%
>>> [o.firing for o in after], after[-1].score > 0.5
([False, True, True, True, True], True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from shoppulse.histogram import FIRST_RESPONSE_S, component_names
from shoppulse.seasonal import SeasonalBaseline

SeriesKind = Literal["count", "rate", "level"]
_RECOVERY: Final = 0.7
Direction = Literal["drop", "spike"]
Change = Literal["firing", "resolved"]

_RESPONSE_BUCKETS: Final = component_names(FIRST_RESPONSE_S)[:-1]  # the first 5 end at 30 s


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """What to watch and how big a change must be found fast."""

    name: str
    kind: SeriesKind
    direction: Direction
    shift: float
    """Relative change δ the CUSUM is tuned for (count/rate), or sd units (level)."""
    threshold: float
    numerator: str = ""
    denominator: str = ""
    kpi: str = ""
    title: str = ""

    def observe(self, components: Mapping[str, int]) -> tuple[float, float]:
        """The (value, denominator) of one store-minute for this detector."""
        if self.name == "first_response_spike":  # slow (> 30 s) first responses / all
            answered = sum(components.get(n, 0) for n in _RESPONSE_BUCKETS)
            fast = sum(components.get(n, 0) for n in _RESPONSE_BUCKETS[:5])
            return float(answered - fast), float(answered)
        value = float(components.get(self.numerator, 0))
        den = float(components.get(self.denominator, 0)) if self.denominator else 1.0
        return value, den


#: The detectors run per store on every closed minute, with thresholds tuned by
#: ``shoppulse bench-detect`` for at most one false alarm per store-day.
DETECTORS: Final[tuple[DetectorSpec, ...]] = (
    DetectorSpec(
        "conversion_drop",
        "rate",
        "drop",
        shift=0.4,
        threshold=6.0,
        numerator="orders_paid",
        denominator="sessions",
        kpi="payment_conversion",
        title="Payment conversion dropped",
    ),
    DetectorSpec(
        "gmv_dip",
        "count",
        "drop",
        shift=0.3,
        threshold=9.0,
        numerator="orders_paid",
        kpi="gmv_minor",
        title="GMV dipped (fewer paid orders)",
    ),
    DetectorSpec(
        "traffic_drop",
        "count",
        "drop",
        shift=0.4,
        threshold=12.0,
        numerator="sessions",
        kpi="sessions",
        title="Traffic dropped",
    ),
    DetectorSpec(
        "traffic_spike",
        "count",
        "spike",
        shift=1.0,
        threshold=9.0,
        numerator="sessions",
        kpi="sessions",
        title="Traffic spiked",
    ),
    DetectorSpec(
        "first_response_spike",
        "rate",
        "spike",
        shift=2.0,
        threshold=5.0,
        kpi="first_response_within_30s",
        title="Chat first responses slowed",
    ),
    DetectorSpec(
        "checkout_outage",
        "rate",
        "drop",
        shift=0.9,
        threshold=4.0,
        numerator="orders_paid",
        denominator="checkouts",
        kpi="payment_conversion",
        title="Checkouts stopped turning into paid orders",
    ),
)
DETECTOR_BY_NAME: Final[dict[str, DetectorSpec]] = {d.name: d for d in DETECTORS}


@dataclass(frozen=True, slots=True)
class DetectorOutput:
    score: float
    firing: bool
    change: Change | None
    expected: float | None
    """The expected value of the minute (count, or count given the denominator)."""
    warm: bool
    statistic: float


@dataclass(slots=True)
class Detector:
    """One series' detector; :meth:`update` scores a minute, then learns from it if quiet."""

    spec: DetectorSpec
    baseline: SeasonalBaseline = field(default_factory=SeasonalBaseline)
    squares: SeasonalBaseline | None = None
    statistic: float = 0.0
    firing: bool = False

    def __post_init__(self) -> None:
        if self.spec.kind == "level" and self.squares is None:
            self.squares = SeasonalBaseline(
                self.baseline.fading, self.baseline.warmup, self.baseline.utc_offset_ms
            )

    def update(self, ts_ms: int, value: float, denominator: float = 1.0) -> DetectorOutput:
        spec = self.spec
        warm = self.baseline.warm(ts_ms)
        expected: float | None = None
        if warm:
            step, expected = self._step(ts_ms, value, denominator)
            self.statistic = max(0.0, self.statistic + step)
            if self.firing and step < 0:
                # Evidence has turned: forget geometrically, so that a long incident (a huge
                # statistic) resolves within minutes of its end, without capping the score.
                self.statistic *= _RECOVERY

        change: Change | None = None
        if not self.firing and self.statistic >= spec.threshold:
            self.firing, change = True, "firing"
        elif self.firing and self.statistic < spec.threshold / 4:
            self.firing, change = False, "resolved"
        if not self.firing:
            self.baseline.learn(ts_ms, value, denominator)
            if self.squares is not None:
                self.squares.learn(ts_ms, value * value)
        score = self.statistic / (self.statistic + spec.threshold)
        return DetectorOutput(score, self.firing, change, expected, warm, self.statistic)

    def _step(self, ts_ms: int, value: float, denominator: float) -> tuple[float, float]:
        spec, base = self.spec, self.baseline
        if spec.kind == "level":
            assert self.squares is not None
            mean = base.expected(ts_ms)
            var = max(self.squares.expected(ts_ms) - mean * mean, 1e-12)
            z = (value - mean) / math.sqrt(var)
            k = spec.shift / 2  # the reference value of a CUSUM tuned for a `shift`-sd change
            return (z - k if spec.direction == "spike" else -z - k), mean
        mu = (
            base.expected(ts_ms)
            if spec.kind == "count"
            else denominator * base.expected_rate(ts_ms)
        )
        d = spec.shift
        if spec.direction == "drop":
            return value * math.log(1.0 - d) + d * mu, mu
        return value * math.log(1.0 + d) - d * mu, mu

    def to_state(self) -> dict[str, Any]:
        return {
            "spec": self.spec.name,
            "baseline": self.baseline.to_state(),
            "squares": self.squares.to_state() if self.squares is not None else None,
            "statistic": self.statistic,
            "firing": self.firing,
        }

    @classmethod
    def from_state(cls, spec: DetectorSpec, data: dict[str, Any]) -> Detector:
        squares = data.get("squares")
        return cls(
            spec,
            SeasonalBaseline.from_state(data["baseline"]),
            SeasonalBaseline.from_state(squares) if squares else None,
            float(data["statistic"]),
            bool(data["firing"]),
        )
