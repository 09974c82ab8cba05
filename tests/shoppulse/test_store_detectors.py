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
