"""Simulated store traffic for ``shoppulse bench-detect``: minute series of a shop's funnel.

Two profiles. **honest** (the default) has at least the variance real shops show;
**poisson** is the tame traffic the benchmark used to have (a fixed daily curve, Poisson
sessions, payments in the minute of their checkout), kept for comparison.

**Level.** The expected sessions of minute ``t`` of day ``d`` are

    λ(t) = base(size) · diurnal(t) · weekday(d) · day(d) · shift(d) · exp(w(t))

* ``diurnal``: :func:`shoppulse.diurnal.diurnal_factor` (quiet nights, about 0.14 of the
  mean at 04:00; peaks at 12:30 and 20:30);
* ``weekday`` (Monday first): honest 1.05, 1, 1, 1, 0.92 (Friday), 1.12, 1.18; poisson 1 on
  weekdays and 1.15 on weekends. Day 0 is a Monday;
* ``day``: a log-normal day factor, ``exp(N(0, 0.12²))`` clipped to :data:`DAY_RANGE`
  [0.7, 1.4] (day-to-day changes of 10-30 % are common: the log-ratio of two days has an sd
  of 0.17);
* ``shift``: persistent level shifts between days: from day 1 on, each day with probability
  1/14 the level moves by ±15-30 % for good (the running level clipped to [0.6, 1.6]);
* ``w``: slow wander within and across days, an AR(1) (discretized Ornstein-Uhlenbeck)
  process on the log level, time constant 180 minutes, stationary sd 0.08 (about ±13 %);
* ``base``: the weekday peak of paid orders a minute at factor 1, :data:`PEAK_ORDERS`
  (tiny 0.5, small 3, large 10), divided by the conversion and the diurnal peak.

The poisson profile has ``day = shift = exp(w) = 1``.

**Funnel, per minute** (the generator keeps λ and every true probability):

* sessions ~ gamma-Poisson (negative binomial) with mean λ and shape ``k =``
  :data:`DISPERSION` (100): ``Var = λ + λ²/100`` (a minute's rate varies by 10 % on top of
  the Poisson noise; the variance is 1.1 x Poisson at 10 sessions a minute, 1.6 x at 60,
  3 x at 200). Poisson profile: Poisson;
* buyers ~ Binomial(sessions, p), ``p = 0.05 · c(d)`` with a day factor of the conversion
  ``c(d) = exp(N(0, 0.05²))``; unpaid checkouts ~ Binomial(sessions - buyers, 0.02);
  checkouts = buyers + unpaid checkouts, in the sessions' minute;
* each buyer's payment lands 0, 1, 2 or 3 minutes after the checkout with probabilities
  :data:`PAYMENT_LAG` (0.4, 0.3, 0.2, 0.1; mean 1 minute): the paid orders of minute t come
  from the checkouts of t-3..t. Poisson profile: the same minute;
* first chat responses ~ gamma-Poisson with mean 0.01·λ (the same shape), of which slow
  (> 30 s) ~ Binomial(responses, 0.1 · r(d)), ``r(d) = exp(N(0, 0.1²))``.

A minute in which nothing happened (no session, checkout, payment or chat) has no events,
so the pipeline never closes it and its detectors never see it: see
:attr:`StoreSeries.published`.

>>> data = generate(days=1, stores_per_size=1, seed=1, kinds=("traffic_spike",),
...                 sizes=("small",))
>>> [s.name for s in data.stores], data.days, data.warmup_days
(['clean-small-0', 'traffic_spike-small-0'], 3, 2)
>>> inc = data.incidents[0]
>>> inc.kind, inc.end - inc.start, inc.start // DAY_MINUTES, inc.change
('traffic_spike', 60, 2, 2.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from bench.incidents import (
    DAY_MINUTES,
    INCIDENT_MINUTES,
    INCIDENT_TYPES,
    KINDS,
    Incident,
    IncidentKind,
    effects,
    incident_starts,
)
from shoppulse.diurnal import DIURNAL_PEAK, diurnal_factor

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MINUTE_MS: Final = 60_000
#: Minute 0 of every series: Monday 2024-01-01 00:00 UTC (the stores' local time is UTC).
T0_MS: Final = 1_704_067_200_000
CONVERSION: Final = 0.05
UNPAID_CHECKOUT: Final = 0.02
"""Share of the sessions without a paid order that still reach checkout."""
RESPONSES_PER_SESSION: Final = 0.01
SLOW_SHARE: Final = 0.1
#: Weekday paid orders per minute at the daily peak, all day factors 1.
PEAK_ORDERS: Final[dict[str, float]] = {"tiny": 0.5, "small": 3.0, "large": 10.0}
Size = Literal["tiny", "small", "large"]
SIZES: Final[tuple[Size, ...]] = ("tiny", "small", "large")
DISPERSION: Final = 100.0
"""Shape k of the honest profile's gamma-Poisson counts: ``Var = μ + μ²/k``."""
DAY_RANGE: Final = (0.7, 1.4)
"""Bounds of the honest profile's log-normal day factor."""
LEVEL_RANGE: Final = (0.6, 1.6)
"""Bounds of the running product of persistent level shifts."""
PAYMENT_LAG: Final = (0.4, 0.3, 0.2, 0.1)
"""P(payment lands 0, 1, 2, 3 minutes after its checkout), honest profile."""

_DIURNAL: Final = np.array([diurnal_factor(m * MINUTE_MS) for m in range(DAY_MINUTES)])


@dataclass(frozen=True, slots=True)
class Traffic:
    """How wild a store's traffic is (see the module docstring)."""

    name: str
    weekday: tuple[float, ...]
    """Level factor per weekday, Monday first."""
    day_sigma: float
    """sd of the log day factor (clipped to :data:`DAY_RANGE`)."""
    shift_chance: float
    """Probability per day (from day 1) of a persistent level shift."""
    shift_size: tuple[float, float]
    """Range of a shift's relative size (up or down with equal probability)."""
    wander_sd: float
    """Stationary sd of the AR(1) log-level wander."""
    wander_minutes: float
    """Its time constant."""
    dispersion: float | None
    """Gamma-Poisson shape k (``None``: Poisson)."""
    payment_lag: tuple[float, ...]
    """P(payment lands l minutes after its checkout), l = 0, 1, ..."""
    conversion_sigma: float
    """sd of the log day factor of the conversion."""
    slow_share_sigma: float
    """sd of the log day factor of the slow first-response share."""


HONEST: Final = Traffic(
    "honest",
    weekday=(1.05, 1.0, 1.0, 1.0, 0.92, 1.12, 1.18),
    day_sigma=0.12,
    shift_chance=1 / 14,
    shift_size=(0.15, 0.3),
    wander_sd=0.08,
    wander_minutes=180.0,
    dispersion=DISPERSION,
    payment_lag=PAYMENT_LAG,
    conversion_sigma=0.05,
    slow_share_sigma=0.1,
)
POISSON: Final = Traffic(
    "poisson",
    weekday=(1.0, 1.0, 1.0, 1.0, 1.0, 1.15, 1.15),
    day_sigma=0.0,
    shift_chance=0.0,
    shift_size=(0.0, 0.0),
    wander_sd=0.0,
    wander_minutes=180.0,
    dispersion=None,
    payment_lag=(1.0,),
    conversion_sigma=0.0,
    slow_share_sigma=0.0,
)
TRAFFIC: Final[dict[str, Traffic]] = {t.name: t for t in (HONEST, POISSON)}


@dataclass(frozen=True, slots=True)
class Level:
    """A store's drawn level: per day, and the wander per minute."""

    weekday: FloatArray
    day: FloatArray
    shift: FloatArray
    """Running product of the persistent shifts, per day."""
    wander: FloatArray
    """Log-level wander per minute."""
    conversion: FloatArray
    """True probability that a session checks out and pays, per day."""
    slow_share: FloatArray
    """True share of slow first responses, per day."""

    @property
    def daily(self) -> FloatArray:
        return np.asarray(self.weekday * self.day * self.shift)


def ar1(n: int, sd: float, tau: float, rng: np.random.Generator) -> FloatArray:
    """A stationary AR(1) series, ``x[t] = a·x[t-1] + e[t]``, ``a = exp(-1/tau)``, sd ``sd``.

    >>> x = ar1(200_000, 0.08, 180.0, np.random.default_rng(0))
    >>> round(float(x.std()), 2), float(np.corrcoef(x[:-180], x[180:])[0, 1]) > 0.25
    (0.08, True)
    """
    if sd == 0.0:
        return np.zeros(n)
    a = math.exp(-1.0 / tau)
    noise = rng.normal(0.0, sd * math.sqrt(1.0 - a * a), size=n).tolist()
    out = [0.0] * n
    x = float(rng.normal(0.0, sd))
    for i, e in enumerate(noise):
        x = a * x + e
        out[i] = x
    return np.asarray(out)


def draw_level(traffic: Traffic, days: int, rng: np.random.Generator) -> Level:
    """The day factors, shifts, wander and true rates of a store over ``days`` days."""
    weekday = np.array([traffic.weekday[d % 7] for d in range(days)])
    day = np.clip(np.exp(rng.normal(0.0, traffic.day_sigma, days)), *DAY_RANGE)
    shift = np.ones(days)
    level = 1.0
    moves = rng.random(days) < traffic.shift_chance
    sizes = rng.uniform(*traffic.shift_size, days) * rng.choice((-1.0, 1.0), days)
    for d in range(1, days):
        if moves[d]:
            level = float(np.clip(level * (1.0 + sizes[d]), *LEVEL_RANGE))
        shift[d] = level
    wander = ar1(days * DAY_MINUTES, traffic.wander_sd, traffic.wander_minutes, rng)
    conversion = CONVERSION * np.exp(rng.normal(0.0, traffic.conversion_sigma, days))
    slow = SLOW_SHARE * np.exp(rng.normal(0.0, traffic.slow_share_sigma, days))
    return Level(weekday, day, shift, wander, conversion, slow)


def counts(mean: FloatArray, dispersion: float | None, rng: np.random.Generator) -> IntArray:
    """Poisson counts, or gamma-Poisson with shape ``dispersion`` (``Var = μ + μ²/k``)."""
    if dispersion is None:
        return rng.poisson(mean)
    return rng.poisson(mean * rng.gamma(dispersion, 1.0 / dispersion, size=mean.shape))


def lagged(x: FloatArray | IntArray, weights: Sequence[float]) -> FloatArray:
    """``Σ_l weights[l] · x[t - l]`` (what arrives in minute t of what left at t - l).

    >>> lagged(np.array([10.0, 0.0, 0.0, 0.0]), (0.5, 0.5)).tolist()
    [5.0, 5.0, 0.0, 0.0]
    """
    out = np.zeros(len(x))
    for lag, w in enumerate(weights):
        out[lag:] += w * np.asarray(x[: len(x) - lag], dtype=np.float64)
    return out


def land_payments(buyers: IntArray, lag: Sequence[float], rng: np.random.Generator) -> IntArray:
    """Payments landing per minute: each buyer's lands ``l`` minutes after its checkout with
    probability ``lag[l]`` (those past the series' end are lost).

    >>> paid = land_payments(np.array([1000, 0, 0, 0, 0, 0]), PAYMENT_LAG,
    ...                      np.random.default_rng(0))
    >>> int(paid.sum()), int(paid[4:].sum()), [round(x / 1000, 1) for x in paid[:4].tolist()]
    (1000, 0, [0.4, 0.3, 0.2, 0.1])
    """
    n = len(buyers)
    split = rng.multinomial(buyers, lag) if len(lag) > 1 else np.asarray(buyers)[:, None]
    landing = np.zeros(n, dtype=np.int64)
    for minutes in range(len(lag)):
        landing[minutes:] += split[: n - minutes, minutes]
    return landing


class Truth(NamedTuple):
    """What the oracle is told of a watched series: the observed counts, their true
    expectation without incidents, and their distribution (``shape`` None: Poisson given the
    expectation, else gamma-Poisson with that shape)."""

    observed: FloatArray
    expected: FloatArray
    shape: float | None


@dataclass(frozen=True, slots=True)
class StoreSeries:
    name: str
    size: Size
    kind: IncidentKind | None
    traffic: Traffic
    sessions: IntArray
    orders_paid: IntArray
    checkouts: IntArray
    responses: IntArray
    slow_responses: IntArray
    session_rate: FloatArray
    """λ per minute without incidents (the truth the oracle knows)."""
    level: Level

    @property
    def minutes(self) -> int:
        return len(self.sessions)

    @property
    def conversion(self) -> FloatArray:
        """True probability, per minute, that a session checks out and pays."""
        return np.repeat(self.level.conversion, DAY_MINUTES)

    @property
    def slow_share(self) -> FloatArray:
        return np.repeat(self.level.slow_share, DAY_MINUTES)

    @property
    def published(self) -> npt.NDArray[np.bool_]:
        """Minutes with at least one event: the only ones the pipeline closes."""
        return np.asarray((self.sessions + self.checkouts + self.orders_paid + self.responses) > 0)

    def truth(self, kind: IncidentKind) -> Truth:
        """The oracle's view of ``kind``'s watched series. For a rate, the expectation is
        given the observed denominators, across the payment lag: paid orders of minute t
        expect ``Σ_l P(lag l) · p · sessions[t-l]`` (checkouts: the share of checkouts that
        pay, ``p / (p + (1-p)·0.02)``)."""
        f64 = np.float64
        lag = self.traffic.payment_lag
        p = self.conversion
        if kind.startswith("conversion_drop"):
            return Truth(self.orders_paid.astype(f64), lagged(self.sessions * p, lag), None)
        if kind == "checkout_outage":
            share = p / (p + (1 - p) * UNPAID_CHECKOUT)
            return Truth(self.orders_paid.astype(f64), lagged(self.checkouts * share, lag), None)
        if kind == "chat_surge":
            expected = self.responses * self.slow_share
            return Truth(self.slow_responses.astype(f64), expected, None)
        k = self.traffic.dispersion
        if kind == "gmv_dip":
            # Paid orders sum independent thinned minutes: Var ≈ μ + μ²·Σw²/k.
            shape = None if k is None else k / sum(w * w for w in lag)
            return Truth(self.orders_paid.astype(f64), lagged(self.session_rate * p, lag), shape)
        if kind in ("traffic_spike", "traffic_drop"):
            return Truth(self.sessions.astype(f64), self.session_rate.copy(), k)
        raise ValueError(f"unknown incident kind {kind!r}")


def peak_session_rate(size: Size) -> float:
    """λ at a weekday's peak minute, all day factors 1: ``PEAK_ORDERS[size] / p`` sessions.

    >>> peak_session_rate("tiny")
    10.0
    """
    return PEAK_ORDERS[size] / CONVERSION


def simulate_store(
    name: str,
    size: Size,
    days: int,
    incidents: Sequence[tuple[IncidentKind, int]],
    rng: np.random.Generator,
    kind: IncidentKind | None = None,
    traffic: Traffic = HONEST,
) -> tuple[StoreSeries, list[Incident]]:
    """One store's minute series over ``days`` days with ``(kind, start minute)`` incidents."""
    n = days * DAY_MINUTES
    level = draw_level(traffic, days, rng)
    scale = peak_session_rate(size) / DIURNAL_PEAK
    lam = scale * np.tile(_DIURNAL, days) * np.repeat(level.daily, DAY_MINUTES)
    lam = np.asarray(lam * np.exp(level.wander))
    fx = effects(n, incidents)
    k = traffic.dispersion

    sessions = counts(lam * fx.traffic, k, rng)
    p = np.repeat(level.conversion, DAY_MINUTES)
    buyers = rng.binomial(sessions, np.minimum(1.0, p * fx.conversion))
    checkouts = buyers + rng.binomial(sessions - buyers, UNPAID_CHECKOUT)
    paid = rng.binomial(land_payments(buyers, traffic.payment_lag, rng), fx.payment)
    responses = counts(RESPONSES_PER_SESSION * lam * fx.chat_volume, k, rng)
    slow_share = np.repeat(level.slow_share, DAY_MINUTES) * fx.slow_share
    slow = rng.binomial(responses, np.minimum(1.0, slow_share))

    def ints(x: IntArray) -> IntArray:
        return np.asarray(x, dtype=np.int64)

    store = StoreSeries(
        name,
        size,
        kind,
        traffic,
        ints(sessions),
        ints(paid),
        ints(checkouts),
        ints(responses),
        ints(slow),
        lam,
        level,
    )
    out: list[Incident] = []
    for inc_kind, start in incidents:
        expected = store.truth(inc_kind).expected[start : start + INCIDENT_MINUTES]
        out.append(
            Incident(
                inc_kind,
                name,
                start,
                start + INCIDENT_MINUTES,
                expected,
                INCIDENT_TYPES[inc_kind].change,
            )
        )
    return store, out


@dataclass(frozen=True, slots=True)
class Dataset:
    days: int
    """Days per store, warm-up included."""
    warmup_days: int
    traffic: Traffic
    stores: list[StoreSeries]
    incidents: list[Incident]

    @property
    def measured_days(self) -> int:
        return self.days - self.warmup_days

    def incidents_of(self, store: str) -> list[Incident]:
        return [i for i in self.incidents if i.store == store]


def generate(
    days: int = 28,
    stores_per_size: int = 2,
    seed: int = 7,
    kinds: Sequence[IncidentKind] = KINDS,
    traffic: Traffic = HONEST,
    warmup_days: int = 2,
    sizes: Sequence[Size] = SIZES,
) -> Dataset:
    """Per size: ``stores_per_size`` clean stores, and as many stores per incident kind, over
    ``warmup_days`` + ``days`` measured days. Every store has its own streams, derived from
    ``(seed, size, kind, index)``: one places its incidents (the same under every traffic
    profile), one draws its traffic; a store does not change when others are added."""
    if days < 1 or warmup_days < 1:
        raise ValueError("a run needs at least one warm-up day and one measured day")
    total = warmup_days + days
    stores: list[StoreSeries] = []
    incidents: list[Incident] = []
    for size in sizes:
        size_ix = SIZES.index(size)
        groups: list[IncidentKind | None] = [None, *kinds]
        for kind in groups:
            kind_ix = 0 if kind is None else 1 + KINDS.index(kind)
            for i in range(stores_per_size):
                key = [seed, size_ix, kind_ix, i]
                plan: list[tuple[IncidentKind, int]] = []
                if kind is not None:
                    starts = incident_starts(total, warmup_days, np.random.default_rng([*key, 0]))
                    plan = [(kind, s) for s in starts]
                rng = np.random.default_rng([*key, 1])
                name = f"{kind or 'clean'}-{size}-{i}"
                store, incs = simulate_store(name, size, total, plan, rng, kind, traffic)
                stores.append(store)
                incidents.extend(incs)
    return Dataset(total, warmup_days, traffic, stores, incidents)
