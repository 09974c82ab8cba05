"""Forward alerts to a Prometheus Alertmanager via ``POST /api/v2/alerts``.

Firing alerts are sent without ``endsAt``: Alertmanager then resolves them after its
``resolve_timeout`` unless re-sent, so the dispatcher must re-send them while they fire.
Resolved alerts carry ``endsAt`` (clamped to at most now) so Alertmanager resolves them.

>>> from shoppulse.alert_shape import alert
>>> a = alert(name="roas_low", store_id="s1", kpi="roas", severity="critical",
...     status="firing", starts_at_ms=1_700_000_040_000, value=3.2, expected=None,
...     summary="ROAS low", description="s1: roas is 3.2")
>>> am = to_alertmanager(a, "http://dash/", now_ms=1_700_000_100_000)
>>> am["labels"]["alertname"], "endsAt" in am, am["annotations"]["value"]
('roas_low', False, '3.2')
>>> r = dict(a, status="resolved", endsAt="2023-11-14T22:20:00.000Z")
>>> to_alertmanager(r, "http://dash/", now_ms=1_700_000_100_000)["endsAt"]
'2023-11-14T22:15:00.000Z'
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from alerts.notifiers.base import post
from alerts.notifiers.message import dashboard_link
from shoppulse.timeutil import TimestampError, format_ts_ms, parse_ts_ms


def _label_value(value: object) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    return text or None  # Alertmanager, like Prometheus, treats "" as no label


def to_alertmanager(alert: Mapping[str, Any], dashboard_url: str, *, now_ms: int) -> dict[str, Any]:
    """One ``postableAlert``: string labels/annotations, startsAt, endsAt if resolved."""
    labels: dict[str, str] = {}
    for key, raw in (alert.get("labels") or {}).items():
        value = _label_value(raw)
        if value is not None:
            labels[str(key)] = value
    annotations: dict[str, str] = {}
    for key, raw in (alert.get("annotations") or {}).items():
        value = _label_value(raw)
        if value is not None:
            annotations[str(key)] = value
    for key in ("value", "expected", "fingerprint"):
        value = _label_value(alert.get(key))
        if value is not None:
            annotations.setdefault(key, value)
    store_id = labels.get("store_id", "")
    out: dict[str, Any] = {
        "labels": labels,
        "annotations": annotations,
        "generatorURL": dashboard_link(dashboard_url, store_id),
    }
    starts = alert.get("startsAt")
    if starts:
        out["startsAt"] = str(starts)
    if alert.get("status") == "resolved":
        out["endsAt"] = format_ts_ms(_resolved_at_ms(alert.get("endsAt"), now_ms))
    return out


def _resolved_at_ms(ends_at: object, now_ms: int) -> int:
    """``endsAt`` no later than now (Alertmanager resolves on ``endsAt <= now``); now when it
    is missing or unreadable."""
    if not ends_at:
        return now_ms
    try:
        return min(now_ms, parse_ts_ms(ends_at))
    except TimestampError:
        return now_ms


class AlertmanagerNotifier:
    """POSTs alerts to ``<base_url>/api/v2/alerts``; 5xx/429/connection errors retryable."""

    def __init__(
        self,
        base_url: str,
        dashboard_url: str,
        *,
        timeout_s: float = 10.0,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/api/v2/alerts"
        self.dashboard_url = dashboard_url
        self.timeout_s = timeout_s
        self._clock_ms = clock_ms
        self._client = client

    async def send(self, alert: Mapping[str, Any]) -> None:
        await self.send_many([alert])

    async def send_many(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        now_ms = self._clock_ms()
        body = [to_alertmanager(a, self.dashboard_url, now_ms=now_ms) for a in alerts]
        await post(
            self.url,
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            timeout_s=self.timeout_s,
            client=self._client,
        )
