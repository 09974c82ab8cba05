"""Tumbling event-time windows, aligned to the epoch.

>>> w = TumblingWindow(window_ms=60_000)
>>> w.start_ms(1_700_000_059_999)
1700000040000
>>> w.bounds_ms(1_700_000_000_000)
(1699999980000, 1700000040000)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TumblingWindow:
    """Fixed, non-overlapping windows of ``window_ms`` milliseconds, ``[start, end)``."""

    window_ms: int

    def __post_init__(self) -> None:
        if self.window_ms <= 0:
            raise ValueError("window_ms must be positive")

    def start_ms(self, ts_ms: int) -> int:
        """The start of the window that holds ``ts_ms`` (floor, also for negative times)."""
        return ts_ms - ts_ms % self.window_ms

    def end_ms(self, ts_ms: int) -> int:
        """The exclusive end of the window that holds ``ts_ms``."""
        return self.start_ms(ts_ms) + self.window_ms

    def bounds_ms(self, ts_ms: int) -> tuple[int, int]:
        start = self.start_ms(ts_ms)
        return start, start + self.window_ms
