"""Faust broker credentials (SASL, TLS) from settings."""

from __future__ import annotations

import ssl
from typing import Any

import faust

from shoppulse.settings import Settings


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A TLS client context from the configured CA, certificate and key files, if TLS is on."""
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    ctx = ssl.create_default_context(
        cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    )
    if settings.kafka_ssl_certfile:
        ctx.load_cert_chain(
            str(settings.kafka_ssl_certfile),
            str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
        )
    return ctx


def faust_credentials(settings: Settings) -> Any:
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
