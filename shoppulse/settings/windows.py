"""Event-time windows: what a minute is and when it closes (worker, API, producers)."""

from __future__ import annotations

from pydantic import Field

from shoppulse.settings.base import ShopPulseSettings


class WindowSettings(ShopPulseSettings):
    """Window length, grace for late events, how far ahead events may be, when minutes close.

    >>> WindowSettings(grace_s=2.5).grace_ms
    2500
    """

    help_title = "event-time windows"

    window_s: int = Field(default=60, ge=1)
    grace_s: float = Field(default=5.0, ge=0)
    idle_close_s: float = Field(
        default=10.0,
        gt=0,
        description="Silence after which a store's minutes that ended (plus grace) by the "
        "wall clock close, such as a finished backfill's last minute (ADR 17).",
    )
    max_future_skew_s: float = Field(
        default=300.0,
        ge=0,
        description="Events further ahead of the worker's clock are dead-lettered; a minute"
        " can open this far ahead, which bounds where a restarted API resumes (ADR 24).",
    )

    @property
    def window_ms(self) -> int:
        return self.window_s * 1000

    @property
    def grace_ms(self) -> int:
        return int(self.grace_s * 1000)
