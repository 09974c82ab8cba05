"""Where a simulated store is: its currency, a price scale and its region's UTC offset."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

#: Currency, a price scale (minor units per euro cent) and the store's UTC offset in minutes.
ROTATION: Final[tuple[tuple[str, float, int], ...]] = (
    ("EUR", 1.0, 60),
    ("USD", 1.1, -300),
    ("GBP", 0.85, 0),
    ("SEK", 11.0, 60),
    ("PLN", 4.3, 60),
    ("CHF", 0.95, 60),
    ("JPY", 1.6, 540),
)

#: Regions a store is only placed in by name (``Simulator(currencies=...)``), not by default.
MORE_REGIONS: Final[tuple[tuple[str, float, int], ...]] = (("INR", 90.0, 330),)
REGIONS: Final = {c: (scale, offset) for c, scale, offset in (*ROTATION, *MORE_REGIONS)}
CURRENCIES: Final[tuple[str, ...]] = tuple(REGIONS)
"""The currencies a simulated store may have (``Simulator(currencies=...)``)."""


def region_offset_min(currency: str) -> int:
    """The UTC offset (minutes) of a simulated store with this currency.

    >>> region_offset_min("JPY"), region_offset_min("USD"), region_offset_min("INR")
    (540, -300, 330)
    """
    return REGIONS[currency][1]


def store_currency(index: int, given: Sequence[str] = ()) -> str:
    """The currency of the ``index``-th store (from 1): the ``given`` one, else the rotation's.

    >>> [store_currency(i, ["INR"]) for i in (1, 2, 8)]
    ['INR', 'USD', 'EUR']
    """
    if index <= len(given):
        return given[index - 1]
    return ROTATION[(index - 1) % len(ROTATION)][0]
