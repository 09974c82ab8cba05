"""The action log against the real Kafka broker: publish, follow, rebuild, bad records.

Every wait is bounded; records are produced with kafka-python where the test needs
records the log itself would never write.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from alerts.action_log import ActionLog, ActionLogUnavailableError
from alerts.actions import Ack, Matcher, Silence
from cli.broker import free_port
from kafka_io.config import kafka_python_config
from shoppulse.settings import Settings
from shoppulse.topics import ALERT_ACTIONS
from tests.kafka_helpers import producer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

READY_S = 60.0
T = 1_714_564_800_000


@asynccontextmanager
async def running(settings: Settings, **kw: Any) -> AsyncIterator[ActionLog]:
    log = ActionLog(settings, **kw)
    await log.start()
    try:
        yield log
    finally:
        await log.stop()


async def eventually(what: str, check: Callable[[], bool], timeout_s: float = READY_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        await asyncio.sleep(0.1)


def silence(sid: str = "s-1", **over: Any) -> Silence:
    fields: dict[str, Any] = {
        "id": sid,
        "matchers": (Matcher("store_id", "store-00[12]", "=~"),),
        "starts_at_ms": T,
        "ends_at_ms": T + 3_600_000,
        "created_by": "ana",
        "comment": "maintenance",
        "updated_at_ms": T,
    }
    fields.update(over)
    return Silence(**fields)


async def test_publish_follow_and_rebuild(settings: Settings) -> None:
    ack = Ack("f1", "2024-05-01T11:50:00.000Z", "ana", "on it", T + 1_000)
    async with running(settings) as first:
        assert await first.wait_ready(READY_S)
        assert first.ready
        await first.publish(silence())
        await first.publish(ack)
        # read your writes: in the book as soon as publish returns
        assert first.book.silence("s-1") == silence()
        assert first.book.ack_for("f1", ack.starts_at) == ack
        expired = silence().expired_at(T + 60_000)
        await first.publish(expired)
        assert first.book.silence("s-1") == expired

        p = producer(settings)
        topic = settings.topic(ALERT_ACTIONS)
        for raw in (b"{oops", b'{"type": "mute"}', b'{"type": "ack", "fingerprint": 3}'):
            p.send(topic, key=b"junk", value=raw)
        p.send(topic, key=b"silence:gone", value=None)  # a tombstone
        p.flush(timeout=20)
        p.close(timeout=10)

        # a new instance (a restart) rebuilds the same state from the topic
        async with running(settings, client_id="test-second") as second:
            assert await second.wait_ready(READY_S)
            assert second.book.silence("s-1") == expired
            assert second.book.ack_for("f1", ack.starts_at) == ack
            assert second.stats.bad_records == 4
            assert second.status()["bad_records"] == 4
            assert second.status()["caught_up"] is True
            # what one instance publishes, the other one reads (it follows the topic)
            await second.publish(silence("s-2", updated_at_ms=T + 5))
            await eventually(
                "the first log to read s-2", lambda: first.book.silence("s-2") is not None
            )
        await eventually(
            "the first log to skip the bad records", lambda: first.stats.bad_records == 4
        )
        assert first.book.silence("s-1") == expired  # re-reading its own records changed nothing


async def test_creates_its_compacted_topic_on_a_fresh_cluster(kafka_bootstrap: str) -> None:
    fresh = Settings(
        kafka_bootstrap_servers=kafka_bootstrap, topic_namespace=f"t{uuid.uuid4().hex[:10]}."
    )
    async with running(fresh) as log:
        assert await log.wait_ready(READY_S)
        await log.publish(silence())
    admin = KafkaAdminClient(**kafka_python_config(fresh), request_timeout_ms=15_000)
    try:
        topic = fresh.topic(ALERT_ACTIONS)
        assert topic in admin.list_topics()
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"cleanup.policy": None})]
        )
    finally:
        admin.close()
    assert described["topic"][topic]["cleanup.policy"]["value"] == "compact"


async def test_unreachable_kafka_is_not_ready_and_publish_fails_clearly() -> None:
    dead = Settings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}", topic_namespace="dead.")
    async with running(dead, publish_timeout_s=2.0, retry_s=0.2) as log:
        assert not log.ready
        assert not await log.wait_ready(1.0)
        with pytest.raises(ActionLogUnavailableError, match="try again"):
            await log.publish(silence())
        assert log.book.silence("s-1") is None
        await eventually("a Kafka error in the reason", lambda: "Kafka error" in log.reason, 30)
        assert log.stats.connect_failures >= 1
