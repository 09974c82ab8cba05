from __future__ import annotations

from shoppulse.snapshot import KpiSnapshot
from shoppulse.store_detectors import StoreDetectors

T0 = 1_700_000_040_000
MIN = 60_000


def minute(i: int, **components: int) -> KpiSnapshot:
    return KpiSnapshot(
        store_id="s1",
        window_start_ms=T0 + i * MIN,
        window_end_ms=T0 + (i + 1) * MIN,
        final=True,
        revision=1,
        currency="EUR",
        components=components,
        emitted_at_ms=0,
    )


def names(alerts: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(a["labels"]["alertname"], a["status"]) for a in alerts]  # type: ignore[index]


def test_projected_stockout_fires_within_the_horizon_and_resolves_on_restock() -> None:
    sd = StoreDetectors("s1", horizon_h=2.0)
    out = names(sd.on_final(minute(0, skus_tracked=3, on_hand_units=600, units_sold=10)))
    assert out == [("stockout_projected", "firing")]  # 600 units at 10 a minute: 1 h
    assert sd.on_final(minute(1, skus_tracked=3, on_hand_units=590, units_sold=10)) == []
    restocked = sd.on_final(minute(2, skus_tracked=3, on_hand_units=90_000, units_sold=10))
    assert names(restocked) == [("stockout_projected", "resolved")]
    assert restocked[0]["endsAt"] is not None
    assert restocked[0]["startsAt"] == "2023-11-14T22:14:00.000Z"


def test_provisional_and_repeated_minutes_are_ignored() -> None:
    sd = StoreDetectors("s1")
    prov = minute(0, stock_out_skus=1, skus_tracked=1)
    object.__setattr__(prov, "final", False)
    assert sd.on_final(prov) == []
    assert names(sd.on_final(minute(0, stock_out_skus=1, skus_tracked=1))) == [
        ("stock_out", "firing")
    ]
    assert sd.on_final(minute(0, stock_out_skus=1, skus_tracked=1)) == []


def test_state_round_trip_keeps_firing_alerts_and_detectors() -> None:
    sd = StoreDetectors("s1", warmup=5)
    sd.on_final(minute(0, stock_out_skus=2, skus_tracked=4))
    again = StoreDetectors.from_state(sd.to_state())
    assert again.firing_since_ms == {"stock_out": T0}
    assert again.to_state() == sd.to_state()
    resolved = again.on_final(minute(1, stock_out_skus=0, skus_tracked=4))
    assert names(resolved) == [("stock_out", "resolved")]


#: The gauges of a store with no ``shop.inventory`` feed: no SKU has a level yet.
NO_STOCK_DATA = {"on_hand_units": 0, "skus_tracked": 0, "low_stock_skus": 0, "stock_out_skus": 0}
STOCK_SIGNALS = {"stock_out", "low_stock", "stockout_projected"}


def test_a_store_without_stock_data_raises_no_stock_signal() -> None:
    """Orders only: 0 units on hand there means "unknown", not "sold out"."""
    sd = StoreDetectors("s1", horizon_h=24.0, warmup=5)
    out = [a for i in range(90) for a in sd.on_final(minute(i, units_sold=12, **NO_STOCK_DATA))]
    assert not {name for name, _ in names(out)} & STOCK_SIGNALS
    assert sd.firing_since_ms == {}


def test_a_stock_signal_firing_without_stock_data_resolves() -> None:
    """A state saved while stockout_projected fired on missing data (before stock signals
    needed it) is resolved by the next minute, not left firing for good."""
    sd = StoreDetectors("s1", horizon_h=24.0)
    sd.firing_since_ms["stockout_projected"] = T0
    sd.velocity_per_min = 12.0
    sd.last_window_ms = T0
    out = sd.on_final(minute(1, units_sold=12, **NO_STOCK_DATA))
    assert names(out) == [("stockout_projected", "resolved")]
    assert out[0]["annotations"]["description"] == "s1: no stock data (no SKU has a level yet)"
    assert sd.firing_since_ms == {}


def test_a_tracked_sku_at_zero_still_fires_every_stock_signal() -> None:
    sd = StoreDetectors("s1", horizon_h=24.0)
    gauges = {"on_hand_units": 0, "skus_tracked": 1, "low_stock_skus": 0, "stock_out_skus": 1}
    out = names(sd.on_final(minute(0, units_sold=12, **gauges)))
    assert sorted(out) == [("stock_out", "firing"), ("stockout_projected", "firing")]


def test_sales_velocity_is_learnt_before_the_stock_feed_starts() -> None:
    sd = StoreDetectors("s1", horizon_h=2.0)
    for i in range(30):
        sd.on_final(minute(i, units_sold=10, **NO_STOCK_DATA))
    # The feed's first minute sells nothing; the velocity of the 30 minutes before holds:
    # 600 units at about 10 a minute last about an hour.
    feed = {"on_hand_units": 600, "skus_tracked": 3, "low_stock_skus": 0, "stock_out_skus": 0}
    out = names(sd.on_final(minute(30, units_sold=0, **feed)))
    assert out == [("stockout_projected", "firing")]


def test_traffic_that_drops_and_comes_back_pages_once_not_again_as_a_spike() -> None:
    """While traffic_drop fires, traffic_spike scores without learning: the drop does not
    become its normal, so the return to the usual traffic is no spike."""
    import random

    rng = random.Random(1)
    sd = StoreDetectors("s1", warmup=20)
    day = 1440
    signals = []
    for i in range(3 * day + 240):
        dropped = 3 * day <= i < 3 * day + 90
        sessions = rng.randint(180, 220) // (3 if dropped else 1)
        out = sd.on_final(minute(i, sessions=sessions))
        signals += [(i - 3 * day, *pair) for pair in names(out)]
    assert [s for s in signals if s[0] < 0] == []
    assert [s[1:] for s in signals] == [("traffic_drop", "firing"), ("traffic_drop", "resolved")]
    assert signals[1][0] <= 120  # resolved soon after the traffic came back


def test_a_lagged_rate_s_expected_value_is_a_rate_not_a_count() -> None:
    """checkout_outage judges paid orders against the checkouts of the last four minutes: its
    signal's expected value is paid orders per checkout (about 0.7 here), not a count."""
    sd = StoreDetectors("s1", warmup=20)
    out: list[dict[str, object]] = []
    for i in range(2 * 1440 + 30):
        outage = i >= 2 * 1440
        out += sd.on_final(minute(i, checkouts=10, orders_paid=0 if outage else 7, sessions=200))
    (fired,) = [a for a in out if a["labels"]["alertname"] == "checkout_outage"]  # type: ignore[index]
    assert fired["value"] == 0.0
    assert 0.6 < float(fired["expected"]) < 0.8  # type: ignore[arg-type]
