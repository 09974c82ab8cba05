"""Stock levels per SKU and the store-level inventory gauges derived from them.

``shop.inventory`` carries absolute levels. A store-minute's gauges describe the
stock *at the end of the minute*: for each SKU the level of its latest update
(by event time; among equal times, the one processed last) before the minute's
end. Gauges are levels, not flows: a rollup over several minutes takes each
store's latest minute and sums across stores, never sums over time.

A store without a ``shop.inventory`` feed has no level at all: its gauges are all 0,
``skus_tracked`` included. That means "no stock data", not "0 units on hand"
(:func:`has_stock_data`); the stock KPIs are null and no stock signal fires for it.

>>> levels: dict[str, SkuLevel] = {}
>>> merge_level(levels, "A", SkuLevel(ts_ms=2, on_hand=0, reorder_point=5))
>>> merge_level(levels, "A", SkuLevel(ts_ms=1, on_hand=9, reorder_point=5))  # older: ignored
>>> merge_level(levels, "B", SkuLevel(ts_ms=1, on_hand=3, reorder_point=5))
>>> gauges(levels)
{'on_hand_units': 3, 'skus_tracked': 2, 'low_stock_skus': 1, 'stock_out_skus': 1}
>>> has_stock_data(gauges(levels)), has_stock_data(gauges({})), has_stock_data({})
(True, False, False)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

#: Component names of the inventory gauges, in a stable order.
GAUGE_COMPONENTS: Final[tuple[str, ...]] = (
    "on_hand_units",
    "skus_tracked",
    "low_stock_skus",
    "stock_out_skus",
)


@dataclass(frozen=True, slots=True)
class SkuLevel:
    ts_ms: int
    on_hand: int
    reorder_point: int | None = None

    def to_list(self) -> list[int | None]:
        return [self.ts_ms, self.on_hand, self.reorder_point]

    @classmethod
    def from_list(cls, data: list[int | None]) -> SkuLevel:
        ts, on_hand, reorder = data
        return cls(int(ts or 0), int(on_hand or 0), None if reorder is None else int(reorder))


def merge_level(levels: dict[str, SkuLevel], sku: str, level: SkuLevel) -> None:
    """Keep the later level of a SKU (equal event times: the newer arrival wins)."""
    current = levels.get(sku)
    if current is None or level.ts_ms >= current.ts_ms:
        levels[sku] = level


def gauges(levels: Mapping[str, SkuLevel]) -> dict[str, int]:
    """On-hand units, SKUs tracked, low-stock SKUs (0 < on hand <= reorder point), stock-outs."""
    out = dict.fromkeys(GAUGE_COMPONENTS, 0)
    for level in levels.values():
        out["on_hand_units"] += level.on_hand
        out["skus_tracked"] += 1
        if level.on_hand == 0:
            out["stock_out_skus"] += 1
        elif level.reorder_point is not None and level.on_hand <= level.reorder_point:
            out["low_stock_skus"] += 1
    return out


def has_stock_data(values: Mapping[str, int]) -> bool:
    """Whether components describe stock: at least one SKU tracked (``skus_tracked`` > 0).

    ``skus_tracked`` is 0 (or missing) until the store's first ``shop.inventory`` update:
    the other gauges are then 0 for want of data, not because a SKU is at 0. Once a SKU has
    a level it keeps one, so a store with a feed does not go back to having none.
    """
    return values.get("skus_tracked", 0) > 0


def latest_gauges(minutes: Iterable[tuple[str, int, Mapping[str, int]]]) -> dict[str, int] | None:
    """Roll gauges up: each store's latest minute that carries them, summed over stores.

    ``minutes`` are ``(store_id, window_start_ms, components)``; None when none has gauges.

    >>> latest_gauges([("a", 0, {"on_hand_units": 5}), ("a", 60_000, {"on_hand_units": 4}),
    ...                ("b", 0, {"on_hand_units": 10})])["on_hand_units"]
    14
    """
    latest: dict[str, tuple[int, Mapping[str, int]]] = {}
    for store_id, start_ms, values in minutes:
        if GAUGE_COMPONENTS[0] not in values:
            continue
        seen = latest.get(store_id)
        if seen is None or start_ms > seen[0]:
            latest[store_id] = (start_ms, values)
    if not latest:
        return None
    out = dict.fromkeys(GAUGE_COMPONENTS, 0)
    for _, values in latest.values():
        for name in GAUGE_COMPONENTS:
            out[name] += values.get(name, 0)
    return out
