"""The KPI registry: every KPI defined once, as a formula over additive components.

Ratios are ratio-of-sums: a rolled-up window divides summed numerators by
summed denominators, never averages per-minute ratios.

>>> values = derive_kpis({"gmv_minor": 3000, "orders_paid": 2, "sessions": 40,
...                       "impressions": 100, "product_views": 25, "add_to_cart": 5})
>>> values["aov_minor"], values["payment_conversion"], values["ctr"]
(1500.0, 0.05, 0.25)
>>> derive_kpis({})["aov_minor"] is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

Direction = Literal["higher_is_better", "lower_is_better", "neutral"]
Unit = Literal["minor_currency", "count", "ratio"]


@dataclass(frozen=True, slots=True)
class Total:
    """The value of one additive component."""

    component: str

    def evaluate(self, values: Mapping[str, int]) -> float | None:
        return float(values.get(self.component, 0))


@dataclass(frozen=True, slots=True)
class Ratio:
    """``numerator / denominator`` over summed components; ``None`` when the denominator is 0."""

    numerator: str
    denominator: str

    def evaluate(self, values: Mapping[str, int]) -> float | None:
        den = values.get(self.denominator, 0)
        if den == 0:
            return None
        return values.get(self.numerator, 0) / den


Formula = Total | Ratio


@dataclass(frozen=True, slots=True)
class KpiDef:
    """One KPI: its stable name (used in the API, metrics and dashboards) and formula."""

    name: str
    title: str
    unit: Unit
    direction: Direction
    formula: Formula
    description: str


REGISTRY: Final[tuple[KpiDef, ...]] = (
    KpiDef(
        "gmv_minor",
        "GMV",
        "minor_currency",
        "higher_is_better",
        Total("gmv_minor"),
        "Sum of paid orders' amounts, in minor currency units.",
    ),
    KpiDef(
        "orders",
        "Paid orders",
        "count",
        "higher_is_better",
        Total("orders_paid"),
        "Orders that reached status paid.",
    ),
    KpiDef(
        "aov_minor",
        "Average order value",
        "minor_currency",
        "higher_is_better",
        Ratio("gmv_minor", "orders_paid"),
        "GMV / paid orders.",
    ),
    KpiDef(
        "visitors",
        "Visitors",
        "count",
        "higher_is_better",
        Total("visitors"),
        "Distinct visitor_id on shop.clicks.",
    ),
    KpiDef(
        "sessions",
        "Sessions",
        "count",
        "higher_is_better",
        Total("sessions"),
        "Distinct session_id on shop.clicks.",
    ),
    KpiDef(
        "ctr",
        "Click-through rate",
        "ratio",
        "higher_is_better",
        Ratio("product_views", "impressions"),
        "Product views / impressions.",
    ),
    KpiDef(
        "add_to_cart_rate",
        "Add-to-cart rate",
        "ratio",
        "higher_is_better",
        Ratio("add_to_cart", "product_views"),
        "Add-to-cart clicks / product views.",
    ),
    KpiDef(
        "payment_conversion",
        "Payment conversion",
        "ratio",
        "higher_is_better",
        Ratio("orders_paid", "sessions"),
        "Paid orders / sessions.",
    ),
)

KPI_BY_NAME: Final[dict[str, KpiDef]] = {k.name: k for k in REGISTRY}


def derive_kpis(values: Mapping[str, int]) -> dict[str, float | None]:
    """Every registered KPI's value from a window's components."""
    return {k.name: k.formula.evaluate(values) for k in REGISTRY}
