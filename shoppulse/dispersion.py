"""Counts more dispersed than Poisson: a negative binomial with a learned dispersion.

Real shop counts vary more than a Poisson process around any expectation: visitors come in
groups, a newsletter lands, an ad campaign is paused for an hour. With variance
``μ + κ·μ²`` (a negative binomial with ``r = 1/κ``), a CUSUM's log-likelihood ratio
weighs a busy minute's shortfall less than a Poisson model would, so noise that merely
is not Poisson does not page anyone, while a shortfall that is large against the extra
variance still adds up fast (ADR 19).

:class:`Dispersion` learns ``κ`` by the method of moments: for a negative binomial,
``E[(x - μ)² - x] = κ·μ²``, so an exponentially weighted sum of ``(x - μ)² - x`` over one of
``μ²`` estimates it, starting from ``prior_kappa`` worth ``prior_weight`` minutes of a count
of 10 a minute.

>>> import random
>>> rng = random.Random(1)
>>> d = Dispersion(time_constant_min=5_000.0)
>>> for _ in range(20_000):  # gamma-Poisson counts around 40 with κ = 0.05
...     mu = rng.gammavariate(20.0, 40.0 / 20.0)
...     x = sum(1 for _ in range(200) if rng.random() < mu / 200)
...     d.learn(x, 40.0)
>>> round(d.kappa(), 2)
0.05

The log-likelihood ratio of "mean ``μ·(1 + δ)``" against "mean ``μ``" for a count ``x``:

>>> round(nb_llr(20, 40.0, -0.4, kappa=0.0), 3)  # Poisson: 20·ln 0.6 + 16
5.783
>>> round(nb_llr(20, 40.0, -0.4, kappa=0.05), 3)  # the same shortfall, noisier counts
2.19
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

#: The largest dispersion believed: variance at most μ + μ² (a series noisier than that
#: is not one a CUSUM on counts can watch).
MAX_KAPPA: Final = 1.0
_PRIOR_MU: Final = 10.0


@dataclass(slots=True)
class Dispersion:
    """Exponentially weighted method-of-moments estimate of the extra variance ``κ``."""

    time_constant_min: float = 2_880.0
    prior_kappa: float = 0.02
    prior_weight: float = 60.0
    excess: float = 0.0
    """Exponentially weighted sum of ``(x - μ)² - x``."""
    scale: float = 0.0
    """Exponentially weighted sum of ``μ²``."""

    def learn(self, x: float, mu: float) -> None:
        keep = 1.0 - 1.0 / self.time_constant_min
        self.excess = keep * self.excess + (x - mu) ** 2 - x
        self.scale = keep * self.scale + mu * mu

    def kappa(self) -> float:
        prior_scale = self.prior_weight * _PRIOR_MU * _PRIOR_MU
        k = (self.excess + self.prior_kappa * prior_scale) / (self.scale + prior_scale)
        return min(MAX_KAPPA, max(0.0, k))

    def to_state(self) -> list[float]:
        return [self.excess, self.scale]

    @classmethod
    def from_state(cls, data: Any, *, time_constant_min: float) -> Dispersion:
        excess, scale = (float(v) for v in data) if data else (0.0, 0.0)
        return cls(time_constant_min, excess=excess, scale=scale)


def nb_llr(x: float, mu: float, change: float, kappa: float) -> float:
    """Log-likelihood ratio of a count ``x`` under mean ``mu·(1 + change)`` against ``mu``,
    negative binomial with variance ``mu + kappa·mu²`` (Poisson when ``kappa`` is 0).

    A count above 0 where the alternative expects none (``change`` -1) is impossible under
    it: a large negative step.
    """
    shifted = mu * (1.0 + change)
    if mu <= 0.0:
        return 0.0
    if shifted <= 0.0:
        return -1e4 if x > 0 else mu if kappa <= 0.0 else math.log1p(kappa * mu) / kappa
    if kappa <= 1e-9:
        return x * math.log1p(change) + mu - shifted
    r = 1.0 / kappa
    return x * math.log1p(change) + (x + r) * math.log1p((mu - shifted) / (r + shifted))
