"""``promtool check metrics`` on the worker's, the dispatcher's and the API's registries,
built as their commands build them, without a broker (fast; the running processes' own
``/metrics`` are checked again in tests/deploy/test_stack_integration.py).

- worker: ``streams/worker.py``'s registry (process, platform and GC collectors) with
  ``streams.app.create_app``'s metrics registered on it; Faust builds its app lazily,
  so no broker is reached;
- dispatcher: ``alerts.dispatcher.Dispatcher`` with ``deploy/dispatcher/receivers.yml``,
  as ``shoppulse dispatcher`` builds it (its series created at 0 for every receiver);
- API: ``GET /metrics`` of ``api.app.create_app`` without its Kafka feeds, its view
  filled with a minute of two stores and one firing alert.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from alerts.board import AlertBoard
from alerts.dispatcher import Dispatcher
from alerts.receivers import load_receivers
from api.app import create_app as create_api
from api.view import KpiView
from shoppulse.settings import Settings
from streams.app import create_app as create_worker_app
from tests.alerts.alert_records import roas_alert
from tests.api.helpers import FakeClock, make_snap
from tests.deploy.stack import RECEIVERS
from tests.promtool import PROMTOOL, check_metrics, promtool


def _settings(tmp_path: Path) -> Settings:
    return Settings(topic_namespace="unit.", worker_data_dir=tmp_path / "worker")


def _worker(settings: Settings) -> bytes:
    registry = CollectorRegistry()  # as streams/worker.py builds it
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    create_worker_app(settings, registry)
    return generate_latest(registry)


def _dispatcher(settings: Settings) -> bytes:
    registry = CollectorRegistry()  # as cli/dispatcher.py builds it
    config = load_receivers(RECEIVERS.read_text(encoding="utf-8"))
    Dispatcher(settings, config, registry=registry)
    return generate_latest(registry)


def _api(settings: Settings) -> bytes:
    clock = FakeClock()
    view = KpiView(clock=clock)
    view.apply(make_snap("s1"))
    view.apply(make_snap("s2"))
    board = AlertBoard()
    board.apply(roas_alert("s1", start=clock.now_ms - 60_000, value=2.0))
    app = create_api(settings, start_feed=False, view=view, alert_board=board)
    with TestClient(app) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    content: bytes = response.content
    return content


#: Families each process must expose (a registry built wrongly would miss them).
EXPECTED = {
    "worker": (
        "shoppulse_events_total",
        "shoppulse_dead_letters_total",
        "shoppulse_event_to_snapshot_seconds_bucket",
        "process_cpu_seconds_total",
        "python_info",
    ),
    "dispatcher": (
        'shoppulse_notifications_total{outcome="failed",receiver="alertmanager"} 0.0',
        'shoppulse_notifications_total{outcome="failed",receiver="console"} 0.0',
        "shoppulse_notifications_queued",
    ),
    "api": (
        'shoppulse_kpi_orders{period="current",store_id="all",window="1h"}',
        'shoppulse_store_last_update_timestamp_seconds{store_id="s2"}',
        'shoppulse_alerts_firing{severity="warning",store_id="s1"} 1.0',
        "shoppulse_websocket_clients",
    ),
}


@pytest.mark.parametrize("process", sorted(EXPECTED))
def test_promtool_accepts_each_registry(process: str, tmp_path: Path) -> None:
    render = {"worker": _worker, "dispatcher": _dispatcher, "api": _api}[process]
    exposition = render(_settings(tmp_path))
    text = exposition.decode()
    for expected in EXPECTED[process]:
        assert expected in text, (process, expected)
    check_metrics(exposition)


def test_promtool_check_metrics_rejects_a_bad_exposition() -> None:
    """The check is not vacuous: promtool's lint fails a non-base unit."""
    bad = b"# HELP x_milliseconds A latency.\n# TYPE x_milliseconds gauge\nx_milliseconds 1\n"
    with pytest.raises(AssertionError, match="base unit"):
        promtool("check", "metrics", stdin=bad)
    assert Path(PROMTOOL).exists()
