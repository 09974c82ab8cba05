"""The shape of a typical e-commerce day: a traffic multiplier per local minute.

Low at night, a mid-day peak and a higher evening peak; its mean over a day is 1. The
simulator paces its sessions by it (:mod:`simulator.simulation`) and the targets' default
``ecommerce`` curve is it averaged over each hour (:mod:`shoppulse.target_curves`).
"""

from __future__ import annotations

import math
from typing import Final

DAY_MS: Final = 86_400_000
HOUR_MS: Final = 3_600_000
MINUTE_MS: Final = 60_000


def _diurnal_raw(hour: float) -> float:
    def bump(center: float, width: float) -> float:
        d = abs(hour - center)
        d = min(d, 24.0 - d)
        return math.exp(-0.5 * (d / width) ** 2)

    return 0.08 + 0.9 * bump(12.5, 2.3) + 1.3 * bump(20.5, 1.9) + 0.35 * bump(9.0, 1.5)


_RAW_CURVE: Final = [_diurnal_raw(m / 60.0) for m in range(1440)]
_CURVE_MEAN: Final = sum(_RAW_CURVE) / len(_RAW_CURVE)
_DIURNAL: Final[tuple[float, ...]] = tuple(v / _CURVE_MEAN for v in _RAW_CURVE)
#: The highest value of :func:`diurnal_factor` (the evening peak).
DIURNAL_PEAK: Final = max(_DIURNAL)


def diurnal_factor(local_ms: int) -> float:
    """Traffic multiplier at a local time of day; its mean over a day is 1.

    Low at night, a mid-day peak around 12:30 and a higher evening peak around 20:30.

    >>> night, noon, evening = (diurnal_factor(h * HOUR_MS) for h in (4, 12, 20))
    >>> night < 0.2 < 1.0 < noon < evening < DIURNAL_PEAK + 1e-9
    True
    >>> round(sum(diurnal_factor(m * MINUTE_MS) for m in range(1440)) / 1440, 6)
    1.0
    """
    return _DIURNAL[(local_ms % DAY_MS) // MINUTE_MS]
