"""Prometheus names of the KPIs: one gauge family per registry KPI, in base units.

The API exports every KPI of :data:`shoppulse.kpis.REGISTRY` as
``shoppulse_kpi_<stem><suffix>`` with the labels ``store_id`` (a store or ``all``),
``window`` (``1m``, ``5m``, ``1h``, ``today``) and ``period`` (``current``, or
``yesterday``: the same window one day earlier). Prometheus names carry base units
(``promtool check metrics`` rejects hours, days and abbreviations such as ``_s``), so
the registry's unit picks the suffix and a scale factor:

=================  ====================  ============  ==================================
registry unit      suffix                scale         example
=================  ====================  ============  ==================================
minor_currency     ``_minor``            1             ``shoppulse_kpi_gmv_minor``
count              (none)                1             ``shoppulse_kpi_orders``
ratio              ``_ratio``            1             ``shoppulse_kpi_ctr_ratio``
score, rating      (none)                1             ``shoppulse_kpi_nps``
seconds            ``_seconds``          1             ``..._first_response_p50_seconds``
hours              ``_seconds``          3600          ``..._fulfilment_p50_seconds``
days               ``_seconds``          86400         ``shoppulse_kpi_stock_cover_seconds``
units_per_hour     ``_units_per_second`` 1/3600        ``..._sales_velocity_units_per_second``
=================  ====================  ============  ==================================

A unit suffix already in the registry name (``_s``, ``_h``, ``_minor``,
``_units_per_h``) is replaced, not repeated. Money stays in minor units (cents): a
store's currency is the ``currency`` label of ``shoppulse_store_info``.

>>> from shoppulse.kpis import KPI_BY_NAME
>>> for name in ("gmv_minor", "orders", "ctr", "first_response_p90_s", "fulfilment_p50_h",
...              "days_of_cover", "sales_velocity_units_per_h", "nps"):
...     m = kpi_metric(KPI_BY_NAME[name])
...     print(f"{name:28} {m.name:48} {m.scale:g}")
gmv_minor                    shoppulse_kpi_gmv_minor                          1
orders                       shoppulse_kpi_orders                             1
ctr                          shoppulse_kpi_ctr_ratio                          1
first_response_p90_s         shoppulse_kpi_first_response_p90_seconds         1
fulfilment_p50_h             shoppulse_kpi_fulfilment_p50_seconds             3600
days_of_cover                shoppulse_kpi_stock_cover_seconds                86400
sales_velocity_units_per_h   shoppulse_kpi_sales_velocity_units_per_second    0.000277778
nps                          shoppulse_kpi_nps                                1
>>> kpi_metric(KPI_BY_NAME["fulfilment_p50_h"]).to_metric(2.5)
9000.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from shoppulse.kpis import REGISTRY, KpiDef, Unit

KPI_METRIC_PREFIX: Final = "shoppulse_kpi_"
KPI_LABELS: Final[tuple[str, str, str]] = ("store_id", "window", "period")
"""The labels of every KPI gauge, in this order."""
KPI_WINDOWS: Final[tuple[str, ...]] = ("1m", "5m", "1h", "today")
"""``window`` label values: the latest minute, the last 5 minutes and hour, today (UTC)."""
PERIODS: Final[tuple[str, str]] = ("current", "yesterday")
"""``period`` label values: the window now, and the same window one day earlier."""


@dataclass(frozen=True, slots=True)
class _UnitRule:
    strip: str
    """A unit suffix of the registry name that the Prometheus suffix replaces."""
    suffix: str
    scale: float
    description: str


_UNIT_RULES: Final[dict[Unit, _UnitRule]] = {
    "minor_currency": _UnitRule("_minor", "_minor", 1.0, "minor currency units (cents)"),
    "count": _UnitRule("", "", 1.0, "count"),
    "ratio": _UnitRule("", "_ratio", 1.0, "ratio"),
    "score": _UnitRule("", "", 1.0, "score"),
    "rating": _UnitRule("", "", 1.0, "rating"),
    "seconds": _UnitRule("_s", "_seconds", 1.0, "seconds"),
    "hours": _UnitRule("_h", "_seconds", 3600.0, "seconds (the registry's hours x 3600)"),
    "days": _UnitRule("", "_seconds", 86_400.0, "seconds (the registry's days x 86400)"),
    "units_per_hour": _UnitRule(
        "_units_per_h", "_units_per_second", 1 / 3600, "units per second (per hour / 3600)"
    ),
}

_STEM_OVERRIDES: Final[dict[str, str]] = {
    # "days" in a name is a non-base unit to promtool; the quantity is the stock's cover.
    "days_of_cover": "stock_cover",
}


@dataclass(frozen=True, slots=True)
class KpiMetric:
    """How one KPI appears in Prometheus."""

    kpi: KpiDef
    name: str
    scale: float
    """Multiply the registry value by this to get the metric value (base units)."""
    unit: str
    """What the metric's value is measured in, in words."""

    @property
    def help(self) -> str:
        """The family's HELP text."""
        return (
            f"{self.kpi.title} ({self.kpi.group} KPI {self.kpi.name}), in {self.unit}: "
            f"{self.kpi.description} By store_id (or all), window and period."
        )

    def to_metric(self, value: float) -> float:
        """A registry value in the metric's base unit."""
        return value * self.scale if self.scale != 1.0 else value


def kpi_metric(kpi: KpiDef) -> KpiMetric:
    """The Prometheus name, scale and unit of ``kpi`` (see the module docstring)."""
    rule = _UNIT_RULES[kpi.unit]
    stem = _STEM_OVERRIDES.get(kpi.name)
    if stem is None:
        stem = kpi.name
        if rule.strip and stem.endswith(rule.strip):
            stem = stem[: -len(rule.strip)]
    return KpiMetric(kpi, f"{KPI_METRIC_PREFIX}{stem}{rule.suffix}", rule.scale, rule.description)


KPI_METRICS: Final[tuple[KpiMetric, ...]] = tuple(kpi_metric(k) for k in REGISTRY)
"""Every registry KPI's metric, in registry order."""
KPI_METRIC_BY_NAME: Final[dict[str, KpiMetric]] = {m.kpi.name: m for m in KPI_METRICS}
"""By KPI name (``gmv_minor``), not by metric name."""


__all__ = [
    "KPI_LABELS",
    "KPI_METRICS",
    "KPI_METRIC_BY_NAME",
    "KPI_METRIC_PREFIX",
    "KPI_WINDOWS",
    "PERIODS",
    "KpiMetric",
    "kpi_metric",
]
