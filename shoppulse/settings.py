"""Settings, read from ``SHOPPULSE_*`` environment variables (pydantic-settings).

Settings are built once at the edge (the ``shoppulse`` command, the API factory,
the Faust app factory) and passed in; nothing deep inside reads the environment.

>>> s = Settings(topic_namespace="t1.")
>>> s.topic("shop.orders")
't1.shop.orders'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shoppulse import topics

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class Settings(BaseSettings):
    """Every tunable of ShopPulse; see ``docs/configuration.md``."""

    model_config = SettingsConfigDict(env_prefix="SHOPPULSE_", extra="ignore")

    # Kafka connection (shared by worker, API, simulator and bench).
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    topic_namespace: str = Field(
        default="", description="Prefix for every topic name, to isolate tenants or test runs."
    )
    topic_partitions: int = Field(default=4, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)

    # Worker (Faust).
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

    # Detection (shoppulse.store_detectors).
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

    # Alert dispatcher (alerts.dispatcher).
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

    # Windows (event time).
    window_s: int = Field(default=60, ge=1)
    grace_s: float = Field(default=5.0, ge=0)
    idle_close_s: float = Field(
        default=10.0,
        gt=0,
        description="Silence after which a store's minutes that ended (plus grace) by the "
        "wall clock close, such as a finished backfill's last minute (ADR 17).",
    )
    provisional_interval_s: float = Field(default=1.0, gt=0)
    max_future_skew_s: float = Field(default=300.0, ge=0)

    # API.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_history_minutes: int = Field(
        default=8 * 24 * 60 + 60,
        ge=1,
        description=(
            "Upper bound on the minutes of history the API keeps. It keeps minutes from one"
            " hour before the start of the same UTC day last week (for the yesterday and"
            " last-week comparisons), at most 8 days + 1 hour = 11,580 minutes, the default;"
            " a lower value saves memory and leaves older comparisons null."
        ),
    )
    api_keys: str = Field(
        default="",
        description=(
            "Comma-separated name:role:sha256:<hex> entries (make one with `shoppulse api-key`);"
            " empty: the API is open (development)."
        ),
    )
    api_kiosk: bool = Field(
        default=False,
        description=(
            "With API keys set, still let anyone read (the wall page on a TV); writes need keys."
        ),
    )
    api_cors_origins: str = Field(
        default="", description="Comma-separated origins allowed by CORS; empty: same origin only."
    )
    api_max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Requests with a larger body get 413."
    )
    shopify_webhook_secret: SecretStr | None = Field(
        default=None,
        description=(
            "The Shopify app's client secret, which signs its webhooks (X-Shopify-Hmac-Sha256);"
            " none: POST /api/v1/connectors/shopify/{store_id} refuses every webhook (401)."
        ),
    )
    targets_file: Path | None = Field(
        default=None,
        description="Daily GMV targets (YAML, config/targets.example.yaml); none: no targets.",
    )
    scorecards_file: Path | None = Field(
        default=None,
        description=(
            "Role scorecard weights and marks (YAML, config/scorecards.example.yaml);"
            " none: the article's weights."
        ),
    )

    def to_env(self) -> dict[str, str]:
        """These settings as ``SHOPPULSE_*`` variables, to hand to a child process.

        >>> Settings(topic_namespace="x.").to_env()["SHOPPULSE_TOPIC_NAMESPACE"]
        'x.'
        """
        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"SHOPPULSE_{name.upper()}"] = str(value)
        return env

    def topic(self, name: str) -> str:
        """The physical name of a logical topic such as ``shop.orders``."""
        return f"{self.topic_namespace}{name}"

    def source_topic_partitions(self) -> list[tuple[str, int]]:
        """Every (physical topic, partition) of the four source topics."""
        return [
            (self.topic(t), p) for t in topics.SOURCE_TOPICS for p in range(self.topic_partitions)
        ]

    @property
    def window_ms(self) -> int:
        return self.window_s * 1000

    @property
    def grace_ms(self) -> int:
        return int(self.grace_s * 1000)
