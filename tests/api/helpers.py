"""Helpers of the API tests: a pinned clock and a snapshot builder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shoppulse.snapshot import KpiSnapshot

MIN = 60_000
#: 2024-05-01T12:00:30Z: half a minute into 12:00 UTC.
NOW_MS = 1_714_564_830_000
MINUTE = NOW_MS - NOW_MS % MIN


@dataclass
class FakeClock:
    """A settable clock (epoch ms)."""

    now_ms: int = NOW_MS

    def __call__(self) -> int:
        return self.now_ms


SnapFactory = Callable[..., KpiSnapshot]


def make_snap(
    store: str = "s1",
    start: int = MINUTE,
    revision: int = 1,
    *,
    final: bool = False,
    currency: str | None = "EUR",
    **components: int,
) -> KpiSnapshot:
    """A snapshot with sensible default components, overridable by keyword."""
    values = {
        "orders_paid": 2,
        "gmv_minor": 3000,
        "impressions": 100,
        "product_views": 20,
        "add_to_cart": 5,
        "visitors": 30,
        "sessions": 40,
    }
    values.update(components)
    return KpiSnapshot(
        store_id=store,
        window_start_ms=start,
        window_end_ms=start + MIN,
        final=final,
        revision=revision,
        currency=currency,
        components=values,
        emitted_at_ms=start + MIN,
    )
