"""The API's settings (``shoppulse api``): Kafka, windows, history, access and its files.

>>> s = ApiSettings(api_port=9000)
>>> s.api_port, s.grace_ms, s.api_history_minutes
(9000, 5000, 11580)
>>> hasattr(s, "worker_app_id")
False
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from shoppulse.settings.base import ShopPulseSettings
from shoppulse.settings.kafka import KafkaSettings
from shoppulse.settings.windows import WindowSettings


class HistorySettings(ShopPulseSettings):
    """How far back the API serves minutes (``shoppulse replay`` warns about older rows)."""

    help_title = "history"

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


class ApiSettings(KafkaSettings, WindowSettings, HistorySettings):
    """Everything ``shoppulse api`` reads."""

    help_title = "API"

    api_host: str = "127.0.0.1"
    api_port: int = 8000
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
