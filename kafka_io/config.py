"""Kafka client keyword arguments from settings (pure: plain dicts, no client imports).

>>> from shoppulse.settings import KafkaSettings
>>> kafka_python_config(KafkaSettings(kafka_bootstrap_servers="h1:9092,h2:9092"))
{'bootstrap_servers': ['h1:9092', 'h2:9092'], 'security_protocol': 'PLAINTEXT'}
>>> cfg = kafka_python_config(KafkaSettings(kafka_security_protocol="SASL_SSL",
...     kafka_sasl_mechanism="SCRAM-SHA-512", kafka_sasl_username="u",
...     kafka_sasl_password="p", kafka_ssl_cafile="/ca.pem"))
>>> cfg["sasl_mechanism"], cfg["sasl_plain_password"], cfg["ssl_cafile"]
('SCRAM-SHA-512', 'p', '/ca.pem')
"""

from __future__ import annotations

import ssl
from typing import Any

from shoppulse.settings import KafkaSettings


def bootstrap_list(settings: KafkaSettings) -> list[str]:
    return [h.strip() for h in settings.kafka_bootstrap_servers.split(",") if h.strip()]


def kafka_python_config(settings: KafkaSettings) -> dict[str, Any]:
    """Connection kwargs for kafka-python clients (producer, consumer, admin)."""
    cfg: dict[str, Any] = {
        "bootstrap_servers": bootstrap_list(settings),
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol.startswith("SASL"):
        cfg["sasl_mechanism"] = settings.kafka_sasl_mechanism or "PLAIN"
        cfg["sasl_plain_username"] = settings.kafka_sasl_username
        password = settings.kafka_sasl_password
        cfg["sasl_plain_password"] = password.get_secret_value() if password else None
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        for name in ("cafile", "certfile", "keyfile"):
            path = getattr(settings, f"kafka_ssl_{name}")
            if path is not None:
                cfg[f"ssl_{name}"] = str(path)
    return cfg


def ssl_context(settings: KafkaSettings) -> ssl.SSLContext | None:
    """A TLS client context from the configured CA, certificate and key; None without TLS."""
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


def aiokafka_config(settings: KafkaSettings) -> dict[str, Any]:
    """Connection kwargs for aiokafka clients (what Faust uses underneath).

    >>> from shoppulse.settings import KafkaSettings
    >>> aiokafka_config(KafkaSettings(kafka_bootstrap_servers="h1:9092"))
    {'bootstrap_servers': ['h1:9092'], 'security_protocol': 'PLAINTEXT'}
    """
    cfg = kafka_python_config(settings)
    for name in ("cafile", "certfile", "keyfile"):
        cfg.pop(f"ssl_{name}", None)
    ctx = ssl_context(settings)
    if ctx is not None:
        cfg["ssl_context"] = ctx
    return cfg
