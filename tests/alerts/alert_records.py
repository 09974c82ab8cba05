"""A builder of ``shoppulse.alerts`` records for the board, API and integration tests."""

from __future__ import annotations

from typing import Any

from shoppulse.alert_shape import alert


def roas_alert(
    store: str = "s1",
    status: str = "firing",
    *,
    start: int,
    end: int | None = None,
    name: str = "roas_low",
    value: float | None = 3.1,
) -> dict[str, Any]:
    """A ``roas`` alert of ``store`` (``alertname`` = ``name``) in the producer's shape."""
    return alert(
        name=name,
        store_id=store,
        kpi="roas",
        severity="warning",
        status="resolved" if status == "resolved" else "firing",
        starts_at_ms=start,
        ends_at_ms=end,
        value=value,
        expected=4.0,
        summary="ROAS below 4",
        description=f"{store}: ROAS {value}",
    )
