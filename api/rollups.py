"""A rollup: the components and KPIs of one store (or all stores) over a range of minutes.

:class:`Rollup` is what the REST API and the websockets serve; :func:`finish_rollup` builds one
from summed components and merged sketches (the view, :mod:`api.view`, and the rollup cache,
:mod:`api.rollup_cache`, both end there). :data:`Window` names the rollup windows and
:data:`ALL_STORES` the pseudo store id that rolls every store up.

Rollups add the minutes' additive components with
:func:`shoppulse.components.sum_values` and derive KPIs with
:func:`shoppulse.kpis.derive_kpis` (ratio of sums). Distinct counts (visitors,
sessions) are exact inside one store-minute only; a rollup over several
minutes or stores reports them, and every KPI derived from them, as ``None``
and lists them under ``unavailable_components`` / ``unavailable_kpis``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

from api.minute_pack import PackedSketches
from shoppulse.components import DISTINCT_COMPONENTS
from shoppulse.hll import HyperLogLog
from shoppulse.kpis import REGISTRY, derive_kpis, kpi_inputs
from shoppulse.snapshot import KpiSnapshot
from shoppulse.timeutil import format_ts_ms

Window = Literal["1m", "5m", "1h", "today"]
"""A rollup window: the latest minute, the last 5 minutes, the last hour, today (UTC)."""

WINDOWS: Final[tuple[Window, ...]] = get_args(Window)
ALL_STORES: Final = "all"
"""The pseudo store id that rolls all stores up."""

DISTINCT_NOTE: Final = (
    "visitors and sessions are distinct counts: they are exact for one store-minute but cannot "
    "be summed across minutes or stores; some minutes here carry no sketch to merge, so they "
    "and the KPIs derived from them are null"
)
SKETCH_NOTE: Final = (
    "visitors and sessions over several minutes or stores are HyperLogLog estimates from "
    "merged minute sketches (relative standard error {rse:.2%}); one store-minute is exact"
)


def merge_sketches(encoded: Iterable[str | HyperLogLog | None]) -> HyperLogLog | None:
    """The union of sketches, base64 or decoded (those are not modified); None when any is
    missing or unreadable.

    >>> a, b = HyperLogLog(), HyperLogLog()
    >>> a.update(["v1", "v2"]); b.update(["v2", "v3"])
    >>> merge_sketches([a.to_base64(), b.to_base64()]).count()
    3
    >>> merge_sketches([a, b.to_base64()]).count(), a.count()
    (3, 2)
    >>> merge_sketches([a.to_base64(), None]) is None
    True
    """
    merged: HyperLogLog | None = None
    for item in encoded:
        if item is None:
            return None
        if isinstance(item, HyperLogLog):
            sketch = item if merged is not None else item.copy()
        else:
            try:
                sketch = HyperLogLog.from_base64(item)
            except ValueError:
                return None
        if merged is None:
            merged = sketch
        else:
            try:
                merged.merge_into(sketch)
            except ValueError:  # different precisions
                return None
    return merged


def minute_sketch(snapshot: KpiSnapshot, name: str) -> str | HyperLogLog | None:
    """A minute's sketch of ``name`` for :func:`merge_sketches`: decoded when the view holds
    it packed (:class:`api.minute_pack.PackedSketches`), else its base64 text, or None."""
    sketches = snapshot.sketches
    if isinstance(sketches, PackedSketches):
        return sketches.sketch(name)
    return sketches.get(name)


_KPI_INPUTS: Final[dict[str, frozenset[str]]] = {k.name: kpi_inputs(k) for k in REGISTRY}


def _is_money_component(name: str) -> bool:
    return name.endswith("_minor")


@dataclass(frozen=True, slots=True)
class Rollup:
    """Components and KPIs of one store (or all stores) over ``[start_ms, end_ms)``."""

    store_id: str
    window: str
    start_ms: int
    end_ms: int
    minutes: int
    """How many store-minute snapshots contributed."""
    store_count: int
    final: bool
    """True when every contributing minute is final (False for an empty rollup)."""
    revision: int | None
    """The snapshot's revision when exactly one snapshot contributed, else None."""
    currency: str | None
    components: Mapping[str, int | None]
    kpis: Mapping[str, float | None]
    unavailable_components: tuple[str, ...] = ()
    unavailable_kpis: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    approximate_components: tuple[str, ...] = ()
    """Distinct counts estimated from merged sketches (see ``relative_standard_error``)."""
    relative_standard_error: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (the REST and websocket shape)."""
        return {
            "store_id": self.store_id,
            "window": self.window,
            "window_start": format_ts_ms(self.start_ms),
            "window_end": format_ts_ms(self.end_ms),
            "window_start_ms": self.start_ms,
            "window_end_ms": self.end_ms,
            "minutes": self.minutes,
            "store_count": self.store_count,
            "final": self.final,
            "revision": self.revision,
            "currency": self.currency,
            "components": dict(self.components),
            "kpis": dict(self.kpis),
            "unavailable_components": list(self.unavailable_components),
            "unavailable_kpis": list(self.unavailable_kpis),
            "notes": list(self.notes),
            "approximate_components": list(self.approximate_components),
            "relative_standard_error": self.relative_standard_error,
        }


def finish_rollup(
    values: dict[str, int],
    sketches: Mapping[str, HyperLogLog | None] | None,
    currencies: Iterable[str],
    *,
    store_id: str,
    window: str,
    start_ms: int,
    end_ms: int,
    minutes: int,
    store_count: int,
    final: bool,
    revision: int | None,
) -> Rollup:
    """The rollup of summed components ``values`` (``values`` is updated).

    ``sketches`` holds each distinct component's merged sketch (None: not mergeable, so the
    component and its KPIs are unavailable); ``sketches=None`` means ``values`` holds exact
    distinct counts (one store-minute). Money is unavailable across several ``currencies``.
    """
    unavailable: set[str] = set()
    approximate: list[str] = []
    rse: float | None = None
    notes: list[str] = []
    if sketches is not None:
        for name in DISTINCT_COMPONENTS:
            merged = sketches.get(name)
            if merged is None:
                unavailable.add(name)
            else:
                values[name] = merged.count()
                approximate.append(name)
                rse = merged.relative_standard_error
        if unavailable:
            notes.append(DISTINCT_NOTE)
        if rse is not None:
            notes.append(SKETCH_NOTE.format(rse=rse))
    money = sorted(currencies)
    mixed = len(money) > 1
    if mixed:
        unavailable.update(n for n in values if _is_money_component(n))
        notes.append(
            f"stores report different currencies ({', '.join(money)}): "
            "money values cannot be added and are null"
        )
    components: dict[str, int | None] = {
        name: (None if name in unavailable else value) for name, value in values.items()
    }
    for name in sorted(unavailable):
        components[name] = None
    kpis = derive_kpis(values, window_ms=max(end_ms - start_ms, 1))
    unavailable_kpis = {
        k.name
        for k in REGISTRY
        if _KPI_INPUTS[k.name] & unavailable or (mixed and k.unit == "minor_currency")
    }
    for name in unavailable_kpis:
        kpis[name] = None
    return Rollup(
        store_id=store_id,
        window=window,
        start_ms=start_ms,
        end_ms=end_ms,
        minutes=minutes,
        store_count=store_count,
        final=final,
        revision=revision,
        currency=money[0] if len(money) == 1 else None,
        components=components,
        kpis=kpis,
        unavailable_components=tuple(sorted(unavailable)),
        unavailable_kpis=tuple(sorted(unavailable_kpis)),
        notes=tuple(notes),
        approximate_components=tuple(approximate),
        relative_standard_error=rse,
    )


__all__ = [
    "ALL_STORES",
    "DISTINCT_NOTE",
    "SKETCH_NOTE",
    "WINDOWS",
    "Rollup",
    "Window",
    "finish_rollup",
    "merge_sketches",
    "minute_sketch",
]
