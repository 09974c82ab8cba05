"""A store's daily target for the target and pace tests."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from shoppulse.target_curves import FLAT_CURVE, Curve
from shoppulse.targets import StoreTarget

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")


def store_target(
    target_minor: int = 2_400_000,
    tz: ZoneInfo = BERLIN,
    curve: Curve = FLAT_CURVE,
    weekdays: dict[int, int] | None = None,
) -> StoreTarget:
    """Store ``s1``'s target in EUR: ``target_minor`` a day, ``weekdays`` overriding it."""
    return StoreTarget("s1", target_minor, "EUR", tz, curve, weekdays or {})
