from __future__ import annotations

import pytest

from shoppulse.components import sum_values
from shoppulse.kpis import KPI_BY_NAME, REGISTRY, derive_kpis


def test_every_kpi_has_a_unique_name_and_formula() -> None:
    names = [k.name for k in REGISTRY]
    assert len(names) == len(set(names))
    assert {
        "gmv_minor",
        "orders",
        "aov_minor",
        "visitors",
        "sessions",
        "ctr",
        "add_to_cart_rate",
        "payment_conversion",
    } <= set(names)


def test_formulas() -> None:
    values = {
        "gmv_minor": 4500,
        "orders_paid": 3,
        "sessions": 60,
        "visitors": 50,
        "impressions": 400,
        "product_views": 100,
        "add_to_cart": 20,
    }
    kpis = derive_kpis(values)
    assert kpis["gmv_minor"] == 4500
    assert kpis["orders"] == 3
    assert kpis["aov_minor"] == 1500
    assert kpis["visitors"] == 50
    assert kpis["sessions"] == 60
    assert kpis["ctr"] == pytest.approx(0.25)
    assert kpis["add_to_cart_rate"] == pytest.approx(0.2)
    assert kpis["payment_conversion"] == pytest.approx(0.05)


def test_zero_denominator_gives_none_not_zero() -> None:
    kpis = derive_kpis({"gmv_minor": 0, "orders_paid": 0})
    assert kpis["aov_minor"] is None
    assert kpis["ctr"] is None
    assert kpis["payment_conversion"] is None


def test_rolled_up_ratio_is_ratio_of_sums_not_mean_of_ratios() -> None:
    minute_a = {"orders_paid": 1, "gmv_minor": 100}
    minute_b = {"orders_paid": 9, "gmv_minor": 9900}
    rolled = derive_kpis(sum_values([minute_a, minute_b]))
    assert rolled["aov_minor"] == 1000  # (100 + 9900) / 10, not (100 + 1100) / 2
    assert KPI_BY_NAME["aov_minor"].unit == "minor_currency"


def test_sum_values_excludes_distinct_counts() -> None:
    assert sum_values([{"visitors": 3, "events": 1}, {"visitors": 4, "events": 2}]) == {"events": 3}
