"""Follow every partition of one Kafka topic without a consumer group; know when caught up.

The API (KPIs, alerts, acknowledgements and silences) and the alert dispatcher
(acknowledgements and silences) each need *every* record of a topic in every process, so
:class:`TopicFollower` assigns itself all the topic's partitions (no consumer group,
nothing committed) and seeks to a start: the first offset at or after ``start_ms()``
(``offsets_for_times``; the end when no record is that recent), or the beginning when
``start_ms`` is None. It records the end offsets when it first connects and is *caught up*
once its positions reach them; that is sticky (a later outage shows in ``reason`` only).

Each record value goes to the owner's handler, which decodes and applies it, counting into
:class:`FeedStats`; a record it cannot decode is logged with :func:`log_bad_record`,
counted and skipped, never fatal. Connection failures are retried with exponential backoff
(up to 10 s), resuming at the positions already read.

It lives with the alerting component because the dispatcher needs it and must not import
the API; the API may import it (dependencies flow api -> alerts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from kafka_io.config import aiokafka_config
from shoppulse.settings import KafkaSettings

log = logging.getLogger("shoppulse.follower")

MAX_BACKOFF_S: Final = 10.0

RecordHandler = Callable[[bytes | None, str], object]
"""Called with a record's value and where it was (``topic[partition]@offset``)."""


@dataclass(slots=True)
class FeedStats:
    """Counters of a followed topic (exposed by ``/readyz``)."""

    records: int = 0
    applied: int = 0
    bad_records: int = 0
    connect_failures: int = 0


def json_value(raw: bytes | None, error: type[ValueError]) -> object:
    """A record value decoded from JSON, or ``error`` saying why it is not.

    >>> json_value(b'{"a": 1}', ValueError)
    {'a': 1}
    >>> json_value(b"{", ValueError)
    Traceback (most recent call last):
    ...
    ValueError: not JSON: JSONDecodeError
    """
    if raw is None:
        raise error("empty record (tombstone)")
    try:
        value: object = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise error(f"not JSON: {type(exc).__name__}") from None
    return value


def log_bad_record(
    logger: logging.Logger, stats: FeedStats, what: str, where: str, reason: str
) -> None:
    """Count a record that does not decode and log why (structured: where, reason, count)."""
    stats.bad_records += 1
    logger.warning(
        f"skipping bad {what} record",
        extra={"where": where, "reason": reason, "bad_records": stats.bad_records},
    )


class TopicFollower:
    """Read every partition of ``topic`` into ``handle`` in a background task.

    ``name`` names it in logs and reasons (``"KPI feed"``). Without ``create_topic`` it
    waits for the topic to exist; with it, it calls it (once connected) to create the topic.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        topic: str,
        handle: RecordHandler,
        *,
        name: str,
        client_id: str,
        stats: FeedStats | None = None,
        start_ms: Callable[[], int | None] | None = None,
        create_topic: Callable[[], Awaitable[None]] | None = None,
        poll_timeout_ms: int = 200,
        max_records: int = 2000,
        retry_s: float = 1.0,
        logger: logging.Logger = log,
    ) -> None:
        self.settings = settings
        self.topic = topic
        self.handle = handle
        self.name = name
        self.client_id = client_id
        self.stats = stats if stats is not None else FeedStats()
        self.start_ms = start_ms
        self.create_topic = create_topic
        self.poll_timeout_ms = poll_timeout_ms
        self.max_records = max_records
        self.retry_s = retry_s
        self.log = logger
        self.caught_up = False
        self.reason = "not started"
        self._caught_up_event = asyncio.Event()
        self._end_offsets: dict[TopicPartition, int] = {}
        self._next_offsets: dict[TopicPartition, int] = {}
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start reading in a background task (returns at once; needs a running loop)."""
        if self._task is None:
            self.reason = "connecting to Kafka"
            self._task = asyncio.create_task(self._run(), name=f"shoppulse-follow-{self.topic}")

    async def stop(self) -> None:
        """Stop reading and close the consumer."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.reason = "stopped"

    async def wait_caught_up(self, timeout_s: float) -> bool:
        """True once caught up, False if ``timeout_s`` passes first."""
        try:
            await asyncio.wait_for(self._caught_up_event.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def status(self) -> dict[str, Any]:
        """A JSON-ready summary: readiness, reason and counters."""
        return {
            "caught_up": self.caught_up,
            "reason": self.reason,
            "topic": self.topic,
            "records": self.stats.records,
            "applied": self.stats.applied,
            "bad_records": self.stats.bad_records,
            "connect_failures": self.stats.connect_failures,
        }

    # -- Kafka ------------------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = self.retry_s
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.stats.connect_failures += 1
                self.reason = f"Kafka error, retrying: {type(exc).__name__}: {exc}"
                self.log.warning(
                    "%s failed; retrying in %.1fs: %s",
                    self.name,
                    backoff,
                    exc,
                    exc_info=self.stats.connect_failures == 1,  # the traceback once
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(
            **aiokafka_config(self.settings),
            client_id=self.client_id,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        await consumer.start()
        try:
            partitions = await self._wait_for_partitions(consumer)
            consumer.assign(partitions)
            await self._seek_start(consumer, partitions)
            if not self.caught_up:
                self._end_offsets = await consumer.end_offsets(partitions)
                self.log.info(
                    "%s catching up",
                    self.name,
                    extra={"topic": self.topic, "end_offsets": self._offsets_for_log()},
                )
                self.reason = f"catching up with {self.topic}"
                await self._check_caught_up(consumer, partitions)
            while True:
                batch = await consumer.getmany(
                    timeout_ms=self.poll_timeout_ms, max_records=self.max_records
                )
                for tp, records in batch.items():
                    for record in records:
                        self.handle(record.value, f"{tp.topic}[{tp.partition}]@{record.offset}")
                        self._next_offsets[tp] = record.offset + 1
                if not self.caught_up:
                    await self._check_caught_up(consumer, partitions)
        finally:
            await consumer.stop()

    async def _wait_for_partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        # ``consumer.topics()`` fetches fresh metadata but does not cache it, so
        # ``partitions_for_topic`` would stay empty; read the fetched metadata instead.
        while True:
            cluster = await consumer._client.fetch_all_metadata()
            ids = cluster.partitions_for_topic(self.topic)
            if ids:
                return [TopicPartition(self.topic, p) for p in sorted(ids)]
            if self.create_topic is not None:
                self.reason = f"creating topic {self.topic!r}"
                await self.create_topic()
            else:
                self.reason = f"waiting for topic {self.topic!r} to exist"
            await asyncio.sleep(self.retry_s)

    async def _seek_start(
        self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
    ) -> None:
        fresh = [tp for tp in partitions if tp not in self._next_offsets]
        for tp in partitions:
            if tp in self._next_offsets:
                consumer.seek(tp, self._next_offsets[tp])
        if not fresh:
            return
        start_ms = self.start_ms() if self.start_ms is not None else None
        if start_ms is None:
            await consumer.seek_to_beginning(*fresh)
            return
        try:
            found = await consumer.offsets_for_times(dict.fromkeys(fresh, start_ms))
        except Exception:
            self.log.warning(
                "offsets_for_times failed; reading from the beginning",
                extra={"topic": self.topic},
                exc_info=True,
            )
            await consumer.seek_to_beginning(*fresh)
            return
        past_end = []
        for tp in fresh:
            hit = found.get(tp)
            if hit is None:
                past_end.append(tp)
            else:
                consumer.seek(tp, hit.offset)
        if past_end:
            await consumer.seek_to_end(*past_end)

    async def _check_caught_up(
        self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
    ) -> None:
        for tp in partitions:
            position: int = await consumer.position(tp)
            self._next_offsets[tp] = position
            if position < self._end_offsets.get(tp, 0):
                return
        self.caught_up = True
        self.reason = "caught up"
        self._caught_up_event.set()
        self.log.info(
            "%s caught up",
            self.name,
            extra={"topic": self.topic, "records": self.stats.records},
        )

    def _offsets_for_log(self) -> dict[str, int]:
        return {f"{tp.topic}[{tp.partition}]": off for tp, off in self._end_offsets.items()}


class FollowedTopic:
    """Readiness and lifecycle of a class that reads a topic through ``self._follower``."""

    _follower: TopicFollower

    @property
    def caught_up(self) -> bool:
        """True once read up to the end offsets seen when first connected (sticky)."""
        return self._follower.caught_up

    @property
    def reason(self) -> str:
        """What it is doing (or the last Kafka error), for ``/readyz``."""
        return self._follower.reason

    def status(self) -> dict[str, Any]:
        """A JSON-ready summary: readiness, reason and counters."""
        return self._follower.status()

    async def wait_ready(self, timeout_s: float) -> bool:
        """True once caught up; False if ``timeout_s`` passes first."""
        return await self._follower.wait_caught_up(timeout_s)

    async def stop(self) -> None:
        """Stop reading and close the consumer."""
        await self._follower.stop()
