"""Grafana dashboard JSON as plain Python data: panels, targets, variables (pure, no IO).

Just enough of Grafana's dashboard model (schema version 39, Grafana 10.4 to 11) for
provisioned dashboards: bare JSON with a fixed ``uid`` and no ``id``, every panel and
target bound to the provisioned Prometheus datasource by its fixed uid (ADR 10 says why
plain data rather than an SDK). :func:`resolve` substitutes the template variables the
way Grafana does, so tests can run each panel's query against a real Prometheus.

>>> panel = stat("Orders", [target('shoppulse_kpi_orders{store_id="$store"}', "now")],
...              unit="short", grid=(0, 0, 4, 4))
>>> panel["type"], panel["targets"][0]["datasource"]["uid"], panel["gridPos"]["w"]
('stat', 'shoppulse-prometheus', 4)
>>> resolve('rate(x{store_id="$store"}[$__rate_interval])', {"store": "s1"}, scrape_s=5)
'rate(x{store_id="s1"}[20s])'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

Json = dict[str, Any]

DATASOURCE_UID: Final = "shoppulse-prometheus"
DATASOURCE: Final[Mapping[str, str]] = {"type": "prometheus", "uid": DATASOURCE_UID}
SCHEMA_VERSION: Final = 39
GRID_WIDTH: Final = 24

Grid = tuple[int, int, int, int]
"""``(x, y, w, h)`` in Grafana's 24-column grid."""


def target(expr: str, legend: str = "", ref_id: str = "A", *, instant: bool = False) -> Json:
    """One PromQL query of a panel."""
    return {
        "datasource": dict(DATASOURCE),
        "refId": ref_id,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
        "editorMode": "code",
    }


def with_ref_ids(targets: Sequence[Json]) -> list[Json]:
    """The targets with ``refId`` A, B, C, ... in order."""
    return [{**t, "refId": chr(ord("A") + i)} for i, t in enumerate(targets)]


def thresholds(steps: Sequence[tuple[str, float | None]]) -> Json:
    """Absolute threshold steps: ``[(color, from_value)]``, the first from ``None``."""
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def _panel(kind: str, title: str, description: str, grid: Grid, targets: Sequence[Json]) -> Json:
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": dict(DATASOURCE),
        "gridPos": _grid(grid),
        "targets": with_ref_ids(targets),
    }


def _field_config(
    unit: str, steps: Sequence[tuple[str, float | None]] | None, decimals: int | None
) -> Json:
    defaults: Json = {
        "unit": unit,
        "thresholds": thresholds(steps or [("text", None)]),
        "color": {"mode": "thresholds" if steps else "palette-classic"},
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return {"defaults": defaults, "overrides": []}


def stat(
    title: str,
    targets: Sequence[Json],
    *,
    unit: str,
    grid: Grid,
    description: str = "",
    steps: Sequence[tuple[str, float | None]] | None = None,
    decimals: int | None = None,
) -> Json:
    """A stat panel: the last value of each target, with a sparkline."""
    return {
        **_panel("stat", title, description, grid, targets),
        "fieldConfig": _field_config(unit, steps, decimals),
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value" if steps else "none",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "value_and_name" if len(targets) > 1 else "auto",
            "wideLayout": True,
            "showPercentChange": False,
        },
    }


def timeseries(
    title: str,
    targets: Sequence[Json],
    *,
    unit: str,
    grid: Grid,
    description: str = "",
    steps: Sequence[tuple[str, float | None]] | None = None,
    dashed: Sequence[str] = (),
) -> Json:
    """A time-series panel; series whose legend is in ``dashed`` are drawn dashed."""
    config = _field_config(unit, steps, None)
    config["defaults"]["custom"] = {
        "drawStyle": "line",
        "lineWidth": 2,
        "fillOpacity": 10,
        "showPoints": "never",
        "spanNulls": False,
        "thresholdsStyle": {"mode": "line" if steps else "off"},
    }
    config["overrides"] = [
        {
            "matcher": {"id": "byName", "options": name},
            "properties": [
                {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                {"id": "custom.fillOpacity", "value": 0},
            ],
        }
        for name in dashed
    ]
    return {
        **_panel("timeseries", title, description, grid, targets),
        "fieldConfig": config,
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "none"},
        },
    }


def row(title: str, y: int) -> Json:
    """A row header across the dashboard at height ``y``."""
    return {
        "type": "row",
        "title": title,
        "collapsed": False,
        "gridPos": _grid((0, y, GRID_WIDTH, 1)),
        "panels": [],
    }


def query_variable(name: str, label: str, query: str, *, description: str = "") -> Json:
    """A variable whose options are a ``label_values(...)`` query, refreshed on time change."""
    return {
        "type": "query",
        "name": name,
        "label": label,
        "description": description,
        "datasource": dict(DATASOURCE),
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "definition": query,
        "refresh": 2,
        "sort": 1,
        "includeAll": False,
        "multi": False,
        "current": {},
        "options": [],
        "hide": 0,
    }


def custom_variable(
    name: str, label: str, options: Sequence[str], default: str, *, description: str = ""
) -> Json:
    """A variable with fixed options."""
    return {
        "type": "custom",
        "name": name,
        "label": label,
        "description": description,
        "query": ",".join(options),
        "current": {"selected": True, "text": default, "value": default},
        "options": [
            {"selected": option == default, "text": option, "value": option} for option in options
        ],
        "includeAll": False,
        "multi": False,
        "hide": 0,
    }


def dashboard(
    uid: str,
    title: str,
    panels: Sequence[Json],
    *,
    description: str,
    variables: Sequence[Json] = (),
    tags: Sequence[str] = (),
    time_from: str = "now-3h",
    refresh: str = "10s",
) -> Json:
    """A provisioned dashboard: fixed ``uid``, no ``id``, panels numbered from 1."""
    numbered = [{"id": i, **p} for i, p in enumerate(panels, start=1)]
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": list(tags),
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": refresh,
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "annotations": {"list": []},
        "links": [
            {
                "title": "ShopPulse",
                "type": "dashboards",
                "tags": list(tags[:1]),
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "templating": {"list": list(variables)},
        "panels": numbered,
    }


def _grid(grid: Grid) -> Json:
    x, y, w, h = grid
    return {"x": x, "y": y, "w": w, "h": h}


def panel_targets(board: Json) -> list[tuple[Json, Json]]:
    """Every ``(panel, target)`` of a dashboard, rows excluded.

    >>> board = dashboard("u", "t", [row("r", 0), stat("s", [target("up")], unit="short",
    ...     grid=(0, 1, 4, 4))], description="")
    >>> [(p["title"], t["expr"]) for p, t in panel_targets(board)]
    [('s', 'up')]
    """
    return [(p, t) for p in board["panels"] if p["type"] != "row" for t in p["targets"]]


_VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")


def rate_interval_s(scrape_s: float, interval_s: float | None = None) -> float:
    """Grafana's ``$__rate_interval``: max(``$__interval`` + scrape, 4 x scrape).

    >>> rate_interval_s(5), rate_interval_s(5, interval_s=60)
    (20, 65)
    """
    interval = scrape_s if interval_s is None else interval_s
    return max(interval + scrape_s, 4 * scrape_s)


def resolve(
    expr: str,
    values: Mapping[str, str],
    *,
    scrape_s: float,
    interval_s: float | None = None,
) -> str:
    """``expr`` with ``$name`` / ``${name}`` variables and ``$__rate_interval`` /
    ``$__interval`` replaced; an unknown variable raises ``KeyError``.

    >>> resolve("x{w=\\"${window}\\"}[$__interval]", {"window": "1h"}, scrape_s=5)
    'x{w="1h"}[5s]'
    """

    def seconds(value: float) -> str:
        return f"{value:g}s"

    builtins = {
        "__rate_interval": seconds(rate_interval_s(scrape_s, interval_s)),
        "__interval": seconds(interval_s if interval_s is not None else scrape_s),
    }

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in builtins:
            return builtins[name]
        return values[name]

    return _VARIABLE.sub(replace, expr)


__all__ = [
    "DATASOURCE",
    "DATASOURCE_UID",
    "Json",
    "custom_variable",
    "dashboard",
    "panel_targets",
    "query_variable",
    "rate_interval_s",
    "resolve",
    "row",
    "stat",
    "target",
    "thresholds",
    "timeseries",
]
