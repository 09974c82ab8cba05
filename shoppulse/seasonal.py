"""Seasonal baselines: what a minute is expected to hold at this time of day.

One smoothed mean per hour-of-day slot (``river.stats.Mean`` for the first
``1/fading`` observations, then ``river.stats.EWMean``), for a count and, for
rates, for its denominator as well (so the expected rate is a ratio
of weighted sums, robust at low traffic). The expectation for a minute interpolates
linearly between the two nearest slot centres, so steep morning and evening ramps do
not look like anomalies. A slot is *warm* after ``warmup`` observations.

>>> base = SeasonalBaseline(fading=0.1, warmup=3)
>>> t0 = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000  # midnight UTC
>>> for day in range(2):
...     for minute in range(24 * 60):
...         base.learn(t0 + (day * 1440 + minute) * 60_000, 10.0, 100.0)
>>> round(base.expected_rate(t0 + 2 * 86_400_000 + 600 * 60_000), 6), base.warm(t0)
(0.1, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from river import stats

SLOTS: Final = 24
_SLOT_MS: Final = 3_600_000
_DAY_MS: Final = 86_400_000


class _Smoother:
    """The plain mean of the first ``1/fading`` observations, then an exponentially weighted
    mean (``river.stats.Mean`` then ``river.stats.EWMean``): a slot learns fast at first and
    then remembers about ``1/fading`` observations, not just the last few."""

    __slots__ = ("_ew", "_fading", "_mean", "n")

    def __init__(self, fading: float, value: float | None = None, n: int = 0) -> None:
        self._fading = fading
        self.n = 0
        self._mean = stats.Mean()
        self._ew: Any = None
        if value is not None and n > 0:
            # Restore: the statistics are summarized by their value and count.
            if n >= 1 / fading:
                self._ew = stats.EWMean(fading_factor=fading)
                self._ew.update(value)
            else:
                self._mean.update(value, w=n)
            self.n = n

    def update(self, x: float) -> None:
        self.n += 1
        if self._ew is not None:
            self._ew.update(x)
            return
        self._mean.update(x)
        if self.n >= 1 / self._fading:
            self._ew = stats.EWMean(fading_factor=self._fading)
            self._ew.update(self._mean.get())

    def get(self) -> float:
        return float(self._ew.get() if self._ew is not None else self._mean.get())


@dataclass(slots=True)
class _Slot:
    num: _Smoother
    den: _Smoother
    n: int = 0


@dataclass(slots=True)
class SeasonalBaseline:
    """Hour-of-day slots of a count (and optionally a denominator), local to ``utc_offset_ms``."""

    fading: float = 0.005
    warmup: int = 30
    utc_offset_ms: int = 0
    slots: list[_Slot] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.slots:
            self.slots = [
                _Slot(_Smoother(self.fading), _Smoother(self.fading)) for _ in range(SLOTS)
            ]

    def _position(self, ts_ms: int) -> float:
        """Hours since local midnight, as a float in [0, 24)."""
        return ((ts_ms + self.utc_offset_ms) % _DAY_MS) / _SLOT_MS

    def _neighbours(self, ts_ms: int) -> tuple[int, int, float]:
        pos = self._position(ts_ms) - 0.5  # slot centres sit at h + 0.5
        lower = int(pos // 1) % SLOTS
        weight = pos - pos // 1
        return lower, (lower + 1) % SLOTS, weight

    def learn(self, ts_ms: int, value: float, denominator: float = 1.0) -> None:
        slot = self.slots[int(self._position(ts_ms)) % SLOTS]
        slot.num.update(value)
        slot.den.update(denominator)
        slot.n += 1

    def warm(self, ts_ms: int) -> bool:
        a, b, _ = self._neighbours(ts_ms)
        return self.slots[a].n >= self.warmup and self.slots[b].n >= self.warmup

    def expected(self, ts_ms: int) -> float:
        """The expected count of a minute at this time (per unit of denominator if a rate)."""
        a, b, w = self._neighbours(ts_ms)
        return float((1 - w) * self.slots[a].num.get() + w * self.slots[b].num.get())

    def expected_rate(self, ts_ms: int) -> float:
        """The expected ``value / denominator`` at this time (ratio of weighted sums)."""
        a, b, w = self._neighbours(ts_ms)
        num = (1 - w) * self.slots[a].num.get() + w * self.slots[b].num.get()
        den = (1 - w) * self.slots[a].den.get() + w * self.slots[b].den.get()
        return num / den if den > 0 else 0.0

    def warm_overall(self) -> bool:
        """Whether ``warmup`` observations were learned at all, in any hour."""
        return sum(slot.n for slot in self.slots) >= self.warmup

    def pooled_rate(self) -> float:
        """The rate over every hour learned so far (ratio of sums, each slot by how much it
        has seen): the prior of an hour not warm yet, for a rate whose hour matters less than
        its level (a checkout that pays at 3 am pays as at 3 pm).

        >>> base = SeasonalBaseline(fading=0.1, warmup=3)
        >>> for minute in range(4):
        ...     base.learn(minute * 60_000, 2.0, 10.0)
        >>> base.warm(0), base.warm_overall(), round(base.pooled_rate(), 3)
        (False, True, 0.2)
        """
        num = sum(slot.num.get() * slot.n for slot in self.slots if slot.n)
        den = sum(slot.den.get() * slot.n for slot in self.slots if slot.n)
        return num / den if den > 0 else 0.0

    def to_state(self) -> dict[str, Any]:
        return {
            "fading": self.fading,
            "warmup": self.warmup,
            "utc_offset_ms": self.utc_offset_ms,
            "slots": [
                [s.num.get() if s.n else None, s.den.get() if s.n else None, s.n]
                for s in self.slots
            ],
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> SeasonalBaseline:
        fading = float(data["fading"])
        slots = [
            _Slot(_Smoother(fading, num, int(n)), _Smoother(fading, den, int(n)), int(n))
            for num, den, n in data["slots"]
        ]
        return cls(fading, int(data["warmup"]), int(data["utc_offset_ms"]), slots)
