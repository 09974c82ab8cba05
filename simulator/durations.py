"""Time spans of the simulator and its store profiles: unit constants and ``10m``-style text.

A module of its own so that :mod:`simulator.simulation` and :mod:`simulator.store_profiles`
can both use it (the simulator builds on the profiles, not the other way round).

>>> parse_duration_ms("17h") == 17 * HOUR_MS
True
"""

from __future__ import annotations

import math
from typing import Final

DAY_MS: Final = 86_400_000
HOUR_MS: Final = 3_600_000
MINUTE_MS: Final = 60_000

_UNITS_MS: Final[dict[str, int]] = {"ms": 1, "s": 1000, "m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS}


def parse_duration_ms(text: str) -> int:
    """Parse ``250ms``, ``90s``, ``10m``, ``1.5h``, ``2d`` or plain milliseconds.

    >>> [parse_duration_ms(t) for t in ("250ms", "90s", "10m", "1.5h", "0")]
    [250, 90000, 600000, 5400000, 0]
    """
    text = text.strip()
    for unit in ("ms", "s", "m", "h", "d"):
        if text.endswith(unit):
            number, scale = text[: -len(unit)], _UNITS_MS[unit]
            break
    else:
        number, scale = text, 1
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 10m, 2h)") from None
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"a duration must be finite and >= 0: {text!r}")
    return round(value * scale)
