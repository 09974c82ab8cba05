"""The Alertmanager notifier against a real ``prometheus-alertmanager`` process.

Alertmanager routes everything to a webhook receiver on a local recording HTTP server;
the test checks the firing alert is stored and forwarded, then that the resolved one is.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from alerts.notifiers.alertmanager import AlertmanagerNotifier
from shoppulse.alert_shape import alert
from shoppulse.timeutil import format_ts_ms
from tests.alerts.conftest import RecordingServer, wait_for

NOTIFY_TIMEOUT_S = 30.0

pytestmark = pytest.mark.integration


def notifications(http_server: RecordingServer, status: str) -> list[dict[str, Any]]:
    out = []
    for req in http_server.snapshot():
        payload = req.json()
        if req.path == "/am" and payload.get("status") == status:
            out.append(payload)
    return out


async def test_firing_then_resolved_reach_the_receiver(
    alertmanager: str, http_server: RecordingServer
) -> None:
    now_ms = time.time_ns() // 1_000_000
    firing = alert(
        name="conversion_drop",
        store_id="s1",
        kpi="payment_conversion",
        severity="critical",
        status="firing",
        starts_at_ms=now_ms - 120_000,
        value=0.021,
        expected=0.034,
        summary="Payment conversion dropped",
        description="s1: 0.021 against 0.034 expected",
    )
    notifier = AlertmanagerNotifier(alertmanager, "http://dash.local/", timeout_s=5)

    await notifier.send(firing)

    def stored() -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = httpx.get(
            f"{alertmanager}/api/v2/alerts", params={"filter": 'store_id="s1"'}, timeout=5
        ).json()
        return alerts

    [am_alert] = wait_for("the alert in /api/v2/alerts", stored, NOTIFY_TIMEOUT_S)
    assert am_alert["labels"]["alertname"] == "conversion_drop"
    assert am_alert["status"]["state"] == "active"
    assert am_alert["annotations"]["summary"] == "Payment conversion dropped"
    assert am_alert["generatorURL"] == "http://dash.local/?store=s1"

    [fired, *_] = wait_for(
        "the firing webhook", lambda: notifications(http_server, "firing"), NOTIFY_TIMEOUT_S
    )
    [fired_alert] = fired["alerts"]
    assert fired_alert["labels"]["store_id"] == "s1"
    assert fired_alert["labels"]["severity"] == "critical"
    assert fired_alert["annotations"]["value"] == "0.021"

    resolved = dict(firing, status="resolved", endsAt=format_ts_ms(time.time_ns() // 1_000_000))
    await notifier.send(resolved)

    [done, *_] = wait_for(
        "the resolved webhook", lambda: notifications(http_server, "resolved"), NOTIFY_TIMEOUT_S
    )
    [done_alert] = done["alerts"]
    assert done_alert["status"] == "resolved"
    assert done_alert["labels"]["alertname"] == "conversion_drop"
    assert done_alert["endsAt"].startswith(resolved["endsAt"][:19])
