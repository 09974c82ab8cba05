"""The generated Grafana dashboards: committed and up to date, provisionable, and covering the
KPI registry (their queries run against a real Prometheus in
tests/deploy/test_stack_integration.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from dashboards.generate import HEADLINE_KPIS, render_all
from dashboards.grafana import DATASOURCE_UID, panel_targets, resolve
from shoppulse.metric_names import KPI_METRICS, KPI_WINDOWS
from tests.deploy.stack import DASHBOARDS_JSON, PROVISIONING, load_yaml

BOARDS = {
    path.name: json.loads(path.read_text(encoding="utf-8"))
    for path in DASHBOARDS_JSON.glob("*.json")
}


def test_committed_dashboards_are_the_generated_ones() -> None:
    generated = render_all()
    assert set(generated) == set(BOARDS), "run `make dashboards`"
    for name, text in generated.items():
        assert (DASHBOARDS_JSON / name).read_text(encoding="utf-8") == text, (
            f"{name} is stale: run `make dashboards`"
        )


def test_provisioned_shape_fixed_uids_and_the_provisioned_datasource() -> None:
    datasource = load_yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"][0]
    assert datasource["uid"] == DATASOURCE_UID
    uids = [board["uid"] for board in BOARDS.values()]
    assert len(set(uids)) == len(uids)
    for name, board in BOARDS.items():
        assert "id" not in board, f"{name}: provisioned dashboards carry no id"
        assert board["uid"] == name.removesuffix(".json")
        assert board["schemaVersion"] >= 39
        for panel, target in panel_targets(board):
            assert panel["datasource"]["uid"] == DATASOURCE_UID
            assert target["datasource"]["uid"] == DATASOURCE_UID
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                assert variable["datasource"]["uid"] == DATASOURCE_UID


def _overlaps(a: dict[str, int], b: dict[str, int]) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_panels_fit_the_grid_without_overlapping(name: str) -> None:
    panels = BOARDS[name]["panels"]
    assert [p["id"] for p in panels] == list(range(1, len(panels) + 1))
    for i, panel in enumerate(panels):
        grid = panel["gridPos"]
        assert grid["x"] >= 0
        assert grid["x"] + grid["w"] <= 24
        for other in panels[i + 1 :]:
            assert not _overlaps(grid, other["gridPos"]), (panel["title"], other["title"])


def test_every_kpi_has_a_panel_and_the_overview_compares_with_yesterday() -> None:
    exprs = [t["expr"] for board in BOARDS.values() for _, t in panel_targets(board)]
    for metric in KPI_METRICS:
        assert any(re.search(rf"\b{metric.name}\{{", e) for e in exprs), metric.name
    overview = [t["expr"] for _, t in panel_targets(BOARDS["shoppulse-overview.json"])]
    for name in HEADLINE_KPIS:
        metric = next(m for m in KPI_METRICS if m.kpi.name == name)
        assert any(metric.name in e and 'period="yesterday"' in e for e in overview), name


def _variables(board: dict[str, Any]) -> dict[str, Any]:
    return {v["name"]: v for v in board["templating"]["list"]}


def test_kpi_dashboards_have_store_and_window_variables_and_resolve() -> None:
    for name, board in BOARDS.items():
        variables = _variables(board)
        exprs = [t["expr"] for _, t in panel_targets(board)]
        if any("$store" in e for e in exprs):
            assert variables["store"]["type"] == "query"
            assert "store_id" in variables["store"]["definition"]
        if any("$window" in e for e in exprs):
            window = variables["window"]
            assert [o["value"] for o in window["options"]] == list(KPI_WINDOWS)
            assert window["current"]["value"] == "1h"
        for expr in exprs:
            resolved = resolve(expr, {"store": "s1", "window": "1h"}, scrape_s=5)
            assert "$" not in resolved, (name, expr)
