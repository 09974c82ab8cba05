"""The API's clock type, wall-clock time (from :mod:`shoppulse.timeutil`) and UTC day arithmetic.

The view takes a clock as a parameter so tests can pin "now".

>>> utc_day_start_ms(1_700_000_000_123)
1699920000000
>>> utc_day_start_ms(1_699_920_000_000)
1699920000000
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from shoppulse.timeutil import wall_clock_ms

Clock = Callable[[], int]
"""A function returning the current time in epoch milliseconds."""

DAY_MS: Final = 86_400_000


def utc_day_start_ms(ts_ms: int) -> int:
    """The start (00:00 UTC) of the UTC day that holds ``ts_ms``."""
    return ts_ms - ts_ms % DAY_MS


__all__ = ["DAY_MS", "Clock", "utc_day_start_ms", "wall_clock_ms"]
