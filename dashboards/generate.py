"""ShopPulse's Grafana dashboards, generated from the KPI registry (``make dashboards``).

``python -m dashboards.generate dashboards/json`` writes one provisioned dashboard per
file; a test fails when the committed files differ from what this module generates.

- **Store overview** (``shoppulse-overview``): today so far against yesterday up to the
  same time for the headline KPIs, minute by minute against yesterday, and every sales
  KPI over the chosen window.
- **Funnel**, **Service**, **Inventory** (``shoppulse-funnel``, ...): a panel for every KPI
  of the registry group, over the chosen window, with the article's marks as thresholds.
- **Pipeline health** (``shoppulse-pipeline``): targets up, events, dead letters and late
  events, consumer lag, latency, KPI freshness, websocket clients, alerts, notifications.

Every KPI dashboard has a ``store`` variable (each store, and ``all``) and a ``window``
variable (``1m``, ``5m``, ``1h``, ``today``). Every panel queries the provisioned
datasource by its fixed uid (``dashboards/provisioning/datasources/prometheus.yml``).

>>> boards = render_all()
>>> sorted(boards)
['shoppulse-funnel.json', 'shoppulse-inventory.json', 'shoppulse-overview.json', 'shoppulse-pipeline.json', 'shoppulse-service.json']
>>> kpi_expr(KPI_METRIC_BY_NAME["roas"])
'shoppulse_kpi_roas_ratio{store_id="$store", window="$window", period="current"}'
"""  # noqa: E501

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Final

from dashboards.grafana import (
    GRID_WIDTH,
    Json,
    custom_variable,
    dashboard,
    query_variable,
    row,
    stat,
    target,
    timeseries,
)
from shoppulse.kpis import REGISTRY, Group, Unit
from shoppulse.metric_names import KPI_METRIC_BY_NAME, KPI_WINDOWS, KpiMetric

TAG: Final = "shoppulse"
DEFAULT_WINDOW: Final = "1h"

#: Grafana unit and display multiplier (applied to the metric's base unit) per registry unit.
_DISPLAY: Final[dict[Unit, tuple[str, float]]] = {
    "minor_currency": ("none", 1.0),
    "count": ("short", 1.0),
    "ratio": ("percentunit", 1.0),
    "score": ("none", 1.0),
    "rating": ("none", 1.0),
    "seconds": ("s", 1.0),
    "hours": ("s", 1.0),
    "days": ("s", 1.0),
    "units_per_hour": ("suffix: units/h", 3600.0),
}
_GROUP_TITLES: Final[dict[Group, str]] = {
    "sales": "Sales",
    "funnel": "Funnel and traffic",
    "service": "Service (chats)",
    "inventory": "Inventory and fulfilment",
}
HEADLINE_KPIS: Final[tuple[str, ...]] = (
    "gmv_minor",
    "orders",
    "aov_minor",
    "payment_conversion",
    "sessions",
    "refund_rate",
)
"""The overview's today-against-yesterday stats."""

STORE_VARIABLE: Final = query_variable(
    "store",
    "Store",
    "label_values(shoppulse_kpi_orders, store_id)",
    description="A store, or all: every store summed (ratios of sums).",
)
WINDOW_VARIABLE: Final = custom_variable(
    "window",
    "Window",
    KPI_WINDOWS,
    DEFAULT_WINDOW,
    description="1m: the latest minute; 5m, 1h: the minutes up to now; today: since 00:00 UTC.",
)


def kpi_expr(metric: KpiMetric, *, window: str = "$window", period: str = "current") -> str:
    """The PromQL of one KPI of the selected store, in the unit its panel displays."""
    selector = f'{metric.name}{{store_id="$store", window="{window}", period="{period}"}}'
    multiplier = _DISPLAY[metric.kpi.unit][1]
    return selector if multiplier == 1.0 else f"{selector} * {multiplier:g}"


def _unit(metric: KpiMetric) -> str:
    return _DISPLAY[metric.kpi.unit][0]


def _steps(metric: KpiMetric) -> list[tuple[str, float | None]] | None:
    """The article's marks as thresholds (in the displayed unit); None without marks."""
    if not metric.kpi.marks:
        return None
    mark = metric.kpi.marks[0]
    value = metric.to_metric(mark.value) * _DISPLAY[metric.kpi.unit][1]
    if mark.op == ">=":
        return [("red", None), ("green", value)]
    return [("green", None), ("red", value)]


def _description(metric: KpiMetric) -> str:
    marks = "".join(f" Mark: {m.op} {m.value:g} ({m.source})." for m in metric.kpi.marks)
    return f"{metric.kpi.description}{marks} Metric: {metric.name}."


def _kpi_stat(metric: KpiMetric, grid: tuple[int, int, int, int]) -> Json:
    return stat(
        metric.kpi.title,
        [target(kpi_expr(metric), metric.kpi.title)],
        unit=_unit(metric),
        grid=grid,
        description=_description(metric),
        steps=_steps(metric),
        decimals=0 if metric.kpi.unit == "minor_currency" else None,
    )


def _flow(
    panels: Sequence[Callable[[tuple[int, int, int, int]], Json]], y: int, w: int, h: int
) -> tuple[list[Json], int]:
    """Lay panels out left to right, wrapping at the grid's width; return the next free y."""
    out: list[Json] = []
    per_row = GRID_WIDTH // w
    for i, make in enumerate(panels):
        out.append(make(((i % per_row) * w, y + (i // per_row) * h, w, h)))
    rows = -(-len(panels) // per_row)
    return out, y + rows * h


def _group_stats(group: Group, y: int) -> tuple[list[Json], int]:
    metrics = [KPI_METRIC_BY_NAME[k.name] for k in REGISTRY if k.group == group]
    panels = [row(f"{_GROUP_TITLES[group]} over $window", y)]
    stats, y = _flow([partial(_kpi_stat, m) for m in metrics], y + 1, 4, 5)
    return panels + stats, y


def _versus_yesterday(name: str, window: str, grid: tuple[int, int, int, int]) -> Json:
    metric = KPI_METRIC_BY_NAME[name]
    today, yesterday = ("Today", "Yesterday") if window == "today" else ("Now", "Yesterday")
    targets = [
        target(kpi_expr(metric, window=window), today),
        target(kpi_expr(metric, window=window, period="yesterday"), yesterday),
    ]
    title = f"{metric.kpi.title} ({window})"
    description = (
        f"{_description(metric)} Yesterday: the same window one day earlier, as the API"
        " compares it (no Prometheus history needed)."
    )
    if grid[2] >= 12:
        return timeseries(
            title,
            targets,
            unit=_unit(metric),
            grid=grid,
            description=description,
            dashed=[yesterday],
        )
    return stat(
        title,
        targets,
        unit=_unit(metric),
        grid=grid,
        description=description,
        decimals=0 if metric.kpi.unit == "minor_currency" else None,
    )


def _change(title: str, record: str, grid: tuple[int, int, int, int]) -> Json:
    return stat(
        title,
        [target(f'{record}{{store_id="$store"}} - 1', "vs yesterday")],
        unit="percentunit",
        grid=grid,
        description=f"Today so far against yesterday up to the same time ({record} - 1).",
        steps=[("red", None), ("green", 0.0)],
    )


def store_overview() -> Json:
    """Headline KPIs today against yesterday, minute by minute, and the sales group."""
    panels: list[Json] = [row("Today so far, and yesterday up to the same time", 0)]
    headline, y = _flow([partial(_versus_yesterday, n, "today") for n in HEADLINE_KPIS], 1, 4, 5)
    panels += headline
    panels += [
        _change(
            "GMV vs yesterday", "shoppulse:kpi_gmv_minor:today_vs_yesterday_ratio", (0, y, 4, 4)
        ),
        _change(
            "Orders vs yesterday", "shoppulse:kpi_orders:today_vs_yesterday_ratio", (4, y, 4, 4)
        ),
        _change(
            "Conversion vs yesterday",
            "shoppulse:kpi_payment_conversion_ratio:today_vs_yesterday_ratio",
            (8, y, 4, 4),
        ),
        _versus_yesterday("visitors", "today", (12, y, 4, 4)),
        stat(
            "Firing alerts",
            [target('sum(shoppulse_alerts_firing{store_id="$store"})', "firing")],
            unit="short",
            grid=(16, y, 4, 4),
            description="Alerts firing now for the store (all: every store).",
            steps=[("green", None), ("red", 1.0)],
        ),
        stat(
            "KPIs updated",
            [target('time() - shoppulse_store_last_update_timestamp_seconds{store_id="$store"}')],
            unit="s",
            grid=(20, y, 4, 4),
            description="Seconds since the worker last published a minute of the store.",
            steps=[("green", None), ("orange", 120.0), ("red", 300.0)],
        ),
    ]
    y += 4
    panels.append(row("Minute by minute, against the same minutes yesterday", y))
    y += 1
    for i, (name, window) in enumerate(
        (("gmv_minor", "1m"), ("orders", "1m"), ("payment_conversion", "5m"), ("sessions", "5m"))
    ):
        panels.append(_versus_yesterday(name, window, ((i % 2) * 12, y + (i // 2) * 8, 12, 8)))
    y += 16
    sales, y = _group_stats("sales", y)
    return dashboard(
        "shoppulse-overview",
        "ShopPulse: store overview",
        panels + sales,
        description="Today against yesterday at the same time, and the sales KPIs of a store.",
        variables=[STORE_VARIABLE, WINDOW_VARIABLE],
        tags=[TAG, "kpis"],
    )


def _group_board(group: Group, uid: str, trends: Sequence[tuple[str, Sequence[str]]]) -> Json:
    """A group's KPI stats, then time series of related KPIs side by side."""
    panels, y = _group_stats(group, 0)
    panels.append(row("Over time ($window, rolling)", y))
    y += 1
    for i, (title, names) in enumerate(trends):
        metrics = [KPI_METRIC_BY_NAME[n] for n in names]
        panels.append(
            timeseries(
                title,
                [target(kpi_expr(m), m.kpi.title) for m in metrics],
                unit=_unit(metrics[0]),
                grid=((i % 2) * 12, y + (i // 2) * 8, 12, 8),
                description=" ".join(_description(m) for m in metrics),
                steps=_steps(metrics[0]) if len(metrics) == 1 else None,
            )
        )
    return dashboard(
        uid,
        f"ShopPulse: {_GROUP_TITLES[group].lower()}",
        panels,
        description=f"The {group} KPIs of a store (or all stores), generated from the registry.",
        variables=[STORE_VARIABLE, WINDOW_VARIABLE],
        tags=[TAG, "kpis"],
    )


def funnel() -> Json:
    return _group_board(
        "funnel",
        "shoppulse-funnel",
        [
            (
                "Funnel steps",
                ("ctr", "add_to_cart_rate", "checkout_rate", "payment_conversion"),
            ),
            ("Traffic", ("visitors", "sessions")),
            ("ROAS", ("roas",)),
            ("Cart abandonment and bounce rate", ("cart_abandonment", "bounce_rate")),
        ],
    )


def service() -> Json:
    return _group_board(
        "service",
        "shoppulse-service",
        [
            ("First response", ("first_response_p50_s", "first_response_p90_s")),
            ("Resolution rate", ("resolution_rate",)),
            ("Escalations and complaints", ("escalation_rate", "complaint_rate")),
            ("Satisfaction", ("csat_share", "first_response_within_30s")),
        ],
    )


def inventory() -> Json:
    return _group_board(
        "inventory",
        "shoppulse-inventory",
        [
            ("Stock alerts", ("low_stock_skus", "stock_out_skus")),
            ("Units on hand", ("on_hand_units",)),
            ("Days of cover", ("days_of_cover",)),
            ("Sales velocity", ("sales_velocity_units_per_h",)),
            ("Paid to shipped", ("fulfilment_p50_h", "fulfilment_p90_h")),
        ],
    )


def _rate(metric: str, by: str) -> str:
    return f"sum by ({by}) (rate({metric}[$__rate_interval]))"


def _quantile(q: float, histogram: str) -> str:
    return f"histogram_quantile({q:g}, sum by (le) (rate({histogram}_bucket[$__rate_interval])))"


_Spec = tuple[str, list[Json], str, str]
"""A pipeline panel: title, targets, unit, description."""


def _spec_panel(spec: _Spec, grid: tuple[int, int, int, int]) -> Json:
    title, targets, unit, description = spec
    return timeseries(title, targets, unit=unit, grid=grid, description=description)


def pipeline() -> Json:
    """Is the pipeline healthy: targets, throughput, bad input, lag, latency, delivery."""
    specs: list[_Spec] = [
        (
            "Targets up",
            [target('sum by (job) (up{job=~"shoppulse-.*"})', "{{job}}")],
            "short",
            "Scraped processes per job (a worker per process).",
        ),
        (
            "Events counted / s",
            [target(_rate("shoppulse_events_total", "topic"), "{{topic}}")],
            "cps",
            "Valid events counted into store-minutes, by source topic.",
        ),
        (
            "Dead letters / s",
            [target(_rate("shoppulse_dead_letters_total", "reason"), "{{reason}}")],
            "cps",
            "Events sent to shop.deadletter, by reason.",
        ),
        (
            "Late and duplicate events / s",
            [
                target(_rate("shoppulse_late_events_total", "topic"), "late {{topic}}"),
                target(_rate("shoppulse_duplicate_events_total", "topic"), "duplicate {{topic}}"),
            ],
            "cps",
            "Events for closed minutes (dead-lettered), and repeated event_ids (counted once).",
        ),
        (
            "Consumer lag",
            [target("sum by (topic) (shoppulse_consumer_lag_records)", "{{topic}}")],
            "short",
            "Records of each source topic the workers have not processed yet.",
        ),
        (
            "Event to KPI snapshot",
            [
                target(_quantile(0.5, "shoppulse_event_to_snapshot_seconds"), "p50"),
                target(_quantile(0.99, "shoppulse_event_to_snapshot_seconds"), "p99"),
            ],
            "s",
            "From an event's time to the publication of the snapshot that counts it.",
        ),
        (
            "Batch processing",
            [
                target(_quantile(0.5, "shoppulse_batch_processing_seconds"), "p50"),
                target(_quantile(0.99, "shoppulse_batch_processing_seconds"), "p99"),
            ],
            "s",
            "Time to validate, count and persist a batch of consumed records.",
        ),
        (
            "KPI snapshots / s",
            [target(_rate("shoppulse_kpi_snapshots_total", "kind"), "{{kind}}")],
            "cps",
            "Snapshots published by the workers: provisional (open minutes) and final.",
        ),
        (
            "Age of each store's KPIs",
            [
                target(
                    'time() - shoppulse_store_last_update_timestamp_seconds{store_id!="all"}',
                    "{{store_id}}",
                )
            ],
            "s",
            "Seconds since the API received a new minute of each store (idle stores age).",
        ),
        (
            "Snapshots read by the API / s",
            [target(_rate("shoppulse_view_snapshots_total", "outcome"), "{{outcome}}")],
            "cps",
            "What the API's view did with the snapshots it read.",
        ),
        (
            "Websocket clients",
            [target("sum(shoppulse_websocket_clients)", "clients")],
            "short",
            "Clients following /ws/live, over every API process.",
        ),
        (
            "Firing alerts",
            [
                target(
                    'sum by (severity) (shoppulse_alerts_firing{store_id!="all"})', "{{severity}}"
                )
            ],
            "short",
            "Alerts firing now, by severity.",
        ),
        (
            "Notifications / s",
            [
                target(
                    _rate("shoppulse_notifications_total", "receiver, outcome"),
                    "{{receiver}} {{outcome}}",
                )
            ],
            "cps",
            "Alert notifications finished by the dispatcher: delivered or failed.",
        ),
        (
            "Notifications waiting",
            [target("sum by (receiver) (shoppulse_notifications_queued)", "{{receiver}}")],
            "short",
            "Notifications queued or in delivery, by receiver.",
        ),
        (
            "Dead-letter share",
            [target("shoppulse:dead_letters:ratio_rate5m", "dead letters / events read")],
            "percentunit",
            "Share of the events read in the last 5 minutes that were dead-lettered.",
        ),
        (
            "API KPI refresh",
            [target("max(shoppulse_metrics_kpi_refresh_seconds)", "seconds")],
            "s",
            "How long the API took to compute its KPI gauges for the latest scrape.",
        ),
    ]
    panels, _ = _flow([partial(_spec_panel, s) for s in specs], 0, 8, 7)
    return dashboard(
        "shoppulse-pipeline",
        "ShopPulse: pipeline health",
        panels,
        description="Workers, Kafka lag, dead letters, latency, the API and alert delivery.",
        tags=[TAG, "pipeline"],
        time_from="now-1h",
    )


DASHBOARDS: Final[dict[str, Callable[[], Json]]] = {
    "shoppulse-overview.json": store_overview,
    "shoppulse-funnel.json": funnel,
    "shoppulse-service.json": service,
    "shoppulse-inventory.json": inventory,
    "shoppulse-pipeline.json": pipeline,
}


def render_all() -> dict[str, str]:
    """Every dashboard's file name and JSON text."""
    return {name: json.dumps(make(), indent=2) + "\n" for name, make in DASHBOARDS.items()}


def write_all(directory: Path) -> list[Path]:
    """Write every dashboard into ``directory`` (created if missing); return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_all().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m dashboards.generate DIRECTORY", file=sys.stderr)
        return 2
    for path in write_all(Path(args[0])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
