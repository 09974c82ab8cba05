"""The Kafka edge of the API: ``shoppulse.kpis`` → :class:`~api.view.KpiView` → websockets.

:class:`KpiFeed` reads every partition of the KPI topic without a consumer
group (each API process needs every store), starting at the retention cutoff
(:meth:`~api.view.KpiView.cutoff_ms`: an hour before the start of the same UTC day last
week, so the topic's retention on the broker must reach back that far for the
last-week comparisons) found with ``offsets_for_times``. It records the
end offsets when it starts and reports itself caught up (ready) once its
positions reach them. A record that does not decode is logged, counted and
skipped; it never stops the feed. Connection failures are retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, TopicPartition

from api.broadcast import Broadcaster
from api.messages import update_message
from api.view import KpiView
from shoppulse.kafka_config import aiokafka_config
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot
from shoppulse.topics import KPIS

log = logging.getLogger("shoppulse.api.feed")

MAX_STORE_ID_LEN: Final = 256
_MAX_BACKOFF_S: Final = 10.0


class BadSnapshotError(ValueError):
    """A ``shoppulse.kpis`` record that is not a valid KPI snapshot."""


def decode_snapshot(raw: bytes | None) -> KpiSnapshot:
    """Decode and sanity-check one record value, or raise :class:`BadSnapshotError`.

    >>> decode_snapshot(b'{"store_id": "s1"}')
    Traceback (most recent call last):
    ...
    api.feed.BadSnapshotError: missing field 'window_start_ms'
    >>> decode_snapshot(b"not json")
    Traceback (most recent call last):
    ...
    api.feed.BadSnapshotError: not a KPI snapshot: JSONDecodeError
    """
    if raw is None:
        raise BadSnapshotError("empty record (tombstone)")
    try:
        snap = KpiSnapshot.from_json(raw)
    except KeyError as exc:
        raise BadSnapshotError(f"missing field {exc}") from exc
    except (ValueError, TypeError, AttributeError) as exc:
        raise BadSnapshotError(f"not a KPI snapshot: {type(exc).__name__}") from exc
    if not snap.store_id or len(snap.store_id) > MAX_STORE_ID_LEN:
        raise BadSnapshotError("store_id is empty or too long")
    if snap.window_end_ms <= snap.window_start_ms:
        raise BadSnapshotError("window_end_ms must be after window_start_ms")
    if snap.revision < 0:
        raise BadSnapshotError("revision must not be negative")
    return snap


@dataclass(slots=True)
class FeedStats:
    """Counters of the feed (exposed by ``/readyz`` and, later, ``/metrics``)."""

    records: int = 0
    applied: int = 0
    bad_records: int = 0
    connect_failures: int = 0


class KpiFeed:
    """Consume ``shoppulse.kpis`` into a view and notify a broadcaster; see the module doc."""

    def __init__(
        self,
        settings: Settings,
        view: KpiView,
        broadcaster: Broadcaster,
        *,
        poll_timeout_ms: int = 200,
        max_records: int = 2000,
        retry_s: float = 1.0,
    ) -> None:
        self.settings = settings
        self.view = view
        self.broadcaster = broadcaster
        self.topic = settings.topic(KPIS)
        self.poll_timeout_ms = poll_timeout_ms
        self.max_records = max_records
        self.retry_s = retry_s
        self.stats = FeedStats()
        self.caught_up = False
        self.reason = "not started"
        self._end_offsets: dict[TopicPartition, int] = {}
        self._next_offsets: dict[TopicPartition, int] = {}
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start consuming in a background task (returns at once)."""
        if self._task is None:
            self.reason = "connecting to Kafka"
            self._task = asyncio.create_task(self._run(), name="shoppulse-kpi-feed")

    async def stop(self) -> None:
        """Stop consuming and close the consumer."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.reason = "stopped"

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

    # -- record handling (no IO) ------------------------------------------------------------

    def handle(self, raw: bytes | None, where: str = "") -> KpiSnapshot | None:
        """Decode one record value, apply it and broadcast it when it changed the view."""
        self.stats.records += 1
        try:
            snap = decode_snapshot(raw)
        except BadSnapshotError as exc:
            self.stats.bad_records += 1
            log.warning(
                "skipping bad KPI record",
                extra={"where": where, "reason": str(exc), "bad_records": self.stats.bad_records},
            )
            return None
        if not self.view.apply(snap):
            return None
        self.stats.applied += 1
        self.broadcaster.publish(snap.store_id, snap.window_start_ms, update_message(snap))
        return snap

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
                log.warning(
                    "KPI feed failed; retrying in %.1fs: %s",
                    backoff,
                    exc,
                    exc_info=self.stats.connect_failures == 1,  # the traceback once
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
            else:  # pragma: no cover - _consume only returns by raising
                backoff = self.retry_s

    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(
            **aiokafka_config(self.settings),
            client_id="shoppulse-api",
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
                log.info(
                    "KPI feed catching up",
                    extra={"topic": self.topic, "end_offsets": self._offsets_for_log()},
                )
                self.reason = "catching up with the KPI topic"
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
        cutoff_ms = self.view.cutoff_ms()
        try:
            found = await consumer.offsets_for_times(dict.fromkeys(fresh, cutoff_ms))
        except Exception:
            log.warning("offsets_for_times failed; reading from the beginning", exc_info=True)
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
        log.info(
            "KPI feed caught up",
            extra={
                "topic": self.topic,
                "records": self.stats.records,
                "stores": len(self.view.stores()),
            },
        )

    def _offsets_for_log(self) -> dict[str, int]:
        return {f"{tp.topic}[{tp.partition}]": off for tp, off in self._end_offsets.items()}
