"""The level a series runs at today, against its hour-of-day profile.

Shops swing 10-30 % from one day to the next (weather, a newsletter, payday) and wander
within a day. The hour-of-day profile (``shoppulse.seasonal``) remembers days; the level
says how the series compares with it *now*. It is a local-level filter on counts: the
level is a gamma-distributed multiplier of the profile's expectation, updated by each
minute's observed and expected counts (Poisson-gamma conjugacy), whose certainty decays by
``drift_per_min`` of relative variance a minute, because levels really do move.

So the level's memory is set by evidence, not by the clock: a busy store's level follows
the last hour or so, while over a quiet night the level grows uncertain and the morning's
first orders move it quickly, which is how a day that starts 25 % low is followed instead of
paged; a sudden drop is a small part of a busy hour's evidence, and the CUSUM that judges
against the level sees it first. ``drift_per_min`` is 1e-4: a day's drift of about 20 %
(0.2² / 1440 = 2.8e-5 a minute) plus a wander within the day of about 8 % that comes and
goes over three hours (2 · 0.08² / 180 = 7e-5 a minute), the variance real shops show (ADR 19).

>>> level = DayLevel()
>>> for minute in range(240):  # four hours at 80 % of the profile's 5 a minute
...     level.learn(observed=4.0, expected=5.0)
>>> round(level.factor(), 2)
0.8
>>> for minute in range(480):  # a night with 0.1 a minute expected, at the same 80 %
...     level.learn(observed=0.08, expected=0.1)
>>> round(level.factor(), 2), round(level.uncertainty(), 2)  # same level, less sure of it
(0.8, 0.18)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

#: Relative variance a level gains per minute: day-to-day swings and the wander within a day.
DRIFT_PER_MIN: Final = 1e-4
#: How many events the first level is worth (at 1: the profile's own level).
PRIOR_EVENTS: Final = 25.0


@dataclass(slots=True)
class DayLevel:
    """A gamma posterior (``shape``, ``rate``) of the series' level against its profile."""

    drift_per_min: float = DRIFT_PER_MIN
    shape: float = PRIOR_EVENTS
    """Events' worth of evidence, about (the level's relative variance is 1/shape)."""
    rate: float = PRIOR_EVENTS
    """Expected events' worth (shape / rate is the level)."""

    def learn(self, observed: float, expected: float) -> None:
        inflate = 1.0 + self.shape * self.drift_per_min
        self.shape = self.shape / inflate + observed
        self.rate = self.rate / inflate + expected

    def factor(self) -> float:
        """The level: 1 is the profile's; 0.8 is 20 % below it."""
        return self.shape / self.rate if self.rate > 0 else 1.0

    def uncertainty(self) -> float:
        """The level's relative standard deviation."""
        return 1.0 / math.sqrt(self.shape) if self.shape > 0 else math.inf

    def reset(self, factor: float) -> None:
        """Take ``factor`` as the level, as sure of it as of a new series' first level (a
        detector that accepted a new level)."""
        self.shape = PRIOR_EVENTS
        self.rate = PRIOR_EVENTS / max(factor, 1e-6)

    def to_state(self) -> list[float]:
        return [self.shape, self.rate]

    @classmethod
    def from_state(cls, data: Any) -> DayLevel:
        if not data or len(data) != 2:
            return cls()
        shape, rate = data
        return cls(shape=float(shape), rate=float(rate))
