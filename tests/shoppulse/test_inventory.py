from __future__ import annotations

from shoppulse.events import InventoryEvent
from shoppulse.inventory import SkuLevel, gauges, latest_gauges, merge_level
from shoppulse.minute_book import MinuteBook, OpenMinute
from shoppulse.store_memory import StoreMemory

T0 = 1_700_000_040_000
MIN = 60_000


def stock(i: int, ts: int, sku: str, on_hand: int, reorder: int | None = 5) -> InventoryEvent:
    return InventoryEvent.model_validate(
        {
            "event_id": f"i{i}",
            "store_id": "s1",
            "ts": T0 + ts,
            "sku": sku,
            "on_hand": on_hand,
            "reorder_point": reorder,
        }
    )


def test_equal_times_let_the_newer_arrival_win() -> None:
    levels: dict[str, SkuLevel] = {}
    merge_level(levels, "A", SkuLevel(5, 10))
    merge_level(levels, "A", SkuLevel(5, 7))
    assert levels["A"].on_hand == 7


def test_gauges_without_reorder_point_are_never_low() -> None:
    assert gauges({"A": SkuLevel(1, 1, None)})["low_stock_skus"] == 0


def test_rollup_takes_each_stores_latest_minute_and_sums_stores() -> None:
    out = latest_gauges(
        [
            ("a", 0, {"on_hand_units": 9, "stock_out_skus": 1}),
            ("a", MIN, {"on_hand_units": 4, "stock_out_skus": 2}),
            ("b", 0, {"on_hand_units": 6}),
            ("c", 0, {"orders_paid": 3}),  # no gauges in this minute
        ]
    )
    assert out is not None
    assert (out["on_hand_units"], out["stock_out_skus"]) == (10, 2)
    assert latest_gauges([("c", 0, {"orders_paid": 1})]) is None


def test_final_gauges_carry_levels_forward_and_provisional_include_the_open_minute() -> None:
    book = MinuteBook(window_ms=MIN, grace_ms=0, idle_ms=10_000, max_future_ms=10**12)
    book.ingest(stock(1, 1_000, "A", 3), partition=0, arrival_ms=T0)
    book.ingest(stock(2, MIN + 1_000, "B", 0), partition=0, arrival_ms=T0)
    (first,) = book.due(T0)
    snap = book.close(first, emitted_at_ms=T0)
    assert (snap.components["on_hand_units"], snap.components["low_stock_skus"]) == (3, 1)
    second = book.minutes[("s1", T0 + MIN)]
    prov = book.provisional(second, emitted_at_ms=T0)
    assert (prov.components["skus_tracked"], prov.components["stock_out_skus"]) == (2, 1)
    again = OpenMinute.from_state(second.to_state())
    assert again.levels == second.levels


def test_memory_levels_persist() -> None:
    mem = StoreMemory("s1", 2)
    mem.apply_levels({"A": SkuLevel(1, 4, 5)})
    fresh = StoreMemory("s1", 2)
    for raw in mem.take_changes().values():
        assert raw is not None
        fresh.restore(raw)
    assert (
        fresh.gauges()
        == mem.gauges()
        == {"on_hand_units": 4, "skus_tracked": 1, "low_stock_skus": 1, "stock_out_skus": 0}
    )
