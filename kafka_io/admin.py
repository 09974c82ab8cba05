"""Create ShopPulse's topics (idempotently) with kafka-python's admin client."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from kafka_io.config import kafka_python_config
from shoppulse import topics
from shoppulse.settings import KafkaSettings

log = logging.getLogger("shoppulse.topics")

ALL_TOPICS = (
    *topics.SOURCE_TOPICS,
    topics.DEADLETTER,
    topics.KPIS,
    topics.KPIS_FINAL,
    topics.SIGNALS,
    topics.ALERTS,
    topics.ALERT_ACTIONS,
    topics.UNDELIVERABLE,
)

#: Per-topic configuration: the API rebuilds today, yesterday and the same day last week from
#: shoppulse.kpis, so it keeps 9 days whatever the broker's default retention.
TOPIC_CONFIGS: dict[str, dict[str, str]] = {
    topics.KPIS: {"retention.ms": str(9 * 24 * 3_600_000)},
    # One record per closed minute (and per source partition's horizon), read whole by a
    # restarting API (ADR 24): compacted, so a final replayed after a crash leaves one, and
    # deleted after the same 9 days; day-long segments, so neither waits a week to start.
    topics.KPIS_FINAL: {
        "cleanup.policy": "compact,delete",
        "retention.ms": str(9 * 24 * 3_600_000),
        "segment.ms": str(24 * 3_600_000),
    },
    # Acknowledgements and silences are state, keyed by what they are about: compaction keeps
    # the latest record of each key for ever.
    topics.ALERT_ACTIONS: {"cleanup.policy": "compact"},
    # What the dispatcher could not deliver, kept a month for the operators to look into.
    topics.UNDELIVERABLE: {"retention.ms": str(30 * 24 * 3_600_000)},
}


def ensure_topics(settings: KafkaSettings, names: Iterable[str] = ALL_TOPICS) -> list[str]:
    """Create the (logical) topics that do not exist yet; return the physical names created."""
    return _create_missing(
        settings, {settings.topic(name): TOPIC_CONFIGS.get(name, {}) for name in names}
    )


def ensure_changelog_topics(settings: KafkaSettings, names: Iterable[str]) -> list[str]:
    """Create the worker's table changelogs (physical names) that do not exist yet, compacted,
    as Faust would: before the worker starts, so a fresh namespace's first start does not
    assign and write to changelogs still being created (a worker was seen to stop after its
    first batch with "Ignoring missing topic" for two of them)."""
    return _create_missing(settings, {name: {"cleanup.policy": "compact"} for name in names})


def _create_missing(settings: KafkaSettings, configs: dict[str, dict[str, str]]) -> list[str]:
    admin = KafkaAdminClient(**kafka_python_config(settings), request_timeout_ms=15_000)
    try:
        existing = set(admin.list_topics())
        missing = [name for name in configs if name not in existing]
        if missing:
            try:
                admin.create_topics(
                    [
                        NewTopic(
                            name,
                            settings.topic_partitions,
                            settings.topic_replication_factor,
                            topic_configs=configs[name],
                        )
                        for name in missing
                    ]
                )
            except TopicAlreadyExistsError:
                log.info("topics created concurrently: %s", missing)
            log.info("topics created: %s", ", ".join(missing))
        return missing
    finally:
        admin.close()
