"""The oracle of ``shoppulse bench-detect``: a CUSUM told the truth, the statistical limit.

It knows the true expectation μ of every minute of the watched series
(:meth:`bench.traffic.StoreSeries.truth`: the level with its day factor, shifts and
wander; for a rate, given the observed denominators across the payment lag), the counts'
distribution (Poisson, or gamma-Poisson with a known shape) and the incident's true relative
change δ. It accumulates the exact log-likelihood ratio of "μ·(1 + δ)" against "μ" and
restarts at 0 after each alarm. Its threshold is calibrated on the clean stores
(:func:`calibrate_threshold`) to the false-alarm rate of the detector it is compared with.

>>> x = np.array([10.0, 10.0, 30.0, 30.0])
>>> steps = cusum_steps(x, np.full(4, 10.0), 2.0)
>>> [round(float(s), 2) for s in steps]
[-9.01, -9.01, 12.96, 12.96]
>>> cusum_alarms(steps, 20.0)
[3]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

DAY_MINUTES: Final = 1440
_BIG_STEP: Final = 1e4
"""Impossible observations (a paid order during an outage hypothesis) step by -this."""
MAX_THRESHOLD: Final = 1e3
_CHUNK: Final = 64
"""Minutes a CUSUM scans at first after an alarm (doubling while none)."""


def cusum_steps(
    x: FloatArray, mu: FloatArray, change: float, shape: float | None = None
) -> FloatArray:
    """Per-minute log-likelihood ratio of "μ·(1 + change)" against "μ".

    Poisson counts, or with ``shape`` k gamma-Poisson (negative binomial, ``Var = μ + μ²/k``):
    ``x·(ln(1 + δ) - ln((k + μ₁)/(k + μ₀))) - k·ln((k + μ₁)/(k + μ₀))``, which tends to the
    Poisson ratio as k grows. A drop to zero (``change == -1``) makes any positive count
    impossible under the alternative: its step is ``-_BIG_STEP``, which resets a CUSUM with
    a threshold up to :data:`MAX_THRESHOLD` exactly as ``-inf`` would.

    >>> mu, x = np.full(3, 50.0), np.array([30.0, 50.0, 70.0])
    >>> poisson = cusum_steps(x, mu, -0.4)
    >>> wide = cusum_steps(x, mu, -0.4, shape=20.0)
    >>> bool(np.all(np.abs(wide) < np.abs(poisson)))  # wider counts: weaker evidence
    True
    >>> near = cusum_steps(x, mu, -0.4, shape=1e9)
    >>> bool(np.allclose(near, poisson, atol=1e-4))
    True
    """
    if change <= -1.0:
        return np.where(x > 0, -_BIG_STEP, mu)
    if shape is None:
        steps = x * math.log1p(change) - change * mu
    else:
        k = shape
        ratio = np.log((k + mu * (1.0 + change)) / (k + mu))
        steps = x * (math.log1p(change) - ratio) - k * ratio
    return np.asarray(np.maximum(steps, -_BIG_STEP))


def cusum_alarms(
    steps: FloatArray, threshold: float, limit: int | None = None, count_from: int = 0
) -> list[int]:
    """Alarm minutes of a CUSUM ``S = max(0, S + step)`` that restarts at 0 after each alarm
    (``S ≥ threshold``). Stops once more than ``limit`` alarms at or after ``count_from``.

    >>> cusum_alarms(np.array([1.0, 1.0, -5.0, 1.0, 1.0, 1.0]), 2.0)
    [1, 4]
    """
    alarms: list[int] = []
    counted = 0
    pos, n, s0, chunk = 0, len(steps), 0.0, _CHUNK
    while pos < n:
        # S over the next chunk from S = s0: the running sum minus its running minimum (≤ 0).
        c = s0 + np.cumsum(steps[pos : pos + chunk])
        s = c - np.minimum(np.minimum.accumulate(c), 0.0)
        hit = np.flatnonzero(s >= threshold)
        if hit.size == 0:
            pos, s0, chunk = pos + chunk, float(s[-1]), chunk * 2
            continue
        t = pos + int(hit[0])
        alarms.append(t)
        counted += t >= count_from
        if limit is not None and counted > limit:
            break
        pos, s0, chunk = t + 1, 0.0, _CHUNK
    return alarms


def calibrate_threshold(
    step_runs: Sequence[FloatArray], max_alarms: int, count_from: int = DAY_MINUTES
) -> float:
    """The smallest threshold (to 0.1 %) with at most ``max_alarms`` alarms from minute
    ``count_from`` (the first measured minute) over ``step_runs``.

    >>> quiet = np.array([-1.0, 0.4, 0.4, -1.0] * 100)
    >>> round(calibrate_threshold([quiet], 0, count_from=0), 2)
    0.8
    """

    def alarms(h: float) -> int:
        total = 0
        for steps in step_runs:
            total += sum(
                1 for t in cusum_alarms(steps, h, max_alarms - total, count_from) if t >= count_from
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
