"""Create ShopPulse's topics (idempotently) with kafka-python's admin client."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from shoppulse import topics
from shoppulse.kafka_config import kafka_python_config
from shoppulse.settings import Settings

log = logging.getLogger("shoppulse.topics")

ALL_TOPICS = (*topics.SOURCE_TOPICS, topics.DEADLETTER, topics.KPIS, topics.ALERTS)


def ensure_topics(settings: Settings, names: Iterable[str] = ALL_TOPICS) -> list[str]:
    """Create the (logical) topics that do not exist yet; return the physical names created."""
    admin = KafkaAdminClient(**kafka_python_config(settings), request_timeout_ms=15_000)
    try:
        existing = set(admin.list_topics())
        wanted = [settings.topic(n) for n in names]
        missing = [t for t in wanted if t not in existing]
        if missing:
            try:
                admin.create_topics(
                    [
                        NewTopic(t, settings.topic_partitions, settings.topic_replication_factor)
                        for t in missing
                    ]
                )
            except TopicAlreadyExistsError:
                log.info("topics created concurrently: %s", missing)
            log.info("topics created: %s", ", ".join(missing))
        return missing
    finally:
        admin.close()
