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


def test_catalogue_formulas_for_sales_funnel_and_service() -> None:
    values = {
        "orders_paid": 10,
        "orders_refunded": 1,
        "gmv_minor": 10_000,
        "refunded_minor": 500,
        "margin_revenue_minor": 8_000,
        "margin_cost_minor": 6_000,
        "add_to_cart": 40,
        "checkouts": 20,
        "paid_channel_gmv_minor": 4_000,
        "ad_cost_minor": 800,
        "conversations_opened": 20,
        "resolutions": 19,
        "escalations": 2,
        "complaints": 1,
        "ratings": 10,
        "ratings_positive": 8,
        "rating_sum": 42,
        "nps_responses": 10,
        "nps_promoters": 6,
        "nps_detractors": 2,
        "units_sold": 12,
    }
    k = derive_kpis(values, window_ms=5 * 60_000)
    assert k["refund_rate"] == pytest.approx(0.1)
    assert k["refund_amount_rate"] == pytest.approx(0.05)
    assert k["gross_margin"] == pytest.approx(0.25)
    assert k["checkout_rate"] == pytest.approx(0.5)
    assert k["cart_abandonment"] == pytest.approx(0.75)
    assert k["roas"] == pytest.approx(5.0)
    assert k["resolution_rate"] == pytest.approx(0.95)
    assert k["escalation_rate"] == pytest.approx(0.1)
    assert k["complaint_rate"] == pytest.approx(0.05)
    assert k["csat_share"] == pytest.approx(0.8)
    assert k["csat_mean"] == pytest.approx(4.2)
    assert k["nps"] == pytest.approx(40.0)
    assert k["sales_velocity_units_per_h"] == pytest.approx(144.0)


def test_marks_from_the_article() -> None:
    assert KPI_BY_NAME["roas"].marks[0].holds(4.5)
    assert not KPI_BY_NAME["roas"].marks[0].holds(3.9)
    assert KPI_BY_NAME["resolution_rate"].marks[0].value == 0.9


def test_cart_abandonment_is_clamped_when_paid_orders_exceed_adds() -> None:
    assert derive_kpis({"orders_paid": 5, "add_to_cart": 2})["cart_abandonment"] == 0.0


STOCK_KPIS = ("on_hand_units", "low_stock_skus", "stock_out_skus", "days_of_cover")


def test_stock_kpis_are_null_without_stock_data_not_zero() -> None:
    """No SKU tracked (a store without a shop.inventory feed): stock is unknown, not 0."""
    no_feed = {"units_sold": 12, "orders_paid": 4, "on_hand_units": 0, "skus_tracked": 0}
    for components in (no_feed, {"units_sold": 12, "orders_paid": 4}):
        kpis = derive_kpis(components | {"low_stock_skus": 0, "stock_out_skus": 0})
        assert {k: kpis[k] for k in (*STOCK_KPIS, "projected_stockout_h")} == dict.fromkeys(
            (*STOCK_KPIS, "projected_stockout_h")
        )
        assert kpis["sales_velocity_units_per_h"] == 720.0  # sales are known


def test_stock_kpis_of_a_tracked_sku_at_zero_are_zero() -> None:
    kpis = derive_kpis(
        {"units_sold": 12, "on_hand_units": 0, "skus_tracked": 1, "stock_out_skus": 1}
    )
    assert [kpis[k] for k in STOCK_KPIS] == [0.0, 0.0, 1.0, 0.0]
    assert kpis["projected_stockout_h"] == 0.0
