"""Traffic as wild as real shops': the ``variance`` store profile of the simulator.

Real shops' traffic is not a Poisson process around a fixed daily curve. Under the
``variance`` profile (:mod:`simulator.store_profiles`) the simulator multiplies each
store's session (and chat) arrival rate at time ``t`` of the store's local day ``d`` by

    weekday(d) · day(d) · shift(d) · exp(w(t)) · G(minute of t)

* ``weekday``: Monday first 1.05, 1, 1, 1, 0.92 (Friday), 1.12, 1.18 (Sunday);
* ``day``: a log-normal day factor ``exp(N(0, 0.12²))`` clipped to :data:`DAY_RANGE`
  [0.7, 1.4];
* ``shift``: persistent level shifts: from the day after the simulation start on, each day
  with probability 1/14 the level moves by ±15-30 % for good (the running level clipped
  to :data:`LEVEL_RANGE` [0.6, 1.6]);
* ``w``: slow wander, an AR(1) (discretized Ornstein-Uhlenbeck) process on the log level,
  one step a minute, time constant 3 h, stationary sd 0.08;
* ``G``: overdispersion, a gamma factor with mean 1 and shape ``k`` = 100, drawn per store
  and (epoch-aligned) minute, so that the sessions starting in a minute are gamma-Poisson
  (negative binomial) with ``Var = μ + μ²/k``: 1.1 x Poisson at 10 sessions a minute, 3 x
  at 200. Chats starting share the minute's factor.

Besides the level:

* the probability that a cart is checked out has a day factor ``exp(N(0, 0.05²))``, so the
  conversion varies from day to day as the level does;
* an order's payment lands 0, 1, 2 or 3 minutes after its checkout (the minute of the ``paid``
  event less the minute of the ``checkout`` click) with probabilities :data:`PAYMENT_LAG`
  0.4, 0.3, 0.2, 0.1 (mean 1 minute), the ``placed`` event in between.

These are the defaults of ``shoppulse bench-detect``'s honest traffic
(:mod:`bench.traffic`, whose counts per minute are drawn the same way); a test keeps
the two equal. They are repeated here rather than imported: the benchmark (``bench``) builds on
numpy, the simulator must not build on it.

The level multiplies the store's rate as given, so over a week its mean is about 4 % above
it (the weekday factors average 1.04). Everything is seeded by ``(seed, store id)``: a day's
factors by the local day number, the shifts from the simulation start, the wander and the
gamma factors in minute order.

>>> track = Variance().track("store-001", seed=1, origin_ms=0)  # 1970-01-01, a Thursday
>>> [track.weekday(d * DAY_MS) for d in range(4)]  # Monday is 0
[3, 4, 5, 6]
>>> factors = [track.day_factor(d) for d in range(1000)]
>>> DAY_RANGE[0] <= min(factors) < max(factors) <= DAY_RANGE[1]
True
>>> track.level(3 * DAY_MS) == 1.18 * track.day_factor(3) * track.shift(3)  # a Sunday
True
>>> minute = [track.rate_factor(3_600_000 + s * 1000) for s in range(60)]
>>> len(set(minute)), 0.5 < minute[0] < 2.0  # one factor a minute
(1, True)
>>> again = Variance().track("store-001", seed=1, origin_ms=0)
>>> again.rate_factor(3_600_000) == minute[0]  # deterministic per seed and store
True
>>> Variance().headroom > 1.5
True
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from typing import Final

from simulator.durations import DAY_MS, MINUTE_MS

#: Level factor per weekday, Monday first.
WEEKDAY_FACTORS: Final = (1.05, 1.0, 1.0, 1.0, 0.92, 1.12, 1.18)
#: sd of the log day factor ...
DAY_SD: Final = 0.12
#: ... which is clipped to these bounds.
DAY_RANGE: Final = (0.7, 1.4)
#: One day in this many (from the day after the start) shifts the level for good ...
SHIFT_EVERY_DAYS: Final = 14.0
#: ... by this much, up or down with equal probability ...
SHIFT_SIZE: Final = (0.15, 0.3)
#: ... the running level clipped to these bounds.
LEVEL_RANGE: Final = (0.6, 1.6)
#: Stationary sd of the AR(1) log-level wander ...
WANDER_SD: Final = 0.08
#: ... and its time constant in minutes.
WANDER_MINUTES: Final = 180.0
#: Shape k of the gamma factor per minute: sessions per minute have ``Var = μ + μ²/k``.
DISPERSION: Final = 100.0
#: P(a payment lands 0, 1, 2, 3 minutes after its checkout).
PAYMENT_LAG: Final = (0.4, 0.3, 0.2, 0.1)
#: sd of the log day factor of the checkout probability (the conversion).
CONVERSION_SD: Final = 0.05

_EPOCH_WEEKDAY: Final = 3  # 1970-01-01 was a Thursday (Monday = 0)


@dataclass(frozen=True, slots=True)
class Variance:
    """How wild a store's traffic is; the defaults are real shops' (see the module docstring).

    ``dispersion`` ``None`` makes arrivals Poisson around the level; ``shift_every_days`` 0
    never shifts the level; a ``payment_lag`` of ``(1.0,)`` pays in the checkout's minute.

    >>> Variance(day_sd=-1)
    Traceback (most recent call last):
    ...
    ValueError: variance: day_sd must be a finite number >= 0
    >>> Variance(payment_lag=(0.5, 0.4))
    Traceback (most recent call last):
    ...
    ValueError: variance: the payment lag probabilities must add up to 1
    """

    weekday: tuple[float, ...] = WEEKDAY_FACTORS
    """Level factor per weekday, Monday first."""
    day_sd: float = DAY_SD
    """sd of the log day factor (clipped to :data:`DAY_RANGE`)."""
    shift_every_days: float = SHIFT_EVERY_DAYS
    """A persistent level shift one day in this many (0: none)."""
    shift_size: tuple[float, float] = SHIFT_SIZE
    """Range of a shift's relative size."""
    wander_sd: float = WANDER_SD
    """Stationary sd of the AR(1) log-level wander."""
    wander_minutes: float = WANDER_MINUTES
    """Its time constant."""
    dispersion: float | None = DISPERSION
    """Gamma shape k per minute (``None``: Poisson)."""
    payment_lag: tuple[float, ...] = PAYMENT_LAG
    """P(payment lands l minutes after its checkout), l = 0, 1, ..."""
    conversion_sd: float = CONVERSION_SD
    """sd of the log day factor of the checkout probability."""

    def __post_init__(self) -> None:
        def check(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(f"variance: {message}")

        def finite(x: float) -> bool:
            return math.isfinite(x) and x >= 0

        check(
            len(self.weekday) == 7 and all(finite(w) and w > 0 for w in self.weekday),
            "weekday takes 7 factors > 0, Monday first",
        )
        for name in ("day_sd", "wander_sd", "conversion_sd"):
            check(finite(getattr(self, name)), f"{name} must be a finite number >= 0")
        check(
            self.shift_every_days == 0
            or (math.isfinite(self.shift_every_days) and self.shift_every_days >= 1),
            "shift_days must be 0 (no shifts) or at least 1",
        )
        low, high = self.shift_size
        check(finite(low) and finite(high) and low <= high < 1, "shift must be 0 <= lo <= hi < 1")
        check(
            math.isfinite(self.wander_minutes) and self.wander_minutes > 0,
            "wander must be a duration > 0",
        )
        check(
            self.dispersion is None or (finite(self.dispersion) and self.dispersion > 0),
            "k must be a number > 0 (inf: Poisson)",
        )
        check(
            len(self.payment_lag) > 0 and all(finite(p) for p in self.payment_lag),
            "the payment lag takes probabilities >= 0",
        )
        check(
            abs(sum(self.payment_lag) - 1.0) <= 1e-6,
            "the payment lag probabilities must add up to 1",
        )

    @property
    def headroom(self) -> float:
        """How far above its rate a store's slow level goes on most days: the busiest
        weekday's factor times 2 sd of the day factor and the wander (≈ 1.57 by default).
        ``shoppulse simulate`` divides a rate fitted under ``--rate`` by it."""
        sd = math.hypot(self.day_sd, self.wander_sd)
        return max(self.weekday) * math.exp(2.0 * sd)

    def track(
        self, store_id: str, *, seed: int, origin_ms: int, utc_offset_min: int = 0
    ) -> VarianceTrack:
        """The drawn level of one store, from ``origin_ms`` (the simulation start)."""
        return VarianceTrack(self, store_id, seed, origin_ms, utc_offset_min)


class VarianceTrack:
    """One store's drawn level under a :class:`Variance`, queried in event-time order.

    Day factors, conversion factors and shifts are pure functions of the local day;
    :meth:`rate_factor` also advances the wander and draws the minute's gamma factor, so
    its times must not decrease.

    >>> calm = Variance(day_sd=0, shift_every_days=0, wander_sd=0, dispersion=None)
    >>> track = calm.track("s", seed=1, origin_ms=4 * DAY_MS)  # a Monday
    >>> [round(track.rate_factor(4 * DAY_MS + d * DAY_MS), 2) for d in range(7)]
    [1.05, 1.0, 1.0, 1.0, 0.92, 1.12, 1.18]
    >>> track.rate_factor(0)
    Traceback (most recent call last):
    ...
    ValueError: variance: time went back from minute 14400 to minute 0
    """

    def __init__(
        self, variance: Variance, store_id: str, seed: int, origin_ms: int, utc_offset_min: int
    ) -> None:
        self.variance = variance
        self.store_id = store_id
        self.seed = seed
        self.utc_offset_min = utc_offset_min
        self.origin_day = self.day_of(origin_ms)
        self._rng = random.Random(f"shoppulse-variance:{seed}:{store_id}")
        self._days: dict[int, tuple[float, float, bool, float]] = {}
        self._shifts: list[float] = [1.0]  # the running level of origin_day + i
        self._minute: int | None = None
        self._wander = 0.0
        self._factor = 1.0
        self._lags = tuple(range(len(variance.payment_lag)))
        self._cum_lag = list(accumulate(variance.payment_lag))

    def day_of(self, ts_ms: int) -> int:
        """The store's local day number (days since 1970-01-01 in its UTC offset)."""
        return (ts_ms + self.utc_offset_min * MINUTE_MS) // DAY_MS

    def weekday(self, ts_ms: int) -> int:
        """The local weekday at ``ts_ms``, Monday 0."""
        return (self.day_of(ts_ms) + _EPOCH_WEEKDAY) % 7

    def _draws(self, day: int) -> tuple[float, float, bool, float]:
        """(log day factor z, log conversion z, shifts, signed shift size) of a local day."""
        out = self._days.get(day)
        if out is None:
            v = self.variance
            rng = random.Random(f"shoppulse-variance-day:{self.seed}:{self.store_id}:{day}")
            z_day, z_conversion = rng.gauss(0.0, 1.0), rng.gauss(0.0, 1.0)
            moves = rng.random() * v.shift_every_days < 1.0 if v.shift_every_days else False
            size = rng.uniform(*v.shift_size) * (1.0 if rng.random() < 0.5 else -1.0)
            out = self._days[day] = (z_day, z_conversion, moves, size)
        return out

    def day_factor(self, day: int) -> float:
        """The log-normal factor of local day ``day``, clipped to :data:`DAY_RANGE`."""
        z = self._draws(day)[0]
        return min(max(math.exp(self.variance.day_sd * z), DAY_RANGE[0]), DAY_RANGE[1])

    def shift(self, day: int) -> float:
        """The running product of the level shifts up to local day ``day`` (1 before any)."""
        index = day - self.origin_day
        if index <= 0:
            return 1.0
        while len(self._shifts) <= index:
            moves, size = self._draws(self.origin_day + len(self._shifts))[2:]
            level = self._shifts[-1]
            if moves:
                level = min(max(level * (1.0 + size), LEVEL_RANGE[0]), LEVEL_RANGE[1])
            self._shifts.append(level)
        return self._shifts[index]

    def level(self, ts_ms: int) -> float:
        """The day's level at ``ts_ms``: weekday x day factor x shift (no wander, no gamma)."""
        day = self.day_of(ts_ms)
        weekday = self.variance.weekday[(day + _EPOCH_WEEKDAY) % 7]
        return weekday * self.day_factor(day) * self.shift(day)

    def conversion(self, ts_ms: int) -> float:
        """The day factor of the checkout probability at ``ts_ms``."""
        return math.exp(self.variance.conversion_sd * self._draws(self.day_of(ts_ms))[1])

    def rate_factor(self, ts_ms: int) -> float:
        """What the store's arrival rate is multiplied by in the minute of ``ts_ms``:
        :meth:`level` x wander x the minute's gamma factor."""
        minute = ts_ms // MINUTE_MS
        if minute != self._minute:
            if self._minute is not None and minute < self._minute:
                raise ValueError(
                    f"variance: time went back from minute {self._minute} to minute {minute}"
                )
            self._advance(minute)
        return self._factor

    def _advance(self, minute: int) -> None:
        v, rng = self.variance, self._rng
        if v.wander_sd > 0:
            if self._minute is None:
                self._wander = rng.gauss(0.0, v.wander_sd)  # stationary start
            else:
                a = math.exp(-(minute - self._minute) / v.wander_minutes)
                self._wander = a * self._wander + rng.gauss(0.0, v.wander_sd * math.sqrt(1 - a * a))
        gamma = 1.0 if v.dispersion is None else rng.gammavariate(v.dispersion, 1 / v.dispersion)
        self._minute = minute
        self._factor = self.level(minute * MINUTE_MS) * math.exp(self._wander) * gamma

    def payment_lag(self, rng: random.Random) -> int:
        """Minutes from a checkout to its payment, drawn from :attr:`Variance.payment_lag`."""
        if len(self._lags) == 1:
            return 0
        return self._lags[bisect_right(self._cum_lag, rng.random() * self._cum_lag[-1])]

    def payment_ms(self, checkout_ms: int, rng: random.Random) -> int:
        """When an order checked out at ``checkout_ms`` is paid: uniformly within the minute
        :meth:`payment_lag` minutes after the checkout's, at least 2 ms after it (room for the
        ``placed`` event between; only a checkout in the last 2 ms of its minute and lag 0
        pays in the next minute instead).

        >>> track = Variance().track("s", seed=1, origin_ms=0)
        >>> rng = random.Random(3)
        >>> lags = [track.payment_ms(59_000, rng) // MINUTE_MS for _ in range(10_000)]
        >>> sorted(set(lags)), [round(lags.count(m) / 10_000, 1) for m in range(4)]
        ([0, 1, 2, 3], [0.4, 0.3, 0.2, 0.1])
        """
        start = checkout_ms - checkout_ms % MINUTE_MS + self.payment_lag(rng) * MINUTE_MS
        low, end = max(checkout_ms + 2, start), start + MINUTE_MS
        return rng.randrange(low, end) if low < end else checkout_ms + 2
