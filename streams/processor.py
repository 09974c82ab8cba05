"""Batch processing of raw source records, independent of Faust's machinery.

:class:`MinuteProcessor` decodes and validates records, feeds the pure
:class:`~shoppulse.minute_book.MinuteBook`, persists what changed through a
:class:`StateSink` and publishes snapshots and dead letters through a
:class:`Publisher`. The Faust app (``streams.app``) supplies adapters for
both; unit tests supply in-memory ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import orjson

from shoppulse.dead_letter import dead_letter_record
from shoppulse.events import Rejection, decode_event
from shoppulse.minute_book import MinuteBook, OpenMinute, StoreClock
from shoppulse.read_progress import ReadProgress, TopicPartition
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot
from streams.metrics import WorkerMetrics

log = logging.getLogger("shoppulse.worker")


@dataclass(frozen=True, slots=True)
class RawRecord:
    """What the processor needs of one consumed Kafka record."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None


class StateSink(Protocol):
    """Durable state: one value per key, written to the given source partition's changelog."""

    def put_minute(self, partition: int, key: str, value: bytes | None) -> None: ...
    def put_clock(self, partition: int, key: str, value: bytes) -> None: ...
    def put_memory(self, partition: int, key: str, value: bytes | None) -> None: ...
    def minutes(self) -> Iterable[bytes]: ...
    def clocks(self) -> Iterable[bytes]: ...
    def memory_records(self) -> Iterable[bytes]: ...


class Publisher(Protocol):
    async def publish_snapshot(self, snapshot: KpiSnapshot) -> None: ...
    async def publish_dead_letter(self, key: bytes | None, record: bytes) -> None: ...


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def minute_key(store_id: str, window_start_ms: int) -> str:
    return f"{store_id}|{window_start_ms}"


class MinuteProcessor:
    """Turns batches of raw records into counted minutes, snapshots and dead letters."""

    def __init__(
        self,
        settings: Settings,
        *,
        families: Mapping[str, str],
        state: StateSink,
        publisher: Publisher,
        metrics: WorkerMetrics,
        clock_ms: Callable[[], int] = wall_clock_ms,
        high_watermark: Callable[[str, int], int | None] | None = None,
    ) -> None:
        self.families = dict(families)
        self.state = state
        self.publisher = publisher
        self.metrics = metrics
        self.clock_ms = clock_ms
        self.high_watermark = high_watermark
        self.progress: ReadProgress | None = None
        self.book = MinuteBook(
            window_ms=settings.window_ms,
            grace_ms=settings.grace_ms,
            idle_ms=int(settings.idle_close_s * 1000),
            max_future_ms=int(settings.max_future_skew_s * 1000),
        )

    def restore(
        self,
        active_partitions: set[int] | None = None,
        starts: Mapping[TopicPartition, int] | None = None,
    ) -> None:
        """Rebuild the book from durable state (after start-up or a rebalance).

        ``starts`` are the offsets each owned source topic-partition resumes from; with
        them (and ``high_watermark``), minutes wait for lagging inputs before closing.
        """
        self.book.clear()
        self.progress = (
            ReadProgress(starts, started_ms=self.clock_ms(), idle_ms=self.book.idle_ms)
            if starts is not None
            else None
        )
        now = self.clock_ms()
        for raw in self.state.clocks():
            clock = StoreClock.from_state(raw, arrival_ms=now)
            if active_partitions is None or clock.partition in active_partitions:
                self.book.restore_clock(clock)
        restored = 0
        for raw in self.state.minutes():
            minute = OpenMinute.from_state(raw)
            if minute.store_id in self.book.clocks:
                self.book.restore_minute(minute)
                restored += 1
        log.info("state restored stores=%d open_minutes=%d", len(self.book.clocks), restored)

    async def process(self, records: Iterable[RawRecord]) -> None:
        """Count a batch, dead-letter what cannot be counted, close what is due."""
        now = self.clock_ms()
        for rec in records:
            family = self.families.get(rec.topic, rec.topic)
            decoded = decode_event(family, rec.value)
            if self.progress is not None:
                ts_ms = None if isinstance(decoded, Rejection) else decoded.ts_ms
                self.progress.record(
                    rec.topic, rec.partition, offset=rec.offset, ts_ms=ts_ms, arrival_ms=now
                )
            if isinstance(decoded, Rejection):
                await self._dead_letter(rec, decoded, now)
                continue
            if rec.key is not None and rec.key != decoded.store_id.encode():
                await self._dead_letter(
                    rec,
                    Rejection("schema", "record key must be the event's store_id"),
                    now,
                )
                continue
            try:
                outcome = self.book.ingest(decoded, partition=rec.partition, arrival_ms=now)
            except Exception as exc:  # a bug must not turn one event into a crash loop
                log.exception("event could not be counted", extra={"offset": rec.offset})
                detail = f"{type(exc).__name__}: {exc}"[:300]
                await self._dead_letter(rec, Rejection("internal_error", detail), now)
                continue
            if isinstance(outcome, Rejection):
                await self._dead_letter(rec, outcome, now)
            elif outcome == "duplicate":
                self.metrics.duplicates.labels(family).inc()
            else:
                self.metrics.events.labels(family).inc()
        await self.close_due(now)
        self.persist()

    async def tick(self) -> None:
        """The wall-clock beat: close idle minutes and publish provisional values."""
        now = self.clock_ms()
        await self.close_due(now)
        for minute in list(self.book.dirty()):
            await self.publisher.publish_snapshot(self.book.provisional(minute, emitted_at_ms=now))
            self.metrics.snapshots.labels("provisional").inc()
            self.book.changed_minutes.add(minute.key)
        self.persist()

    def read_until_ms(self, now_ms: int) -> dict[int, int] | None:
        """Per partition, the event time its lagging or active inputs reached (None: no gate)."""
        if self.progress is None or self.high_watermark is None:
            return None
        hw = self.high_watermark
        highs = {tp: hw(*tp) for tp in self.progress.next_offset}
        return self.progress.read_until_ms(highs, now_ms)

    async def close_due(self, now_ms: int) -> None:
        for minute in self.book.due(now_ms, self.read_until_ms(now_ms)):
            snapshot = self.book.close(minute, emitted_at_ms=now_ms)
            await self.publisher.publish_snapshot(snapshot)
            self.metrics.snapshots.labels("final").inc()

    def persist(self) -> None:
        """Write every changed minute and clock to durable state, once per batch or tick."""
        book = self.book
        for store_id, start in book.changed_minutes:
            minute = book.minutes.get((store_id, start))
            clock = book.clocks[store_id]
            key = minute_key(store_id, start)
            if minute is None:
                self.state.put_minute(clock.partition, key, None)
            else:
                self.state.put_minute(minute.partition, key, minute.to_state())
        for store_id in book.changed_clocks:
            clock = book.clocks[store_id]
            self.state.put_clock(clock.partition, store_id, clock.to_state())
        for memory in book.memories.values():
            if memory.changes:
                for key, value in memory.take_changes().items():
                    self.state.put_memory(memory.partition, key, value)
        book.changed_minutes.clear()
        book.changed_clocks.clear()

    async def _dead_letter(self, rec: RawRecord, rejection: Rejection, now_ms: int) -> None:
        record = dead_letter_record(
            raw=rec.value,
            key=rec.key,
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
            timestamp_ms=rec.timestamp_ms,
            reason=rejection.reason,
            detail=rejection.detail,
            failed_at_ms=now_ms,
        )
        await self.publisher.publish_dead_letter(rec.key, orjson.dumps(record))
        self.metrics.dead_letters.labels(rejection.reason).inc()
