"""Batch processing of raw source records, independent of Faust's machinery.

:class:`MinuteProcessor` decodes and validates records, feeds the pure
:class:`~shoppulse.minute_book.MinuteBook`, persists what changed through a
:class:`StateSink` and publishes snapshots and dead letters through a
:class:`Publisher`. The Faust app (``streams.app``) supplies adapters for
both; unit tests supply in-memory ones.

Besides counting, the processor measures the pipeline (:class:`~streams.metrics.WorkerMetrics`):
for each open minute it remembers the event time of the oldest event not yet published,
and when a snapshot of the minute is published it observes the time from that event to
now (``shoppulse_event_to_snapshot_seconds``); it times each batch, counts late events by
topic, and on each tick sets the consumer lag of every source topic from the high
watermarks of the partitions it owns.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import orjson

from shoppulse.dead_letter import dead_letter_record
from shoppulse.events import Rejection, decode_event
from shoppulse.minute_book import MinuteBook, OpenMinute, StoreClock
from shoppulse.read_progress import ReadProgress, TopicPartition
from shoppulse.settings import WorkerSettings
from shoppulse.snapshot import KpiSnapshot
from shoppulse.store_memory import record_owner, record_seq
from shoppulse.timeutil import wall_clock_ms
from streams.metrics import WorkerMetrics

log = logging.getLogger("shoppulse.worker")


class SourceRecord(Protocol):
    """What the processor needs of one consumed Kafka record (aiokafka's ``ConsumerRecord``
    has it)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def timestamp(self) -> int | None:
        """The record's Kafka timestamp, in milliseconds (as Kafka keeps it)."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A :class:`SourceRecord` made by hand (tests, replays)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int | None
    """Milliseconds, as Kafka keeps it."""


class StateSink(Protocol):
    """Durable state: one value per key, written to the given source partition's changelog.

    A put changes the value at once and queues its changelog record. :meth:`barrier` holds
    the records put after it until every record put before it is acknowledged by the broker;
    :meth:`send` hands queued records to the producer as far as the barriers allow (perhaps
    not all at once) and never waits for the broker; :attr:`handed_over` says whether every
    record put is with the producer; :meth:`delivered` returns a check of whether every record
    with the producer now has been acknowledged; :meth:`flush` hands over everything and waits
    for the broker's acknowledgement.
    """

    def put_minute(self, partition: int, key: str, value: bytes | None) -> None: ...
    def put_clock(self, partition: int, key: str, value: bytes) -> None: ...
    def put_memory(self, partition: int, key: str, value: bytes | None) -> None: ...
    def barrier(self) -> None: ...
    @property
    def handed_over(self) -> bool: ...
    def delivered(self) -> Callable[[], bool]: ...
    async def send(self) -> None: ...
    async def flush(self) -> None: ...
    def minutes(self) -> Iterable[bytes]: ...
    def clocks(self) -> Iterable[bytes]: ...
    def memory_records(self) -> Iterable[bytes]: ...


class Publisher(Protocol):
    async def publish_snapshot(self, snapshot: KpiSnapshot) -> None: ...
    async def publish_dead_letter(self, key: bytes | None, record: bytes) -> None: ...


def minute_key(store_id: str, window_start_ms: int, segment: int = 0) -> str:
    """The table key of a segment record of an open minute (segment 0 has the key whole
    minutes had before they were written in segments)."""
    base = f"{store_id}|{window_start_ms}"
    return base if segment == 0 else f"{base}|{segment}"


class MinuteProcessor:
    """Turns batches of raw records into counted minutes, snapshots and dead letters."""

    def __init__(
        self,
        settings: WorkerSettings,
        *,
        families: Mapping[str, str],
        state: StateSink,
        publisher: Publisher,
        metrics: WorkerMetrics,
        clock_ms: Callable[[], int] = wall_clock_ms,
        high_watermark: Callable[[str, int], int | None] | None = None,
        rewind: Callable[[str, int, int], Awaitable[int]] | None = None,
    ) -> None:
        self.families = dict(families)
        self.state = state
        self.publisher = publisher
        self.metrics = metrics
        self.clock_ms = clock_ms
        self.high_watermark = high_watermark
        self.rewind = rewind
        """Seek a source partition's consumer back to an offset; returns the offset it
        reads from next (later, if the records were deleted by retention)."""
        self.progress: ReadProgress | None = None
        self.window_ms = settings.window_ms
        self._unpublished: dict[tuple[str, int], int] = {}
        """Per open minute, the event time of its oldest event not yet in a snapshot."""
        self._staged: dict[TopicPartition, int] | None = None
        """The read offsets the last persist's writes cover, while some of those writes are
        still queued in the state (not with the producer yet)."""
        self._delivering: deque[tuple[Callable[[], bool], dict[TopicPartition, int]]] = deque()
        """Read offsets whose writes are all with the producer, oldest first, each with the
        check of whether the broker has acknowledged those writes: durable once it has."""
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
        highs: Mapping[TopicPartition, int] | None = None,
    ) -> None:
        """Rebuild the book from durable state (after start-up or a rebalance).

        ``starts`` are the offsets each owned source topic-partition resumes from; with
        them (and ``high_watermark``), minutes wait for lagging inputs before closing.
        ``highs`` are the log end offsets at this moment: after a restart with a backlog, a
        partition not fetched yet is lagging until it is read that far.
        """
        self.book.clear()
        self._unpublished.clear()
        self._staged = None
        self._delivering.clear()
        self.progress = (
            ReadProgress(
                starts,
                started_ms=self.clock_ms(),
                idle_ms=self.book.idle_ms,
                initial_highs=dict(highs or {}),
            )
            if starts is not None
            else None
        )
        now = self.clock_ms()
        for raw in self.state.clocks():
            clock = StoreClock.from_state(raw, arrival_ms=now)
            if active_partitions is None or clock.partition in active_partitions:
                self.book.restore_clock(clock)
        # The memory table, then the journals of the open minutes, in sequence order: the
        # memory then reflects exactly the events the persisted minutes counted (ADR 11).
        changes: list[tuple[str, int, int, bytes]] = []
        for raw in self.state.memory_records():
            store_id, partition = record_owner(raw)
            if store_id in self.book.clocks and (
                active_partitions is None or partition in active_partitions
            ):
                changes.append((store_id, partition, record_seq(raw), raw))
        restored = 0
        segments = OpenMinute.from_segments(self.state.minutes())
        for partition, store_id, start, segment in segments.orphans:
            if active_partitions is None or partition in active_partitions:
                self.state.put_minute(partition, minute_key(store_id, start, segment), None)
        for minute in segments.minutes:
            if minute.store_id in self.book.clocks:
                self.book.restore_minute(minute)
                restored += 1
                changes.extend(
                    (minute.store_id, minute.partition, q, record)
                    for q, record in minute.journal.values()
                )
        changes.sort(key=lambda c: (c[0], c[2]))
        for store_id, partition, _, record in changes:
            self.book.memory(store_id, partition).restore(record)
        memories = len(changes)
        log.info(
            "state restored stores=%d open_minutes=%d memory_records=%d",
            len(self.book.clocks),
            restored,
            memories,
        )

    async def process(self, records: Iterable[SourceRecord]) -> None:
        """Count a batch, dead-letter what cannot be counted, close what is due."""
        started = time.perf_counter()
        now = self.clock_ms()
        unpublished = self._unpublished
        window_ms = self.window_ms
        progress = self.progress
        # Looked up once per batch, not per record.
        family_of = self.families.get
        ingest = self.book.ingest
        future_ms = now + self.book.max_future_ms
        counted: dict[str, int] = {}  # per topic family; the metric moves once per batch
        for rec in records:
            topic, partition, offset = rec.topic, rec.partition, rec.offset
            if progress is not None:
                admission = progress.admit((topic, partition), offset, now)
                if admission != "next":
                    if admission == "skip":
                        await self._rewind(progress, (topic, partition), offset)
                    elif admission == "seen":
                        self.metrics.redelivered.labels(family_of(topic, topic)).inc()
                    continue
            family = family_of(topic, topic)
            decoded = decode_event(family, rec.value)
            # Only an event that can count shows how far its partition has been read: a
            # rejected one, or one too far in the future (it will be rejected for its time),
            # must not let a partition look read past records still unread.
            if isinstance(decoded, Rejection):
                if progress is not None:
                    progress.record(topic, partition, offset=offset, ts_ms=None, arrival_ms=now)
                await self._dead_letter(rec, decoded, now)
                continue
            event = decoded
            if progress is not None:
                ts_ms = event.ts_ms
                progress.record(
                    topic,
                    partition,
                    offset=offset,
                    ts_ms=None if ts_ms > future_ms else ts_ms,
                    arrival_ms=now,
                )
            key = rec.key
            if key is not None and key != event.store_id.encode():
                await self._dead_letter(
                    rec,
                    Rejection("schema", "record key must be the event's store_id"),
                    now,
                )
                continue
            try:
                outcome = ingest(event, partition=partition, arrival_ms=now)
            except Exception as exc:  # a bug must not turn one event into a crash loop
                log.exception("event could not be counted", extra={"offset": offset})
                detail = f"{type(exc).__name__}: {exc}"[:300]
                await self._dead_letter(rec, Rejection("internal_error", detail), now)
                continue
            if outcome == "counted":
                counted[family] = counted.get(family, 0) + 1
                ts = event.ts_ms
                minute = (event.store_id, ts - ts % window_ms)
                oldest = unpublished.get(minute)
                if oldest is None or ts < oldest:
                    unpublished[minute] = ts
            elif outcome == "duplicate":
                self.metrics.duplicates.labels(family).inc()
            else:
                if outcome.reason == "late":
                    self.metrics.late_events.labels(family).inc()
                await self._dead_letter(rec, outcome, now)
        for family, n in counted.items():
            self.metrics.events.labels(family).inc(n)
        await self.close_due(now)
        await self.persist()
        self.metrics.batch_seconds.observe(time.perf_counter() - started)

    async def _rewind(
        self, progress: ReadProgress, tp: TopicPartition, delivered: int | None
    ) -> None:
        """Seek a partition back over records the consumer skipped."""
        expected = progress.next_offset[tp]
        self.metrics.rewinds.labels(self.families.get(tp[0], tp[0])).inc()
        where = f"{tp[0]}:{tp[1]}"
        log.warning(
            "records skipped by the consumer; seeking back"
            if delivered is not None
            else "partition behind its log end without records; seeking back",
            extra={"tp": where, "delivered": delivered, "expected": expected},
        )
        if self.rewind is None:
            return
        resumed = await self.rewind(tp[0], tp[1], expected)
        if resumed > expected:
            log.error(
                "records deleted before they were read",
                extra={"tp": where, "from": expected, "to": resumed},
            )
            progress.resume_at(tp, resumed)

    def persisted_offsets(self) -> dict[TopicPartition, int]:
        """Per source partition of this generation, the offset below which every record's
        effects are persisted (what may be committed)."""
        return dict(self.progress.durable) if self.progress is not None else {}

    def bound_commits(self, offsets: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        """The consumer offsets that may be committed: a source partition's only up to its
        persisted records (see :meth:`ReadProgress.bound_commits`), other topics' as they are."""
        source = {tp: o for tp, o in offsets.items() if tp[0] in self.families}
        bounded = {tp: o for tp, o in offsets.items() if tp[0] not in self.families}
        if self.progress is not None:
            bounded.update(self.progress.bound_commits(source))
        return bounded

    async def tick(self) -> None:
        """The wall-clock beat: close idle minutes and publish provisional values."""
        now = self.clock_ms()
        if self.progress is not None:
            for tp, _ in self.progress.due_rewinds(now, self._high_watermarks()):
                await self._rewind(self.progress, tp, None)
        await self.close_due(now)
        for minute in list(self.book.dirty()):
            await self.publisher.publish_snapshot(self.book.provisional(minute, emitted_at_ms=now))
            self.metrics.snapshots.labels("provisional").inc()
            self._observe_published(minute.key, now)
            self.book.changed_minutes.add(minute.key)
        await self.persist()
        self.update_lag()

    def poll_log_ends(self, ends: Mapping[TopicPartition, int]) -> None:
        """The source partitions' log end offsets, as just asked of the broker."""
        if self.progress is not None:
            self.progress.poll(ends)

    def update_lag(self) -> None:
        """Set each source topic's consumer lag from the last fetch's high watermarks."""
        if self.progress is None or self.high_watermark is None:
            return
        lag = dict.fromkeys(self.families.values(), 0)
        for (topic, partition), next_offset in self.progress.next_offset.items():
            high = self.high_watermark(topic, partition)
            family = self.families.get(topic)
            if high is not None and family is not None:
                lag[family] += max(0, high - next_offset)
        for family, records in lag.items():
            self.metrics.consumer_lag.labels(family).set(records)

    def _observe_published(self, key: tuple[str, int], now_ms: int) -> None:
        oldest = self._unpublished.pop(key, None)
        if oldest is not None:
            self.metrics.event_to_snapshot.observe(max(0, now_ms - oldest) / 1000)

    def read_until_ms(self, now_ms: int) -> dict[int, int] | None:
        """Per partition, the event time its lagging or active inputs reached (None: no gate)."""
        highs = self._high_watermarks()
        if self.progress is None or highs is None:
            return None
        return self.progress.read_until_ms(highs, now_ms)

    def _high_watermarks(self) -> dict[TopicPartition, int | None] | None:
        """The last fetch's high watermark of every tracked source partition (None: no
        source of them, or no generation yet)."""
        if self.progress is None or self.high_watermark is None:
            return None
        hw = self.high_watermark
        return {tp: hw(*tp) for tp in self.progress.next_offset}

    async def close_due(self, now_ms: int) -> None:
        for minute in self.book.due(now_ms, self.read_until_ms(now_ms)):
            snapshot = self.book.close(minute, emitted_at_ms=now_ms)
            await self.publisher.publish_snapshot(snapshot)
            self.metrics.snapshots.labels("final").inc()
            self._observe_published(minute.key, now_ms)

    async def persist(self) -> None:
        """Write what changed to durable state, once per batch or tick, in two phases, and
        advance the offsets that may be committed as far as the broker has acknowledged.

        A crash may lose any writes not yet acknowledged, and the three tables' changelogs
        are separate partitions with no order between them. So the store memories and
        clocks (the watermark of closed minutes) are written first and the minutes only after
        a barrier: the state sends them once the first are acknowledged. A minute record (its
        event ids) never survives without the memory updates of its events, and a closed
        minute's tombstone never survives without the watermark that makes its replayed events
        late rather than a new, partial minute (ADR 11).

        The acknowledgement is not awaited here (ADR 23): while the records of the last
        persist are still queued behind their barrier (or not all handed over yet), this one
        writes nothing and what changed stays in the book for the next, so at most one
        barrier is outstanding and the next batch is counted meanwhile. The offsets a persist
        covers become committable only once the broker has acknowledged all its records.
        """
        state = self.state
        await state.send()
        if not state.handed_over:
            self._settle()
            return
        self._stage_delivered()
        book = self.book
        wrote = False
        for store_id in book.changed_clocks:
            clock = book.clocks[store_id]
            state.put_clock(clock.partition, store_id, clock.to_state())
            wrote = True
        for memory in book.memories.values():
            if memory.changes:
                for key, value in memory.take_changes().items():
                    state.put_memory(memory.partition, key, value)
                wrote = True
        book.changed_clocks.clear()
        if wrote and (book.changed_minutes or book.closed_segments):
            state.barrier()
        for store_id, start in book.changed_minutes:
            minute = book.minutes[(store_id, start)]
            for segment, value in minute.take_segments():
                state.put_minute(minute.partition, minute_key(store_id, start, segment), value)
        for (store_id, start), (partition, segments) in book.closed_segments.items():
            for segment in range(segments):
                state.put_minute(partition, minute_key(store_id, start, segment), None)
        book.changed_minutes.clear()
        book.closed_segments.clear()
        if self.progress is not None:
            self._staged = dict(self.progress.next_offset)
        await state.send()
        if state.handed_over:
            self._stage_delivered()

    def _stage_delivered(self) -> None:
        """The writes of the last persist are all with the producer: their offsets wait for
        the broker's acknowledgement."""
        if self._staged is not None:
            self._delivering.append((self.state.delivered(), self._staged))
            self._staged = None
        self._settle()

    def _settle(self) -> None:
        """Make committable the offsets whose writes the broker has acknowledged."""
        delivering = self._delivering
        durable = None
        while delivering and delivering[0][0]():
            durable = delivering.popleft()[1]
        if durable is not None and self.progress is not None:
            self.progress.checkpoint(durable)

    async def drain(self) -> None:
        """Hand every queued write to the producer, wait for the broker to acknowledge them,
        and make the offsets they cover committable (before partitions are revoked: their
        next owner recovers state that includes every processed record)."""
        await self.state.flush()
        if self._staged is not None:
            self._delivering.append((lambda: True, self._staged))
            self._staged = None
        self._settle()

    async def _dead_letter(self, rec: SourceRecord, rejection: Rejection, now_ms: int) -> None:
        record = dead_letter_record(
            raw=rec.value,
            key=rec.key,
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
            timestamp_ms=rec.timestamp,
            reason=rejection.reason,
            detail=rejection.detail,
            failed_at_ms=now_ms,
        )
        await self.publisher.publish_dead_letter(rec.key, orjson.dumps(record))
        self.metrics.dead_letters.labels(rejection.reason).inc()
