"""The KPI registry: every KPI defined once, as a formula over additive components.

The registry drives the worker's snapshots, the API, and the generated reference
page (``docs/kpis.md``, ``python -m cli.kpidoc``). Ratios are ratio-of-sums:
a rolled-up window divides summed numerators by summed denominators, never
averages per-minute ratios.

>>> values = derive_kpis({"gmv_minor": 3000, "orders_paid": 2, "sessions": 40,
...                       "impressions": 100, "product_views": 25, "add_to_cart": 5})
>>> values["aov_minor"], values["payment_conversion"], values["ctr"]
(1500.0, 0.05, 0.25)
>>> derive_kpis({})["aov_minor"] is None
True
>>> derive_kpis({"units_sold": 30}, window_ms=3_600_000)["sales_velocity_units_per_h"]
30.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from shoppulse.histogram import FIRST_RESPONSE_S, FULFILMENT_H, BucketSpec, from_components
from shoppulse.inventory import has_stock_data

Direction = Literal["higher_is_better", "lower_is_better", "neutral"]
Unit = Literal[
    "minor_currency",
    "count",
    "ratio",
    "score",
    "units_per_hour",
    "rating",
    "seconds",
    "hours",
    "days",
]
Group = Literal["sales", "funnel", "service", "inventory"]
_HOUR_MS: Final = 3_600_000


@dataclass(frozen=True, slots=True)
class Total:
    """The value of one additive component."""

    component: str

    def evaluate(self, values: Mapping[str, int], window_ms: int) -> float | None:
        return float(values.get(self.component, 0))

    def describe(self) -> str:
        return f"`{self.component}`"


@dataclass(frozen=True, slots=True)
class Level:
    """A stock gauge's value; ``None`` without stock data (no SKU tracked), never 0.

    >>> Level("on_hand_units").evaluate({"on_hand_units": 0, "skus_tracked": 0}, 60_000) is None
    True
    >>> Level("on_hand_units").evaluate({"on_hand_units": 0, "skus_tracked": 2}, 60_000)
    0.0
    """

    component: str

    def evaluate(self, values: Mapping[str, int], window_ms: int) -> float | None:
        if not has_stock_data(values):
            return None
        return float(values.get(self.component, 0))

    def describe(self) -> str:
        return f"`{self.component}` (null while `skus_tracked` is 0)"


@dataclass(frozen=True, slots=True)
class Ratio:
    """``numerator / denominator`` over summed components; ``None`` when the denominator is 0."""

    numerator: str
    denominator: str

    def evaluate(self, values: Mapping[str, int], window_ms: int) -> float | None:
        den = values.get(self.denominator, 0)
        if den == 0:
            return None
        return values.get(self.numerator, 0) / den

    def describe(self) -> str:
        return f"`{self.numerator}` / `{self.denominator}`"


@dataclass(frozen=True, slots=True)
class Complement:
    """``1 - numerator / denominator``, clamped to [0, 1]; ``None`` when the denominator is 0.

    >>> Complement("margin_cost_minor", "margin_revenue_minor").evaluate(
    ...     {"margin_cost_minor": 700, "margin_revenue_minor": 1000}, 60_000)
    0.3
    """

    numerator: str
    denominator: str

    def evaluate(self, values: Mapping[str, int], window_ms: int) -> float | None:
        ratio = Ratio(self.numerator, self.denominator).evaluate(values, window_ms)
        if ratio is None:
            return None
        return round(min(1.0, max(0.0, 1.0 - ratio)), 12)

    def describe(self) -> str:
        return f"1 - `{self.numerator}` / `{self.denominator}` (clamped to 0..1)"


@dataclass(frozen=True, slots=True)
class NetScore:
    """``100 x (promoters - detractors) / responses``, as NPS; ``None`` without responses.

    >>> NetScore("p", "d", "n").evaluate({"p": 6, "d": 1, "n": 10}, 60_000)
    50.0
    """

    promoters: str
    detractors: str
    responses: str

    def evaluate(self, values: Mapping[str, int], window_ms: int) -> float | None:
        n = values.get(self.responses, 0)
        if n == 0:
            return None
        return 100.0 * (values.get(self.promoters, 0) - values.get(self.detractors, 0)) / n

    def describe(self) -> str:
        return f"100 x (`{self.promoters}` - `{self.detractors}`) / `{self.responses}`"


@dataclass(frozen=True, slots=True)
class PerHour:
    """A component's sum divided by the window's length in hours."""

    component: str

    def evaluate(self, values: Mapping[str, int], window_ms: int) -> float | None:
        return values.get(self.component, 0) * _HOUR_MS / window_ms

    def describe(self) -> str:
        return f"`{self.component}` per hour of the window"


@dataclass(frozen=True, slots=True)
class Quantile:
    """A quantile of a flattened duration histogram (linear inside a bucket); None if empty.

    >>> from shoppulse.histogram import FIRST_RESPONSE_S as S
    >>> Quantile(S, 0.5).evaluate({"first_response_s_b02": 2}, 60_000)
    12.5
    """

    spec: BucketSpec
    q: float

    def evaluate(self, values: Mapping[str, int], window_ms: int) -> float | None:
        return from_components(self.spec, values).quantile(self.q)

    def describe(self) -> str:
        return (
            f"p{round(self.q * 100)} of the `{self.spec.name}` histogram, in {self.spec.unit} "
            "(within one bucket's width)"
        )


@dataclass(frozen=True, slots=True)
class ShareAtOrBelow:
    """The exact share of a histogram's observations at or below one of its bucket bounds."""

    spec: BucketSpec
    bound: float

    def evaluate(self, values: Mapping[str, int], window_ms: int) -> float | None:
        return from_components(self.spec, values).share_at_or_below(self.bound)

    def describe(self) -> str:
        return f"share of `{self.spec.name}` at or below {self.bound:g} {self.spec.unit}"


@dataclass(frozen=True, slots=True)
class Cover:
    """How long a stock lasts at the window's rate of a flow: ``stock / (flow per unit)``;
    ``None`` without a flow or without stock data (no SKU tracked).

    >>> Cover("on_hand_units", "units_sold", 86_400_000).evaluate(
    ...     {"on_hand_units": 120, "skus_tracked": 4, "units_sold": 10}, 3_600_000)  # 240 a day
    0.5
    """

    stock: str
    flow: str
    unit_ms: int

    def evaluate(self, values: Mapping[str, int], window_ms: int) -> float | None:
        flow = values.get(self.flow, 0)
        if flow == 0 or self.stock not in values or not has_stock_data(values):
            return None
        return values[self.stock] / (flow * self.unit_ms / window_ms)

    def describe(self) -> str:
        unit = "days" if self.unit_ms == 86_400_000 else "hours"
        return (
            f"`{self.stock}` / (`{self.flow}` per {unit[:-1]} of the window), in {unit}"
            " (null while `skus_tracked` is 0)"
        )


Formula = (
    Total | Level | Ratio | Complement | NetScore | PerHour | Quantile | ShareAtOrBelow | Cover
)


@dataclass(frozen=True, slots=True)
class Mark:
    """A healthy mark from the seed article: the KPI should be ``op`` ``value``."""

    op: Literal[">=", "<="]
    value: float
    source: str

    def holds(self, x: float) -> bool:
        return x >= self.value if self.op == ">=" else x <= self.value


@dataclass(frozen=True, slots=True)
class KpiDef:
    """One KPI: its stable name (used in the API, metrics and dashboards) and formula."""

    name: str
    title: str
    group: Group
    unit: Unit
    direction: Direction
    formula: Formula
    description: str
    marks: tuple[Mark, ...] = ()


_ARTICLE = "seed article"

REGISTRY: Final[tuple[KpiDef, ...]] = (
    # Sales
    KpiDef(
        "gmv_minor",
        "GMV",
        "sales",
        "minor_currency",
        "higher_is_better",
        Total("gmv_minor"),
        "Sum of paid orders' amounts, in minor currency units.",
    ),
    KpiDef(
        "orders",
        "Paid orders",
        "sales",
        "count",
        "higher_is_better",
        Total("orders_paid"),
        "Orders that reached status paid.",
    ),
    KpiDef(
        "aov_minor",
        "Average order value",
        "sales",
        "minor_currency",
        "higher_is_better",
        Ratio("gmv_minor", "orders_paid"),
        "GMV / paid orders.",
    ),
    KpiDef(
        "refund_rate",
        "Refund/return rate",
        "sales",
        "ratio",
        "lower_is_better",
        Ratio("orders_refunded", "orders_paid"),
        "Refunded orders / paid orders, both counted in the window.",
    ),
    KpiDef(
        "refund_amount_rate",
        "Refunded share of GMV",
        "sales",
        "ratio",
        "lower_is_better",
        Ratio("refunded_minor", "gmv_minor"),
        "Refunded amounts / GMV in the window.",
    ),
    KpiDef(
        "gross_margin",
        "Gross margin",
        "sales",
        "ratio",
        "higher_is_better",
        Complement("margin_cost_minor", "margin_revenue_minor"),
        "(Revenue - cost) / revenue over paid orders that carry cost_minor.",
    ),
    KpiDef(
        "new_customer_share",
        "New-customer share",
        "sales",
        "ratio",
        "neutral",
        Ratio("paid_orders_new_customer", "orders_paid"),
        "Paid orders that are their customer's first paid order in this store / paid orders.",
    ),
    KpiDef(
        "repeat_purchase_rate",
        "Repeat-purchase rate",
        "sales",
        "ratio",
        "higher_is_better",
        Ratio("paid_orders_repeat_customer", "orders_paid"),
        "Paid orders from customers who paid before / paid orders.",
    ),
    KpiDef(
        "repeat_customer_gmv_share",
        "Repeat customers' share of GMV",
        "sales",
        "ratio",
        "higher_is_better",
        Ratio("repeat_customer_gmv_minor", "gmv_minor"),
        "GMV of repeat customers' paid orders / GMV.",
    ),
    KpiDef(
        "new_customer_conversion",
        "New-customer conversion",
        "sales",
        "ratio",
        "higher_is_better",
        Ratio("paid_orders_new_customer", "sessions"),
        "First paid orders of new customers / sessions.",
    ),
    # Funnel and traffic
    KpiDef(
        "visitors",
        "Visitors",
        "funnel",
        "count",
        "higher_is_better",
        Total("visitors"),
        "Distinct visitor_id on shop.clicks.",
    ),
    KpiDef(
        "sessions",
        "Sessions",
        "funnel",
        "count",
        "higher_is_better",
        Total("sessions"),
        "Distinct session_id on shop.clicks.",
    ),
    KpiDef(
        "ctr",
        "Click-through rate",
        "funnel",
        "ratio",
        "higher_is_better",
        Ratio("product_views", "impressions"),
        "Product views / impressions.",
    ),
    KpiDef(
        "add_to_cart_rate",
        "Add-to-cart rate",
        "funnel",
        "ratio",
        "higher_is_better",
        Ratio("add_to_cart", "product_views"),
        "Add-to-cart clicks / product views.",
    ),
    KpiDef(
        "checkout_rate",
        "Checkout rate",
        "funnel",
        "ratio",
        "higher_is_better",
        Ratio("checkouts", "add_to_cart"),
        "Checkouts started / add-to-cart clicks.",
    ),
    KpiDef(
        "cart_abandonment",
        "Cart abandonment",
        "funnel",
        "ratio",
        "lower_is_better",
        Complement("orders_paid", "add_to_cart"),
        "1 - paid orders / add-to-cart clicks, clamped to 0..1.",
    ),
    KpiDef(
        "payment_conversion",
        "Payment conversion",
        "funnel",
        "ratio",
        "higher_is_better",
        Ratio("orders_paid", "sessions"),
        "Paid orders / sessions.",
    ),
    KpiDef(
        "bounce_rate",
        "Bounce rate",
        "funnel",
        "ratio",
        "lower_is_better",
        Ratio("sessions_bounced", "sessions_ended"),
        "Sessions that viewed at most one page and never added to cart or checked out / "
        "sessions ended (30-minute inactivity timeout), counted when they end.",
    ),
    KpiDef(
        "organic_share",
        "Organic share",
        "funnel",
        "ratio",
        "neutral",
        Ratio("organic_sessions_started", "sessions_started"),
        "Sessions whose first click came from the organic channel / sessions started.",
    ),
    KpiDef(
        "cac_minor",
        "Customer acquisition cost",
        "funnel",
        "minor_currency",
        "lower_is_better",
        Ratio("ad_cost_minor", "paid_orders_new_customer"),
        "Ad cost of paid clicks / first paid orders of new customers.",
    ),
    KpiDef(
        "roas",
        "ROAS",
        "funnel",
        "ratio",
        "higher_is_better",
        Ratio("paid_channel_gmv_minor", "ad_cost_minor"),
        "GMV of paid-channel orders / ad cost of paid clicks.",
        (Mark(">=", 4.0, _ARTICLE),),
    ),
    # Service
    KpiDef(
        "conversations",
        "Conversations",
        "service",
        "count",
        "neutral",
        Total("conversations_opened"),
        "Chat conversations opened.",
    ),
    KpiDef(
        "resolution_rate",
        "Resolution rate",
        "service",
        "ratio",
        "higher_is_better",
        Ratio("resolutions", "conversations_opened"),
        "Conversations resolved / conversations opened in the window.",
        (Mark(">=", 0.9, _ARTICLE),),
    ),
    KpiDef(
        "escalation_rate",
        "Escalation rate",
        "service",
        "ratio",
        "lower_is_better",
        Ratio("escalations", "conversations_opened"),
        "Escalations / conversations opened.",
    ),
    KpiDef(
        "complaint_rate",
        "Complaint rate",
        "service",
        "ratio",
        "lower_is_better",
        Ratio("complaints", "conversations_opened"),
        "Chat events flagged as complaints / conversations opened.",
    ),
    KpiDef(
        "csat_share",
        "CSAT (4-5 share)",
        "service",
        "ratio",
        "higher_is_better",
        Ratio("ratings_positive", "ratings"),
        "Ratings of 4 or 5 / ratings.",
    ),
    KpiDef(
        "csat_mean",
        "CSAT (mean)",
        "service",
        "rating",
        "higher_is_better",
        Ratio("rating_sum", "ratings"),
        "Mean rating, 1 to 5.",
    ),
    KpiDef(
        "nps",
        "NPS",
        "service",
        "score",
        "higher_is_better",
        NetScore("nps_promoters", "nps_detractors", "nps_responses"),
        "Net promoter score: % promoters (9-10) - % detractors (0-6).",
    ),
    KpiDef(
        "first_response_p50_s",
        "First response (p50)",
        "service",
        "seconds",
        "lower_is_better",
        Quantile(FIRST_RESPONSE_S, 0.5),
        "Median time from a conversation's opening to the first agent message.",
    ),
    KpiDef(
        "first_response_p90_s",
        "First response (p90)",
        "service",
        "seconds",
        "lower_is_better",
        Quantile(FIRST_RESPONSE_S, 0.9),
        "90th percentile of the time to the first agent message.",
        (Mark("<=", 30.0, _ARTICLE),),
    ),
    KpiDef(
        "first_response_within_30s",
        "Answered within 30 s",
        "service",
        "ratio",
        "higher_is_better",
        ShareAtOrBelow(FIRST_RESPONSE_S, 30),
        "Share of first agent responses within 30 seconds (exact).",
    ),
    KpiDef(
        "first_contact_resolution",
        "First-contact resolution",
        "service",
        "ratio",
        "higher_is_better",
        Ratio("resolutions_first_contact", "resolutions"),
        "Resolutions of conversations never transferred / resolutions.",
    ),
    KpiDef(
        "chat_assisted_orders",
        "Chat-assisted orders",
        "service",
        "count",
        "higher_is_better",
        Total("chat_assisted_orders"),
        "Paid orders whose customer chatted within the 24 hours before the order.",
    ),
    KpiDef(
        "consultation_conversion",
        "Consultation conversion",
        "service",
        "ratio",
        "higher_is_better",
        Ratio("chat_assisted_orders", "conversations_opened"),
        "Chat-assisted paid orders / conversations opened.",
    ),
    # Inventory and fulfilment
    KpiDef(
        "sales_velocity_units_per_h",
        "Sales velocity",
        "inventory",
        "units_per_hour",
        "neutral",
        PerHour("units_sold"),
        "Units in paid orders per hour.",
    ),
    KpiDef(
        "on_hand_units",
        "Units on hand",
        "inventory",
        "count",
        "neutral",
        Level("on_hand_units"),
        "Sum of the latest on_hand of every SKU at the end of the window.",
    ),
    KpiDef(
        "low_stock_skus",
        "Low-stock SKUs",
        "inventory",
        "count",
        "lower_is_better",
        Level("low_stock_skus"),
        "SKUs with 0 < on_hand <= reorder_point at the end of the window.",
    ),
    KpiDef(
        "stock_out_skus",
        "Stock-out SKUs",
        "inventory",
        "count",
        "lower_is_better",
        Level("stock_out_skus"),
        "SKUs with on_hand = 0 at the end of the window.",
    ),
    KpiDef(
        "days_of_cover",
        "Days of cover",
        "inventory",
        "days",
        "higher_is_better",
        Cover("on_hand_units", "units_sold", 86_400_000),
        "Units on hand / units sold per day at the window's sales rate.",
    ),
    KpiDef(
        "projected_stockout_h",
        "Projected stock-out",
        "inventory",
        "hours",
        "higher_is_better",
        Cover("on_hand_units", "units_sold", 3_600_000),
        "Hours until the store's stock runs out at the window's sales rate (all SKUs pooled).",
    ),
    KpiDef(
        "fulfilment_p50_h",
        "Paid to shipped (p50)",
        "inventory",
        "hours",
        "lower_is_better",
        Quantile(FULFILMENT_H, 0.5),
        "Median time from an order's payment to its shipment, observed when it ships.",
    ),
    KpiDef(
        "fulfilment_p90_h",
        "Paid to shipped (p90)",
        "inventory",
        "hours",
        "lower_is_better",
        Quantile(FULFILMENT_H, 0.9),
        "90th percentile of the time from payment to shipment.",
    ),
)

KPI_BY_NAME: Final[dict[str, KpiDef]] = {k.name: k for k in REGISTRY}


def derive_kpis(values: Mapping[str, int], window_ms: int = 60_000) -> dict[str, float | None]:
    """Every registered KPI's value from a window's components."""
    return {k.name: k.formula.evaluate(values, window_ms) for k in REGISTRY}


class _Reads(dict[str, int]):
    """Components that remember which of them a formula read."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.read.add(key)
        return 1

    def __getitem__(self, key: str) -> int:
        self.read.add(key)
        return 1

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return True


def kpi_inputs(kpi: KpiDef) -> frozenset[str]:
    """The components a KPI's formula reads.

    >>> sorted(kpi_inputs(KPI_BY_NAME["payment_conversion"]))
    ['orders_paid', 'sessions']
    >>> sorted(kpi_inputs(KPI_BY_NAME["roas"]))
    ['ad_cost_minor', 'paid_channel_gmv_minor']
    """
    probe = _Reads()
    kpi.formula.evaluate(probe, 60_000)
    return frozenset(probe.read)
