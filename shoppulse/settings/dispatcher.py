"""The alert dispatcher's settings (``shoppulse dispatcher``): Kafka, receivers, delivery.

>>> s = DispatcherSettings(dispatcher_drain_s=3)
>>> s.dispatcher_drain_s, s.topic("shoppulse.alerts")
(3.0, 'shoppulse.alerts')
>>> hasattr(s, "api_port")
False
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shoppulse.settings.kafka import KafkaSettings


class DispatcherSettings(KafkaSettings):
    """Everything ``shoppulse dispatcher`` reads."""

    help_title = "dispatcher"

    receivers_file: Path | None = Field(
        default=None,
        description=(
            "Receivers and routes YAML (alerts/receivers.example.yaml); none: every alert"
            " in the dispatcher's log."
        ),
    )
    dashboard_url: str = Field(
        default="http://127.0.0.1:8000/",
        description="The wall page's public URL, linked from every alert message.",
    )
    dispatcher_group_id: str = "shoppulse-dispatcher"
    dispatcher_session_timeout_s: float = Field(default=10.0, gt=0)
    dispatcher_heartbeat_interval_s: float = Field(default=1.0, gt=0)
    dispatcher_max_in_flight: int = Field(
        default=10_000,
        ge=1,
        description="Alert records read but not yet delivered everywhere before reading pauses.",
    )
    dispatcher_backfill_s: float = Field(
        default=900.0,
        ge=0,
        description=(
            "On the group's very first start, deliver the alerts of this many past seconds"
            " (later starts resume from the committed offsets)."
        ),
    )
    dispatcher_replay_h: float = Field(
        default=24.0,
        gt=0,
        description="Hours of shoppulse.alerts read at start to learn which alerts are firing.",
    )
    dispatcher_drain_s: float = Field(
        default=10.0, ge=0, description="On stop, wait this long for deliveries in progress."
    )
    dispatcher_metrics_host: str = "127.0.0.1"
    dispatcher_metrics_port: int = Field(
        default=0, ge=0, le=65535, description="Prometheus /metrics of the dispatcher; 0: off."
    )
