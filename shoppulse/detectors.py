"""Online anomaly detectors on minute counts: profile times today's level, a negative binomial
CUSUM, score then learn (ADR 19).

Each detector reasons in counts. A minute's expectation is its hour-of-day profile
(``shoppulse.seasonal``) times today's level (``shoppulse.day_level``: how the series runs
against its profile now, learned from the evidence, so a day 25 % down is followed rather
than paged). For a rate (paid orders per session, slow first responses per first response)
it is the denominator times the profile's rate, so a conversion rate from 20 sessions weighs
20 sessions, not one data point; a rate whose numerator lags its denominator (payments land
up to 3 minutes after the checkout) is judged against the denominators of those minutes
(``lag_minutes``). Counts vary more than Poisson: the CUSUM accumulates the log-likelihood
ratio of "shifted by ``shift``" against "as expected" under a negative binomial whose extra
variance is learned (``shoppulse.dispersion``):

    S = max(0, S + llr(x; μ·(1 ± δ) against μ, variance μ + κ·μ²))

It fires when ``S ≥ threshold`` and resolves when S falls below a quarter of it;
while firing, a minute of contrary evidence also shrinks S by 30%, so that even a
long incident resolves within minutes of its end. An alarm that holds for
``settle_minutes`` is a new level, not an incident: the detector takes the level the series
has held as today's, resolves saying so, and judges against it from then on (an outage,
``settle_minutes=None``, holds until it ends). At low traffic μ is small, S moves slowly,
and the detector waits for evidence instead of pretending. The score in [0, 1) is
``S / (S + threshold)``: monotone, never capped (0.5 is the firing threshold). A level series
(anything else, e.g. a GMV amount) uses a Gaussian CUSUM on the deviation from the seasonal
mean plus its recent offset, in units of the seasonal standard deviation. Detectors learn
only while quiet, and stay silent (score 0) until their baseline is warm.

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
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from shoppulse.day_level import DRIFT_PER_MIN, DayLevel
from shoppulse.dispersion import Dispersion, nb_llr
from shoppulse.histogram import FIRST_RESPONSE_S, component_names
from shoppulse.seasonal import SeasonalBaseline

SeriesKind = Literal["count", "rate", "level"]
_RECOVERY: Final = 0.7
#: How fast a rate's level may move: a conversion's day factor varies by about 5 %.
RATE_DRIFT_PER_MIN: Final = 4e-6
#: Minutes over which a level series' offset from its hour-of-day mean follows it.
OFFSET_TIME_CONSTANT_MIN: Final = 90.0
#: Minutes over which the extra variance of the counts is learned (about two days).
DISPERSION_TIME_MIN: Final = 2_880.0
#: Minutes over which a firing detector measures the level the series holds.
HELD_TIME_CONSTANT_MIN: Final = 30.0
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
    quantity: str = "value"
    """What the series counts, for messages ("paid orders", "sessions")."""
    lag_minutes: int = 0
    """Judge a rate against the denominators of this many minutes before as well (payments
    arrive up to a few minutes after the checkout)."""
    level_drift_per_min: float = DRIFT_PER_MIN
    """How fast today's level may move (``shoppulse.day_level``): counts swing from day to
    day and wander within it; a rate (a conversion) is steadier, so its level moves slower
    and a drop in it is not taken as the day's level before it is found."""
    quiet_scale: float = 1.3
    """The factor on ``threshold`` of the "quiet" sensitivity (``detector_specs``)."""
    settle_minutes: int | None = 120
    """An alarm that holds this long takes the level the series holds as the new normal and
    resolves saying so; None: it holds until the series comes back (an outage)."""

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
#: ``shoppulse bench-detect`` on honest traffic for under one false alarm per store-day over
#: all of them (ADR 19); ``Sensitivity`` "quiet" raises them by ``quiet_scale``.
DETECTORS: Final[tuple[DetectorSpec, ...]] = (
    DetectorSpec(
        "conversion_drop",
        "rate",
        "drop",
        shift=0.4,
        threshold=6.2,
        numerator="orders_paid",
        denominator="sessions",
        kpi="payment_conversion",
        title="Payment conversion dropped",
        quantity="payment conversion",
        lag_minutes=3,
        level_drift_per_min=RATE_DRIFT_PER_MIN,
    ),
    DetectorSpec(
        "gmv_dip",
        "count",
        "drop",
        shift=0.3,
        threshold=7.0,
        numerator="orders_paid",
        kpi="gmv_minor",
        title="GMV dipped (fewer paid orders)",
        quantity="paid orders",
        quiet_scale=1.15,
    ),
    DetectorSpec(
        "traffic_drop",
        "count",
        "drop",
        shift=0.4,
        threshold=8.3,
        numerator="sessions",
        kpi="sessions",
        title="Traffic dropped",
        quantity="sessions",
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
        quantity="sessions",
    ),
    DetectorSpec(
        "first_response_spike",
        "rate",
        "spike",
        shift=2.0,
        threshold=5.6,
        kpi="first_response_within_30s",
        title="Chat first responses slowed",
        quantity="share of first responses slower than 30 s",
        level_drift_per_min=RATE_DRIFT_PER_MIN,
        quiet_scale=1.0,
    ),
    DetectorSpec(
        "checkout_outage",
        "rate",
        "drop",
        shift=0.9,
        threshold=6.0,
        numerator="orders_paid",
        denominator="checkouts",
        kpi="payment_conversion",
        title="Checkouts stopped turning into paid orders",
        quantity="paid orders per checkout",
        lag_minutes=3,
        settle_minutes=None,
        level_drift_per_min=RATE_DRIFT_PER_MIN,
    ),
)
DETECTOR_BY_NAME: Final[dict[str, DetectorSpec]] = {d.name: d for d in DETECTORS}

Sensitivity = Literal["default", "quiet"]


def detector_specs(sensitivity: Sensitivity = "default") -> tuple[DetectorSpec, ...]:
    """The detectors at a sensitivity: "quiet" raises each threshold by its ``quiet_scale``
    (1.3; less for a detector whose default already raises about one false alarm a month),
    for about one false alarm per store-week over all of them (``shoppulse bench-detect``;
    ADR 19).

    >>> [round(s.threshold, 2) for s in detector_specs("quiet")][:2]
    [8.06, 8.05]
    """
    if sensitivity == "default":
        return DETECTORS
    return tuple(replace(spec, threshold=spec.threshold * spec.quiet_scale) for spec in DETECTORS)


@dataclass(frozen=True, slots=True)
class DetectorOutput:
    score: float
    firing: bool
    change: Change | None
    expected: float | None
    """The expected value of the minute (count, or count given the denominator)."""
    warm: bool
    statistic: float
    band: float | None = None
    """One standard deviation of the minute's value around ``expected``."""
    new_level: float | None = None
    """On a ``resolved`` change: the level (times the profile) taken as the new normal after
    the alarm held ``settle_minutes``; None when the series came back."""
    denominator: float = 1.0
    """The denominator the minute was judged with (a rate's, averaged over its lag)."""


@dataclass(slots=True)
class Detector:
    """One series' detector; :meth:`update` scores a minute, then learns from it if quiet."""

    spec: DetectorSpec
    baseline: SeasonalBaseline = field(default_factory=SeasonalBaseline)
    squares: SeasonalBaseline | None = None
    statistic: float = 0.0
    firing: bool = False
    level: DayLevel = field(default_factory=DayLevel)
    """Today's level against the hour-of-day profile (counts and rates)."""
    offset: float = 0.0
    """The recent offset from the hour-of-day mean (level series), exponentially weighted."""
    dispersion: Dispersion = field(default_factory=lambda: Dispersion(DISPERSION_TIME_MIN))
    recent: list[float] = field(default_factory=list)
    """The last ``lag_minutes`` denominators (rates judged across a payment lag)."""
    firing_minutes: int = 0
    held: tuple[float, float] = (0.0, 0.0)
    """While firing: the observed and expected values (or the offset and 1, for a level
    series), exponentially weighted over the last half hour: the level the series holds."""

    def __post_init__(self) -> None:
        self.level.drift_per_min = self.spec.level_drift_per_min
        if self.spec.kind == "level" and self.squares is None:
            self.squares = SeasonalBaseline(
                self.baseline.fading, self.baseline.warmup, self.baseline.utc_offset_ms
            )

    def update(
        self, ts_ms: int, value: float, denominator: float = 1.0, *, learn: bool = True
    ) -> DetectorOutput:
        """Score a minute, then learn from it while quiet. ``learn=False`` scores only: a
        detector of the opposite direction on the same series is firing, and what it fires
        on must not become this one's normal (a drop's spike detector would otherwise take
        the drop as normal and fire when the series comes back)."""
        spec = self.spec
        den = self._lagged(denominator)
        # A rate judges an hour not warm yet against the rate of the hours learned so far, so
        # a new store's checkouts are watched within its first hour; a count's hour-of-day
        # shape (0.1 to 2x the mean) cannot be borrowed, so it waits for its hours (ADR 19).
        warm = self.baseline.warm(ts_ms) or (
            self.spec.kind == "rate" and self.baseline.warm_overall()
        )
        profile: float | None = None
        expected: float | None = None
        band: float | None = None
        if warm:
            profile = self._profile(ts_ms, den)
            step, expected, band = self._step(ts_ms, value, profile)
            self.statistic = max(0.0, self.statistic + step)
            if self.firing and step < 0:
                # Evidence has turned: forget geometrically, so that a long incident (a huge
                # statistic) resolves within minutes of its end, without capping the score.
                self.statistic *= _RECOVERY

        change: Change | None = None
        new_level: float | None = None
        if not self.firing and self.statistic >= spec.threshold:
            self.firing, change = True, "firing"
            self.firing_minutes, self.held = 0, (0.0, 0.0)
        elif self.firing and self.statistic < spec.threshold / 4:
            self.firing, change = False, "resolved"
        if self.firing and profile is not None:
            self.firing_minutes += 1
            self._hold(value, profile)
            if spec.settle_minutes is not None and self.firing_minutes > spec.settle_minutes:
                new_level = self._accept_new_level()
                self.firing, change = False, "resolved"
        if learn and not self.firing:
            self._learn(ts_ms, value, den, profile if change is None else None)
        score = self.statistic / (self.statistic + spec.threshold)
        return DetectorOutput(
            score, self.firing, change, expected, warm, self.statistic, band, new_level, den
        )

    def _lagged(self, denominator: float) -> float:
        """The denominator of this minute, or its mean over the payment lag."""
        lag = self.spec.lag_minutes
        if lag <= 0:
            return denominator
        recent = self.recent
        recent.append(denominator)
        del recent[: -(lag + 1)]
        return sum(recent) / len(recent)

    def _profile(self, ts_ms: int, den: float) -> float:
        """The hour-of-day expectation of this minute, before today's level."""
        base = self.baseline
        if self.spec.kind == "rate":
            rate = base.expected_rate(ts_ms) if base.warm(ts_ms) else base.pooled_rate()
            return den * rate
        return base.expected(ts_ms)

    def _step(self, ts_ms: int, value: float, profile: float) -> tuple[float, float, float]:
        """The CUSUM increment, the expected value and its standard deviation."""
        spec = self.spec
        if spec.kind == "level":
            assert self.squares is not None
            mean = profile + self.offset
            var = max(self.squares.expected(ts_ms) - profile * profile, 1e-12)
            sd = math.sqrt(var)
            z = (value - mean) / sd
            k = spec.shift / 2  # the reference value of a CUSUM tuned for a `shift`-sd change
            return (z - k if spec.direction == "spike" else -z - k), mean, sd
        mu = profile * self.level.factor()
        kappa = self.dispersion.kappa()
        change = spec.shift if spec.direction == "spike" else -spec.shift
        return nb_llr(value, mu, change, kappa), mu, math.sqrt(mu + kappa * mu * mu)

    def _learn(self, ts_ms: int, value: float, den: float, profile: float | None) -> None:
        """Learn a quiet minute: the hour-of-day profile learns the value as it is (over
        days, ``fading``); today's level and the dispersion learn it against the profile
        (when warm), over hours, so after a lasting shift the level moves back towards 1 as
        the profile takes the shift in. (The profile learning the value net of the level
        was tried: a level that moves within minutes at a busy store then takes the daily
        curve into itself, and the profile flattens.)"""
        self.baseline.learn(ts_ms, value, den)
        if self.squares is not None:
            self.squares.learn(ts_ms, value * value)
        if profile is None:
            return
        if self.spec.kind == "level":
            self.offset += (value - profile - self.offset) / OFFSET_TIME_CONSTANT_MIN
            return
        self.dispersion.learn(value, profile * self.level.factor())
        self.level.learn(value, profile)

    def _hold(self, value: float, profile: float) -> None:
        observed, expected = (
            (value - profile, 1.0) if self.spec.kind == "level" else (value, profile)
        )
        alpha = 1.0 / HELD_TIME_CONSTANT_MIN
        held_observed, held_expected = self.held
        self.held = (
            held_observed + alpha * (observed - held_observed),
            held_expected + alpha * (expected - held_expected),
        )

    def _accept_new_level(self) -> float:
        """The alarm held long enough on a steady level: take it as the new normal."""
        self.statistic = 0.0
        held_observed, held_expected = self.held
        if self.spec.kind == "level":
            self.offset = held_observed / max(held_expected, 1e-12)
            return self.offset
        factor = held_observed / held_expected if held_expected > 0 else 1.0
        self.level.reset(factor)
        return factor

    def to_state(self) -> dict[str, Any]:
        return {
            "spec": self.spec.name,
            "baseline": self.baseline.to_state(),
            "squares": self.squares.to_state() if self.squares is not None else None,
            "statistic": self.statistic,
            "firing": self.firing,
            "level": self.level.to_state(),
            "offset": self.offset,
            "dispersion": self.dispersion.to_state(),
            "recent": list(self.recent),
            "firing_minutes": self.firing_minutes,
            "held": list(self.held),
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
            DayLevel.from_state(data.get("level")),
            float(data.get("offset") or 0.0),
            Dispersion.from_state(data.get("dispersion"), time_constant_min=DISPERSION_TIME_MIN),
            [float(v) for v in data.get("recent") or []],
            int(data.get("firing_minutes") or 0),
            _pair(data.get("held")),
        )


def _pair(data: Any) -> tuple[float, float]:
    if not data:
        return (0.0, 0.0)
    first, second = data
    return (float(first), float(second))
