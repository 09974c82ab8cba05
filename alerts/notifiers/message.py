"""Pure rendering of a ``shoppulse.alerts`` record as a human message.

>>> from shoppulse.alert_shape import alert
>>> a = alert(name="conversion_drop", store_id="s1", kpi="payment_conversion",
...     severity="warning", status="resolved", starts_at_ms=1_700_000_040_000,
...     ends_at_ms=1_700_003_763_000, value=0.021, expected=0.034,
...     summary="Payment conversion dropped", description="s1: 0.021 against 0.034")
>>> print(render_text(a, "http://host/"))
[RESOLVED] Payment conversion dropped (s1)
Severity: warning
Store: s1
KPI: payment_conversion = 0.021 against 0.034 expected (-38.2%)
Since: 2023-11-14T22:14:00.000Z
Resolved: 2023-11-14T23:16:03.000Z (after 1h 2m 3s)
Details: s1: 0.021 against 0.034
Dashboard: http://host/?store=s1
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shoppulse.timeutil import TimestampError, parse_ts_ms

_SEVERITY_EMOJI = {"critical": ":red_circle:", "warning": ":large_orange_circle:"}


@dataclass(frozen=True)
class AlertView:
    """The fields of an alert a human cares about, already formatted."""

    status: str
    summary: str
    description: str
    store_id: str
    kpi: str
    severity: str
    how_bad: str
    starts_at: str
    ends_at: str | None
    duration: str | None
    dashboard: str


def dashboard_link(dashboard_url: str, store_id: str) -> str:
    """``dashboard_url`` with ``store=<store_id>`` added to its query (URL-encoded).

    >>> dashboard_link("http://host/?range=1h", "s 1")
    'http://host/?range=1h&store=s+1'
    """
    parts = urlsplit(dashboard_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "store"]
    query.append(("store", store_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


def format_duration(seconds: float) -> str:
    """A compact duration.

    >>> format_duration(3723), format_duration(59.6), format_duration(0)
    ('1h 2m 3s', '1m 0s', '0s')
    """
    total = max(0, round(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if days or hours:
        parts.append(f"{hours}h")
    if days or hours or minutes:
        parts.append(f"{minutes}m")
    parts.append(f"{secs}s")
    return " ".join(parts)


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def how_bad(alert: Mapping[str, Any]) -> str:
    """The value against the rule's condition (a threshold rule's ``op``/``threshold``
    annotations; a rate of change also shows the values compared), or against the
    ``expected`` value (a detector's baseline), with the relative change.

    >>> how_bad({"value": 45, "annotations": {"op": ">", "threshold": "30"}})
    '45 (alert when > 30)'
    >>> how_bad({"value": -0.6, "annotations": {"op": "<", "threshold": "-0.5",
    ...     "window_s": "600", "before": "120", "after": "48"}})
    '-60.0% in 10m 0s, from 120 to 48 (alert when < -50.0%)'
    >>> how_bad({"value": 0.021, "expected": 0.034})
    '0.021 against 0.034 expected (-38.2%)'
    >>> how_bad({"value": 12, "expected": 30, "annotations": {"band": "6"}})
    '12 against 30 ± 6 expected (-60.0%)'
    >>> how_bad({"value": 15, "expected": 15, "annotations": {"band": "4", "new_level": "0.5"}})
    '15 against 15 ± 4 expected (+0.0%), now the normal level (50% of the usual)'
    """
    value = _num(alert.get("value"))
    if value is None:
        return "value unknown"
    annotations = alert.get("annotations") or {}
    op, threshold = annotations.get("op"), _num(annotations.get("threshold"))
    if op in (">", ">=", "<", "<=") and threshold is not None:
        window_s = _num(annotations.get("window_s"))
        if window_s is None:
            return f"{_fmt(value)} (alert when {op} {_fmt(threshold)})"
        text = f"{value * 100:+.1f}% in {format_duration(window_s)}"
        before, after = _num(annotations.get("before")), _num(annotations.get("after"))
        if before is not None and after is not None:
            text += f", from {_fmt(before)} to {_fmt(after)}"
        return f"{text} (alert when {op} {threshold * 100:+.1f}%)"
    expected = _num(alert.get("expected"))
    if expected is not None:
        band = _num(annotations.get("band"))
        spread = f" ± {_fmt(band)}" if band is not None else ""
        text = f"{_fmt(value)} against {_fmt(expected)}{spread} expected"
        if expected != 0:
            text += f" ({(value - expected) / abs(expected) * 100:+.1f}%)"
        level = _num(annotations.get("new_level"))
        if level is not None:
            text += f", now the normal level ({level:.0%} of the usual)"
        return text
    if threshold is not None:  # a record from a producer that gives no operator
        return f"{_fmt(value)} (threshold {_fmt(threshold)})"
    return _fmt(value)


def _ts_ms(value: object) -> int | None:
    if value is None:
        return None
    try:
        return parse_ts_ms(value)
    except TimestampError:
        return None


def view(alert: Mapping[str, Any], dashboard_url: str) -> AlertView:
    """Extract and format what a message shows; tolerant of missing fields."""
    labels = alert.get("labels") or {}
    annotations = alert.get("annotations") or {}
    store_id = str(labels.get("store_id", "unknown"))
    status = str(alert.get("status", "firing"))
    starts_raw, ends_raw = alert.get("startsAt"), alert.get("endsAt")
    ends_at = str(ends_raw) if status == "resolved" and ends_raw else None
    duration = None
    start_ms, end_ms = _ts_ms(starts_raw), _ts_ms(ends_raw)
    if ends_at is not None and start_ms is not None and end_ms is not None:
        duration = format_duration((end_ms - start_ms) / 1000)
    return AlertView(
        status=status,
        summary=str(annotations.get("summary") or labels.get("alertname", "alert")),
        description=str(annotations.get("description", "")),
        store_id=store_id,
        kpi=str(labels.get("kpi", "")),
        severity=str(labels.get("severity", "unknown")),
        how_bad=how_bad(alert),
        starts_at=str(starts_raw or "unknown"),
        ends_at=ends_at,
        duration=duration,
        dashboard=dashboard_link(dashboard_url, store_id),
    )


def title(alert: Mapping[str, Any]) -> str:
    """``[FIRING|RESOLVED] <summary> (<store_id>)``, also the e-mail subject."""
    v = view(alert, "")
    return f"[{v.status.upper()}] {v.summary} ({v.store_id})"


def _ended_line(v: AlertView) -> str | None:
    if v.ends_at is None:
        return None
    after = f" (after {v.duration})" if v.duration else ""
    return f"Resolved: {v.ends_at}{after}"


def render_text(alert: Mapping[str, Any], dashboard_url: str) -> str:
    """The plain-text message (e-mail body, webhook-less channels)."""
    v = view(alert, dashboard_url)
    lines = [
        title(alert),
        f"Severity: {v.severity}",
        f"Store: {v.store_id}",
        f"KPI: {v.kpi} = {v.how_bad}" if v.kpi else f"Value: {v.how_bad}",
        f"Since: {v.starts_at}",
    ]
    ended = _ended_line(v)
    if ended:
        lines.append(ended)
    if v.description:
        lines.append(f"Details: {v.description}")
    lines.append(f"Dashboard: {v.dashboard}")
    return "\n".join(lines)


def slack_payload(alert: Mapping[str, Any], dashboard_url: str) -> dict[str, Any]:
    """A Slack incoming-webhook payload: ``text`` fallback plus Block Kit ``blocks``."""
    v = view(alert, dashboard_url)
    icon = (
        ":white_check_mark:"
        if v.status == "resolved"
        else _SEVERITY_EMOJI.get(v.severity, ":large_blue_circle:")
    )
    fields = [
        f"*Store*\n{v.store_id}",
        f"*Severity*\n{v.severity}",
        f"*{v.kpi or 'Value'}*\n{v.how_bad}",
        f"*Since*\n{v.starts_at}",
    ]
    ended = _ended_line(v)
    if ended:
        fields.append(f"*Resolved*\n{ended.removeprefix('Resolved: ')}")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} *{title(alert)}*"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if v.description:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": v.description}]})
    blocks.append(
        {"type": "section", "text": {"type": "mrkdwn", "text": f"<{v.dashboard}|Open dashboard>"}}
    )
    return {"text": render_text(alert, dashboard_url), "blocks": blocks}
