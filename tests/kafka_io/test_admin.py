from __future__ import annotations

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from kafka_io.admin import ALL_TOPICS, ensure_topics
from kafka_io.config import kafka_python_config
from shoppulse import topics
from shoppulse.settings import Settings

pytestmark = pytest.mark.integration


def test_topics_are_created_once_with_partitions_and_kpi_retention(settings: Settings) -> None:
    assert ensure_topics(settings) == []  # the fixture created them already
    admin = KafkaAdminClient(**kafka_python_config(settings))
    try:
        names = [settings.topic(t) for t in ALL_TOPICS]
        described = {t["name"]: t for t in admin.describe_topics(names)}
        assert set(described) == set(names)
        for topic in described.values():
            assert len(topic["partitions"]) == settings.topic_partitions
        kpis = settings.topic(topics.KPIS)
        response = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, kpis)])
        assert response["topic"][kpis]["retention.ms"]["value"] == str(9 * 24 * 3_600_000)
        finals = settings.topic(topics.KPIS_FINAL)
        response = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, finals)])
        assert response["topic"][finals]["cleanup.policy"]["value"] == "compact,delete"
        assert response["topic"][finals]["retention.ms"]["value"] == str(9 * 24 * 3_600_000)
        actions = settings.topic(topics.ALERT_ACTIONS)
        response = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, actions)])
        assert response["topic"][actions]["cleanup.policy"]["value"] == "compact"
    finally:
        admin.close()
