"""Wall-clock time in epoch milliseconds, and UTC day arithmetic.

The view takes a clock as a parameter so tests can pin "now".

>>> utc_day_start_ms(1_700_000_000_123)
1699920000000
>>> utc_day_start_ms(1_699_920_000_000)
1699920000000
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

Clock = Callable[[], int]
"""A function returning the current time in epoch milliseconds."""

DAY_MS: Final = 86_400_000


def wall_clock_ms() -> int:
    """The current wall-clock time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def utc_day_start_ms(ts_ms: int) -> int:
    """The start (00:00 UTC) of the UTC day that holds ``ts_ms``."""
    return ts_ms - ts_ms % DAY_MS
