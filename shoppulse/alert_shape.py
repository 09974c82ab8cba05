"""Alert state changes shaped like Prometheus alerts, for ``shoppulse.alerts``.

>>> a = alert(name="conversion_drop", store_id="s1", kpi="payment_conversion",
...     severity="warning", status="firing", starts_at_ms=1_700_000_040_000,
...     value=0.021, expected=0.034, summary="Payment conversion dropped",
...     description="s1: 0.021 against 0.034 expected")
>>> a["labels"]["alertname"], a["status"], a["endsAt"], len(a["fingerprint"])
('conversion_drop', 'firing', None, 16)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Literal

from shoppulse.timeutil import format_ts_ms

Severity = Literal["info", "warning", "critical"]
Status = Literal["firing", "resolved"]


def fingerprint(labels: dict[str, str]) -> str:
    """A stable id of an alert's identity: a hash of its sorted labels."""
    text = "\x00".join(f"{k}={labels[k]}" for k in sorted(labels))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def alert(
    *,
    name: str,
    store_id: str,
    kpi: str,
    severity: Severity,
    status: Status,
    starts_at_ms: int,
    value: float | None,
    expected: float | None,
    summary: str,
    description: str,
    ends_at_ms: int | None = None,
    source: str = "detector",
    details: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    labels = {"alertname": name, "store_id": store_id, "kpi": kpi, "severity": severity}
    annotations = {"summary": summary, "description": description, "source": source}
    return {
        "labels": labels,
        "annotations": annotations | dict(details or {}),
        "status": status,
        "startsAt": format_ts_ms(starts_at_ms),
        "endsAt": None if ends_at_ms is None else format_ts_ms(ends_at_ms),
        "fingerprint": fingerprint(labels),
        "value": value,
        "expected": expected,
    }
