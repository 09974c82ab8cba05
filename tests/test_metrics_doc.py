"""docs/metrics.md documents exactly the metrics, labels, rules and alerts of the code."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Metric

from alerts.board import AlertBoard
from alerts.dispatcher_metrics import DispatcherMetrics
from alerts.topic_follower import FeedStats
from api.broadcast import Broadcaster
from api.metrics import ApiMetrics
from api.view import KpiView
from shoppulse.metric_names import KPI_METRICS
from streams.metrics import WorkerMetrics
from tests.api.helpers import FakeClock, make_snap
from tests.deploy.stack import PROMETHEUS_DIR, load_yaml

DOC = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
Row = tuple[str, ...]


def _sections() -> dict[str, list[Row]]:
    """Each ``## `` section's table rows whose first cell is a code name, cells unquoted."""
    out: dict[str, list[Row]] = {}
    section = ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            out.setdefault(section, []).append(tuple(c.replace("`", "") for c in cells))
    return out


def _labels(cell: str) -> set[str]:
    return set() if cell == "—" else {label.strip() for label in cell.split(",")}


def _documented(section: str) -> dict[str, tuple[str, set[str]]]:
    return {row[0]: (row[1], _labels(row[2])) for row in _sections()[section]}


def _exposed_name(family: Metric) -> str:
    return f"{family.name}_total" if family.type == "counter" else family.name


def _wrapped(metrics: Any) -> dict[str, tuple[str, set[str]]]:
    """The families of a dataclass of prometheus_client metrics (WorkerMetrics, ...)."""
    out = {}
    for field in dataclasses.fields(metrics):
        metric = getattr(metrics, field.name)
        if isinstance(metric, CollectorRegistry):
            continue
        (family,) = metric.describe()
        out[_exposed_name(family)] = (family.type, set(metric._labelnames))
    return out


class _Feed:
    def __init__(self) -> None:
        self.stats = FeedStats()
        self.caught_up = True


def _api() -> dict[str, tuple[str, set[str]]]:
    view = KpiView(clock=FakeClock())
    view.apply(make_snap())
    metrics = ApiMetrics.create(
        view,
        broadcaster=Broadcaster(),
        board=AlertBoard(),
        feeds={"kpis": _Feed(), "alerts": _Feed(), "alert_actions": _Feed()},
    )
    metrics.update()
    kpi_names = {m.name for m in KPI_METRICS}
    out = {}
    for family in metrics.registry.collect():
        if family.name in kpi_names:
            continue
        labels = {k for s in family.samples for k in s.labels}
        out[_exposed_name(family)] = (family.type, labels)
    return out


def test_kpi_table_lists_every_kpi_metric_with_its_unit() -> None:
    rows = _sections()["KPI gauges (API)"]
    documented = [row for row in rows if row[0].startswith("shoppulse_kpi_")]
    expected = [(m.name, m.kpi.name, m.kpi.group, m.unit) for m in KPI_METRICS]
    assert documented == expected


def test_api_worker_and_dispatcher_tables_match_the_code() -> None:
    worker = WorkerMetrics.create(CollectorRegistry())
    dispatcher = DispatcherMetrics.create(CollectorRegistry())
    for section, code in (
        ("API", _api()),
        ("Worker", _wrapped(worker)),
        ("Dispatcher", _wrapped(dispatcher)),
    ):
        assert _documented(section) == code, section


def test_recording_rules_and_alerts_tables_match_the_rule_files() -> None:
    groups = [g for p in (PROMETHEUS_DIR / "rules").glob("*.yml") for g in load_yaml(p)["groups"]]
    rules = [r for g in groups for r in g["rules"]]
    records = {r["record"] for r in rules if "record" in r}
    assert {row[0] for row in _sections()["Recording rules"]} == records
    alerts = {r["alert"]: r["labels"]["severity"] for r in rules if "alert" in r}
    assert {row[0]: row[1] for row in _sections()["Alerts"]} == alerts
    for row in _sections()["Recording rules"]:
        assert re.fullmatch(r"shoppulse:\w+:\w+", row[0])
