"""Every registry KPI has one Prometheus gauge family whose name promtool accepts."""

from __future__ import annotations

import re
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.rollups import WINDOWS
from shoppulse.kpis import REGISTRY
from shoppulse.metric_names import KPI_LABELS, KPI_METRICS, KPI_WINDOWS, PERIODS, kpi_metric
from tests.promtool import check_metrics

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def test_every_kpi_has_a_unique_well_formed_name() -> None:
    names = [m.name for m in KPI_METRICS]
    assert [m.kpi.name for m in KPI_METRICS] == [k.name for k in REGISTRY]
    assert len(set(names)) == len(names)
    for name in names:
        assert NAME.match(name)
        assert name.startswith("shoppulse_kpi_")
        assert not name.endswith("_total"), "KPIs are gauges"


def test_units_are_base_units_and_scales_restore_the_registry_value() -> None:
    by_unit = {k.unit: kpi_metric(k) for k in REGISTRY}
    assert by_unit["hours"].name.endswith("_seconds")
    assert by_unit["hours"].scale == 3600
    assert by_unit["days"].name.endswith("_seconds")
    assert by_unit["days"].scale == 86_400
    assert by_unit["seconds"].name.endswith("_seconds")
    assert by_unit["seconds"].scale == 1
    assert by_unit["ratio"].name.endswith("_ratio")
    assert by_unit["minor_currency"].name.endswith("_minor")
    velocity = by_unit["units_per_hour"]
    assert velocity.name.endswith("_units_per_second")
    assert velocity.to_metric(7200.0) == 2.0


def test_window_labels_are_the_api_windows() -> None:
    assert KPI_WINDOWS == WINDOWS
    assert KPI_LABELS == ("store_id", "window", "period")
    assert PERIODS == ("current", "yesterday")


class _AllKpis(Collector):
    def collect(self) -> Iterator[Metric]:
        for metric in KPI_METRICS:
            family = GaugeMetricFamily(metric.name, metric.help, labels=KPI_LABELS)
            family.add_metric(["s1", "1h", "current"], 1.0)
            yield family


def test_promtool_accepts_every_kpi_family() -> None:
    registry = CollectorRegistry()
    registry.register(_AllKpis())
    check_metrics(generate_latest(registry))
