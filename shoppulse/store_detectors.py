"""Per-store anomaly and inventory-risk signals from closed minutes, in the alert shape.

:class:`StoreDetectors` runs every detector of ``shoppulse.detectors.DETECTORS``
on each final store-minute (scoring before learning) and three inventory rules on
the minute's stock gauges: a stock-out (a SKU at 0), low stock (a SKU at or under
its reorder point) and a projected stock-out (units on hand divided by the store's
smoothed sales velocity falls within ``horizon_h``). The inventory rules need stock
data (``shoppulse.inventory.has_stock_data``: at least one SKU tracked): a store
without a ``shop.inventory`` feed has gauges of 0 that say nothing about its stock, so
none of them holds there, and one still firing resolves. Every state change becomes a
Prometheus-shaped alert (``shoppulse.alert_shape``): these are *signals*, which the
alert rules will turn into notifications.

>>> from shoppulse.snapshot import KpiSnapshot
>>> sd = StoreDetectors("s1", horizon_h=24.0)
>>> snap = KpiSnapshot(store_id="s1", window_start_ms=1_700_000_040_000,
...     window_end_ms=1_700_000_100_000, final=True, revision=1, currency="EUR",
...     components={"stock_out_skus": 2, "skus_tracked": 9}, emitted_at_ms=0)
>>> [(a["labels"]["alertname"], a["status"]) for a in sd.on_final(snap)]
[('stock_out', 'firing')]
>>> sd.on_final(snap)  # the same minute again (a re-published final): nothing new
[]
>>> no_feed = StoreDetectors("s2")  # orders with units, but no SKU has a level
>>> no_feed.on_final(KpiSnapshot(store_id="s2", window_start_ms=1_700_000_040_000,
...     window_end_ms=1_700_000_100_000, final=True, revision=1, currency="EUR",
...     components={"units_sold": 5, "on_hand_units": 0, "skus_tracked": 0}, emitted_at_ms=0))
[]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from shoppulse.alert_shape import Severity, alert
from shoppulse.detectors import (
    Detector,
    DetectorOutput,
    DetectorSpec,
    Sensitivity,
    detector_specs,
)
from shoppulse.inventory import has_stock_data
from shoppulse.seasonal import SeasonalBaseline
from shoppulse.snapshot import KpiSnapshot

#: Fading of the store's sales velocity (units per minute), per minute.
_VELOCITY_FADING: Final = 0.02
#: Detectors that watch the same series in the other direction: while one fires, the other
#: scores without learning (what one fires on must not become the other's normal).
_SIBLINGS: Final[dict[str, frozenset[str]]] = {
    "traffic_drop": frozenset({"traffic_spike"}),
    "traffic_spike": frozenset({"traffic_drop"}),
}
_SEVERITY: Final[dict[str, Severity]] = {
    "checkout_outage": "critical",
    "stock_out": "critical",
}


@dataclass(slots=True)
class StoreDetectors:
    store_id: str
    horizon_h: float = 24.0
    warmup: int = 30
    detectors: dict[str, Detector] = field(default_factory=dict)
    firing_since_ms: dict[str, int] = field(default_factory=dict)
    last_window_ms: int = -1
    velocity_per_min: float | None = None
    sensitivity: Sensitivity = "default"
    """The detectors' thresholds (``shoppulse.detectors.detector_specs``): a setting of the
    worker, not part of the state."""

    def __post_init__(self) -> None:
        for spec in detector_specs(self.sensitivity):
            self.detectors.setdefault(
                spec.name, Detector(spec, SeasonalBaseline(warmup=self.warmup))
            )

    def on_final(self, snap: KpiSnapshot) -> list[dict[str, Any]]:
        """Signals for one final minute; minutes at or before the last one are ignored."""
        if not snap.final or snap.window_start_ms <= self.last_window_ms:
            return []
        self.last_window_ms = snap.window_start_ms
        out: list[dict[str, Any]] = []
        firing = {name for name, det in self.detectors.items() if det.firing}
        for name, det in self.detectors.items():
            value, den = det.spec.observe(snap.components)
            learn = not (firing & _SIBLINGS.get(name, frozenset()))
            result = det.update(snap.window_start_ms, value, den, learn=learn)
            if result.change is not None:
                out.append(self._detector_alert(det.spec, result, snap, value, den))
        out.extend(self._inventory(snap))
        return out

    # -- detectors -----------------------------------------------------------------------

    def _detector_alert(
        self,
        spec: DetectorSpec,
        result: DetectorOutput,
        snap: KpiSnapshot,
        value: float,
        den: float,
    ) -> dict[str, Any]:
        observed: float | None = value
        expected, band = result.expected, result.band
        if spec.kind == "rate":
            # The expectation is a count given the denominator the detector judged with (a
            # lagged rate's is the mean over its lag), so it is turned into a rate by that one.
            judged = result.denominator
            observed = value / den if den else None
            expected = expected / judged if expected is not None and judged else None
            band = band / judged if band is not None and judged else None
        unit = "/min" if spec.kind == "count" else ""
        what = f"{self.store_id}: {spec.quantity} {_fmt(observed)}{unit}"
        usual = f"expected {_fmt(expected)} ± {_fmt(band)}" if band is not None else "n/a"
        details = {"band": f"{band:.6g}"} if band is not None else {}
        if result.change == "firing":
            description = f"{what}, {usual} (anomaly score {result.score:.2f})"
        elif result.new_level is not None:
            held = _settle_words(spec)
            description = (
                f"{what}: held for {held} at about {result.new_level:.0%} of the usual level; "
                f"taken as the new normal, alerts now judge against it"
            )
            details["new_level"] = f"{result.new_level:.4g}"
        else:
            description = f"{what}, back within the usual ({usual})"
        return self._transition(
            spec.name,
            spec.kpi,
            result.change == "firing",
            snap,
            observed,
            expected,
            spec.title,
            description,
            details,
        )

    # -- inventory rules -----------------------------------------------------------------

    def _inventory(self, snap: KpiSnapshot) -> list[dict[str, Any]]:
        """The inventory rules' state changes. Without stock data none holds (a firing one
        resolves); the sales velocity learns from every minute, so that a feed that starts
        later is projected at once."""
        c = snap.components
        sold = c.get("units_sold", 0)
        v = self.velocity_per_min
        self.velocity_per_min = float(sold) if v is None else v + _VELOCITY_FADING * (sold - v)
        stocked = has_stock_data(c)
        out = []
        stock_out, low = c.get("stock_out_skus", 0), c.get("low_stock_skus", 0)
        on_hand = c.get("on_hand_units", 0)
        hours = self.projected_stockout_h(on_hand) if stocked else None
        rules: list[tuple[str, bool, float | None, float | None, str]] = [
            (
                "stock_out",
                stocked and stock_out > 0,
                float(stock_out),
                0.0,
                f"{self.store_id}: {stock_out} SKU(s) out of stock",
            ),
            (
                "low_stock",
                stocked and low > 0,
                float(low),
                0.0,
                f"{self.store_id}: {low} SKU(s) at or under their reorder point",
            ),
        ]
        rules.append(
            (
                "stockout_projected",
                hours is not None and hours <= self.horizon_h,
                hours,
                self.horizon_h,
                f"{self.store_id}: at the current sales velocity the stock on hand "
                f"({on_hand} units) lasts {_fmt(hours)} h, within the {self.horizon_h:g} h horizon",
            )
        )
        for name, active, value, expected, description in rules:
            if not stocked:
                description = f"{self.store_id}: no stock data (no SKU has a level yet)"
            if active != (name in self.firing_since_ms):
                out.append(
                    self._transition(
                        name,
                        _INVENTORY_KPI[name],
                        active,
                        snap,
                        value,
                        expected,
                        _INVENTORY_TITLE[name],
                        description,
                    )
                )
        return out

    def projected_stockout_h(self, on_hand: int) -> float | None:
        v = self.velocity_per_min
        if not v or v <= 0:
            return None
        return on_hand / (v * 60.0)

    # -- shared --------------------------------------------------------------------------

    def _transition(
        self,
        name: str,
        kpi: str,
        firing: bool,
        snap: KpiSnapshot,
        value: float | None,
        expected: float | None,
        summary: str,
        description: str,
        details: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        if firing:
            self.firing_since_ms[name] = snap.window_start_ms
            starts, ends = snap.window_start_ms, None
        else:
            starts = self.firing_since_ms.pop(name, snap.window_start_ms)
            ends = snap.window_end_ms
        return alert(
            name=name,
            store_id=self.store_id,
            kpi=kpi,
            severity=_SEVERITY.get(name, "warning"),
            status="firing" if firing else "resolved",
            starts_at_ms=starts,
            ends_at_ms=ends,
            value=value,
            expected=expected,
            summary=summary,
            description=description,
            details=details,
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "store_id": self.store_id,
            "horizon_h": self.horizon_h,
            "warmup": self.warmup,
            "detectors": {n: d.to_state() for n, d in self.detectors.items()},
            "firing_since_ms": self.firing_since_ms,
            "last_window_ms": self.last_window_ms,
            "velocity_per_min": self.velocity_per_min,
        }

    @classmethod
    def from_state(
        cls, data: dict[str, Any], sensitivity: Sensitivity = "default"
    ) -> StoreDetectors:
        specs = {s.name: s for s in detector_specs(sensitivity)}
        detectors = {
            n: Detector.from_state(specs[n], d) for n, d in data["detectors"].items() if n in specs
        }
        return cls(
            data["store_id"],
            float(data["horizon_h"]),
            int(data.get("warmup", 30)),
            detectors,
            {str(k): int(v) for k, v in data["firing_since_ms"].items()},
            int(data["last_window_ms"]),
            data.get("velocity_per_min"),
            sensitivity,
        )


_INVENTORY_KPI: Final = {
    "stock_out": "stock_out_skus",
    "low_stock": "low_stock_skus",
    "stockout_projected": "projected_stockout_h",
}
_INVENTORY_TITLE: Final = {
    "stock_out": "Stock-out",
    "low_stock": "Low stock",
    "stockout_projected": "Stock-out projected within the horizon",
}


def _settle_words(spec: DetectorSpec) -> str:
    """How long an alarm holds before it takes the level as the new normal, in words."""
    minutes = spec.settle_minutes or 0
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _fmt(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.4g}"
