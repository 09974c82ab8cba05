"""Kafka connection and topic names, shared by every process that talks to the broker.

>>> s = KafkaSettings(topic_namespace="t1.")
>>> s.topic("shop.orders")
't1.shop.orders'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from shoppulse import topics
from shoppulse.settings.base import ShopPulseSettings

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaSettings(ShopPulseSettings):
    """The brokers, how to authenticate to them, and the topics' names and layout."""

    help_title = "Kafka"

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

    def topic(self, name: str) -> str:
        """The physical name of a logical topic such as ``shop.orders``."""
        return f"{self.topic_namespace}{name}"

    def source_topic_partitions(self) -> list[tuple[str, int]]:
        """Every (physical topic, partition) of the four source topics.

        >>> len(KafkaSettings(topic_partitions=2).source_topic_partitions())
        8
        """
        return [
            (self.topic(t), p) for t in topics.SOURCE_TOPICS for p in range(self.topic_partitions)
        ]
