"""The worker's settings (``shoppulse worker``): Kafka, windows, its consumer, detection, rules.

>>> s = WorkerSettings(detection_sensitivity="quiet")
>>> s.detection_sensitivity, s.window_ms, s.topic("shop.orders")
('quiet', 60000, 'shop.orders')
>>> hasattr(s, "api_port")
False
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from shoppulse.settings.base import ShopPulseSettings
from shoppulse.settings.kafka import KafkaSettings
from shoppulse.settings.windows import WindowSettings


class DetectionSettings(ShopPulseSettings):
    """The anomaly detectors and stock rules (the worker; ``shoppulse bench-detect``)."""

    help_title = "detection"

    detection_enabled: bool = True
    stockout_horizon_h: float = Field(default=24.0, gt=0)
    detection_sensitivity: Literal["default", "quiet"] = Field(
        default="default",
        description="Anomaly detectors' thresholds: 'default' (under one false alarm per "
        "store-day on realistic traffic) or 'quiet' (about one per store-week, found later).",
    )
    detection_warmup: int = Field(
        default=30, ge=1, description="Observations per hour-of-day slot before a detector scores."
    )


class AlertRuleSettings(ShopPulseSettings):
    """Which alert rules the worker evaluates, and how it treats a silent store's alerts."""

    help_title = "alert rules"

    rules_file: Path | None = Field(
        default=None, description="Alert rules YAML; None: alerts/default_rules.yaml."
    )
    alert_quiet_after_s: float = Field(
        default=120.0,
        gt=0,
        description=(
            "A store with no record for this long has its alerts advanced by wall-clock time"
            " (held ones resolve, firing ones repeat)."
        ),
    )


class WorkerSettings(KafkaSettings, WindowSettings, DetectionSettings, AlertRuleSettings):
    """Everything ``shoppulse worker`` reads."""

    help_title = "worker"

    worker_app_id: str = "shoppulse-worker"
    worker_data_dir: Path = Path("var/worker")
    worker_store: str = Field(default="memory://", description="Faust table store URL.")
    worker_batch_max: int = Field(default=10_000, ge=1)
    worker_session_timeout_s: float = Field(default=10.0, gt=0)
    worker_heartbeat_interval_s: float = Field(default=1.0, gt=0)
    worker_rebalance_timeout_s: float = Field(default=10.0, gt=0)
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(
        default=0, ge=0, le=65535, description="Prometheus /metrics of the worker; 0: off."
    )
    provisional_interval_s: float = Field(default=1.0, gt=0)
