"""Faust broker credentials (SASL, TLS) from settings."""

from __future__ import annotations

from typing import Any

import faust

from kafka_io.config import ssl_context
from shoppulse.settings import WorkerSettings


def faust_credentials(settings: WorkerSettings) -> Any:
    """``broker_credentials`` for ``faust.App``: ``None``, TLS or SASL (optionally over TLS)."""
    ctx = ssl_context(settings)
    if settings.kafka_security_protocol.startswith("SASL"):
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            mechanism=settings.kafka_sasl_mechanism or "PLAIN",
            ssl_context=ctx,
        )
    if ctx is not None:
        return faust.SSLCredentials(ctx)
    return None
