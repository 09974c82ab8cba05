"""The Faust application: the minutes agent over the four source topics, its tables, its timers.

State lives in ordinary (non-windowed) tables written explicitly per source
partition — see docs/adr/0003-explicit-minute-buckets.md for why windowed
tables and ``on_window_close`` are not used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

import faust
from faust.stores.rocksdb import Store as RocksStore
from faust.types import TP
from prometheus_client import CollectorRegistry

from alerts.rules import RuleSet, load_default_rules, load_rules_file
from shoppulse import topics
from shoppulse.final_log import Horizon, final_key, horizon_key
from shoppulse.settings import WorkerSettings
from shoppulse.snapshot import KpiSnapshot
from streams.alerting import install_alerting
from streams.changelog_queue import ChangelogQueue
from streams.consumer import BoundedCommitConsumer, install_consumer
from streams.detection import install_detection
from streams.final_publish import HorizonTracker
from streams.kafka_auth import faust_credentials
from streams.metrics import WorkerMetrics
from streams.processor import MinuteProcessor, SourceRecord
from streams.tables import changelog_key, write_local

log = logging.getLogger("shoppulse.worker")


@dataclass(frozen=True, slots=True)
class SourceBatch:
    """The source records of one fetch, and the consumer generation it was made in."""

    generation: int
    records: list[SourceRecord]


class TableState:
    """:class:`streams.processor.StateSink` over three Faust tables.

    Changelog records go straight to the producer, a batch at a time: Faust's
    ``Table.send_changelog`` wraps each in a future message and a buffer task, which cost
    more than the counting (ADR 14). Keys are encoded by the table's key serializer and
    values are our own JSON bytes (the tables' raw value serializer), so Faust's recovery
    reads them back as before.
    """

    def __init__(self, minutes: Any, clocks: Any, memory: Any, producer: Any) -> None:
        self._minutes = minutes
        self._clocks = clocks
        self._memory = memory
        self._changelogs = {
            id(table): table.changelog_topic.get_topic_name() for table in (minutes, clocks, memory)
        }
        self._rocks = {
            self._changelogs[id(table)]: table.data
            for table in (minutes, clocks, memory)
            if isinstance(table.data, RocksStore)
        }
        self._queue = ChangelogQueue(producer, on_sent=self._sent)

    def _put(self, table: Any, partition: int, key: str, value: bytes | None) -> None:
        raw_key = changelog_key(table, key)
        write_local(table, partition, key, value, raw_key)
        self._queue.put(self._changelogs[id(table)], partition, raw_key, value)

    def put_minute(self, partition: int, key: str, value: bytes | None) -> None:
        self._put(self._minutes, partition, key, value)

    def put_clock(self, partition: int, key: str, value: bytes) -> None:
        self._put(self._clocks, partition, key, value)

    def put_memory(self, partition: int, key: str, value: bytes | None) -> None:
        self._put(self._memory, partition, key, value)

    def barrier(self) -> None:
        """Changelog records put from now on go to the producer only once every record put
        so far is acknowledged (ADR 11's order, without waiting here; ADR 23)."""
        self._queue.barrier()

    @property
    def handed_over(self) -> bool:
        return self._queue.handed_over

    def delivered(self) -> Callable[[], bool]:
        return self._queue.delivered()

    async def send(self) -> None:
        """Hand queued changelog records to the producer, in put order, as far as the barriers
        allow and a chunk at a time (:class:`~streams.changelog_queue.ChangelogQueue`)."""
        await self._queue.send()

    def _sent(self, topic: str, partition: int, acked: asyncio.Future[Any]) -> None:
        """A RocksDB table learns, once the broker has acknowledged a partition's last record
        of a send, that its local database holds the changelog up to that offset
        (``set_persisted_offset``, what Faust's own ``_on_changelog_sent`` does): a worker that
        reuses its local tables then replays only the changelogs' tails (ADR 15)."""
        store = self._rocks.get(topic)
        if store is not None:
            acked.add_done_callback(_persisted_offset_setter(store, TP(topic, partition)))

    async def flush(self) -> None:
        """Hand over every changelog record put so far and wait until the broker has
        acknowledged them all."""
        await self._queue.flush()

    def minutes(self) -> Iterable[bytes]:
        return list(self._minutes.data.values())

    def clocks(self) -> Iterable[bytes]:
        return list(self._clocks.data.values())

    def memory_records(self) -> Iterable[bytes]:
        return list(self._memory.data.values())


def _persisted_offset_setter(store: RocksStore, tp: TP) -> Callable[[asyncio.Future[Any]], None]:
    def persisted(acked: asyncio.Future[Any]) -> None:
        if not acked.cancelled() and acked.exception() is None:
            store.set_persisted_offset(tp, acked.result().offset)

    return persisted


class TopicPublisher:
    """:class:`streams.processor.Publisher` over Faust topics.

    A final snapshot also goes to ``shoppulse.kpis.final`` (ADR 24), keyed by minute and
    store, to the partition numbered as its store's source partition (``partition_of``),
    where that partition's horizons go too (:meth:`publish_horizons`), after it.
    """

    def __init__(
        self,
        kpis: Any,
        deadletter: Any,
        finals: Any = None,
        partition_of: Callable[[str], int] | None = None,
    ) -> None:
        self._kpis = kpis
        self._deadletter = deadletter
        self._finals = finals
        self._partition_of = partition_of

    async def publish_snapshot(self, snapshot: KpiSnapshot) -> None:
        value = snapshot.to_json()
        await self._kpis.send(key=snapshot.key.encode(), value=value)
        if snapshot.final and self._finals is not None and self._partition_of is not None:
            await self._finals.send(
                key=final_key(snapshot.store_id, snapshot.window_start_ms),
                value=value,
                partition=self._partition_of(snapshot.store_id),
            )

    async def publish_horizons(self, horizons: Iterable[Horizon]) -> None:
        """Write source partitions' horizons, each to its own partition of the finals."""
        if self._finals is None:
            return
        for horizon in horizons:
            await self._finals.send(
                key=horizon_key(horizon.source_partition),
                value=horizon.to_json(),
                partition=horizon.source_partition,
            )

    async def publish_dead_letter(self, key: bytes | None, record: bytes) -> None:
        await self._deadletter.send(key=key, value=record)


def load_rules_setting(settings: WorkerSettings) -> RuleSet:
    """The alert rules: ``SHOPPULSE_RULES_FILE``, else the packaged defaults."""
    if settings.rules_file is None:
        return load_default_rules()
    return load_rules_file(settings.rules_file)


def create_app(settings: WorkerSettings, registry: CollectorRegistry | None = None) -> faust.App:
    """Build the worker's Faust app from settings."""
    app_id = f"{settings.topic_namespace}{settings.worker_app_id}"
    app = faust.App(
        app_id,
        broker=[f"kafka://{h.strip()}" for h in settings.kafka_bootstrap_servers.split(",")],
        broker_credentials=faust_credentials(settings),
        store=settings.worker_store,
        datadir=str(settings.worker_data_dir / app_id),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        broker_session_timeout=settings.worker_session_timeout_s,
        broker_heartbeat_interval=settings.worker_heartbeat_interval_s,
        broker_rebalance_timeout=settings.worker_rebalance_timeout_s,
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        stream_wait_empty=False,
        producer_acks=-1,
        producer_linger_ms=5,
        broker_commit_interval=1.0,
        # A fetch is a batch (ADR 14): up to this many records at a time.
        broker_max_poll_records=settings.worker_batch_max,
    )
    families = {settings.topic(t): t for t in topics.SOURCE_TOPICS}
    source = app.topic(*families, key_type=bytes, value_type=bytes)
    kpis = app.topic(settings.topic(topics.KPIS), key_type=bytes, value_type=bytes)
    deadletter = app.topic(settings.topic(topics.DEADLETTER), key_type=bytes, value_type=bytes)
    finals = app.topic(settings.topic(topics.KPIS_FINAL), key_type=bytes, value_type=bytes)
    minutes_table = app.Table(
        "open-minutes", key_type=str, value_type=bytes, partitions=settings.topic_partitions
    )
    clocks_table = app.Table(
        "store-clocks", key_type=str, value_type=bytes, partitions=settings.topic_partitions
    )
    memory_table = app.Table(
        "store-memory", key_type=str, value_type=bytes, partitions=settings.topic_partitions
    )
    tables: tuple[Any, ...] = (minutes_table, clocks_table, memory_table)
    for table in tables:
        # Values are our own JSON bytes: keep them as they are on the changelog.
        table.value_serializer = "raw"
    metrics = WorkerMetrics.create(registry or CollectorRegistry())

    def high_watermark(topic: str, partition: int) -> int | None:
        """The log end offset of a source partition as of the consumer's last fetch."""
        try:
            hw = app.consumer.highwater(TP(topic, partition))
        except Exception:  # not assigned (any more), or no fetch yet
            return None
        return int(hw) if hw is not None else None

    async def rewind(topic: str, partition: int, offset: int) -> int:
        """Seek a source partition back to ``offset`` (or its earliest offset, if later)."""
        tp = TP(topic, partition)
        earliest = await app.consumer.earliest_offsets(tp)
        target = max(offset, int(earliest.get(tp) or 0))
        await app.consumer.seek(tp, target)
        return target

    publisher = TopicPublisher(
        kpis, deadletter, finals, lambda store_id: processor.book.clocks[store_id].partition
    )
    horizons = HorizonTracker(settings.topic_partitions, int(settings.max_future_skew_s * 1000))
    processor = MinuteProcessor(
        settings,
        families=families,
        state=TableState(minutes_table, clocks_table, memory_table, app.producer),
        publisher=publisher,
        metrics=metrics,
        high_watermark=high_watermark,
        rewind=rewind,
    )

    async def publish_horizons() -> None:
        """After a beat's publications: the owned source partitions' horizons that moved."""
        owned = [tp.partition for tp in app.assignor.assigned_actives() if tp.topic in families]
        open_minutes = [(key, m.partition) for key, m in processor.book.minutes.items()]
        generation = app.consumer_generation_id
        now = processor.clock_ms()
        await publisher.publish_horizons(horizons.update(generation, owned, open_minutes, now))

    lock = asyncio.Lock()
    loaded_generation: list[int | None] = [None]

    async def _sync_generation() -> None:
        """(Re)load the book from the recovered tables once per consumer generation."""
        generation = app.consumer_generation_id
        if loaded_generation[0] == generation:
            return
        tps = [tp for tp in app.assignor.assigned_actives() if tp.topic in families]
        # Where each owned source partition resumes: the group's committed offset, asked of
        # the coordinator (Faust's cache is empty until its seek, which can come after the
        # first records), else the earliest offset (auto_offset_reset=earliest).
        consumer = cast(BoundedCommitConsumer, app.consumer)
        committed = await consumer.committed_offsets(tps) if tps else {}
        missing = [tp for tp in tps if not committed.get(tp)]
        earliest = await consumer.earliest_offsets(*missing) if missing else {}
        starts = {(tp.topic, tp.partition): committed.get(tp) or earliest.get(tp, 0) for tp in tps}
        ends = await consumer.highwaters(*tps) if tps else {}
        highs = {(tp.topic, tp.partition): int(offset) for tp, offset in ends.items()}
        await processor.drain()  # the last generation's writes (empty after a revocation)
        processor.restore({tp.partition for tp in tps}, starts, highs)
        loaded_generation[0] = generation

    async def _ready() -> bool:
        """Tables recovered and not rebalancing (a timer may fire during either)."""
        table_manager: Any = app.tables
        if app.rebalancing or not table_manager.recovery.completed.is_set():
            return False
        await _sync_generation()
        return True

    # The source topics are subscribed here and their records are taken out of each fetch by
    # the consumer, as one batch (ADR 14); the agent counts them a batch at a time.
    app.topics.add(source)
    batches = app.channel(maxsize=2)

    async def deliver_batch(generation: int, records: list[Any]) -> None:
        await batches.send(value=SourceBatch(generation, records))

    install_consumer(app, processor.bound_commits, families, deliver_batch)

    @app.agent(batches, name="shoppulse.minutes")
    async def count_minutes(stream: Any) -> None:
        async for batch in stream:
            async with lock:
                # A batch fetched before a rebalance, or during one or during recovery, may
                # hold records of partitions being revoked: it is dropped and its records
                # are read again from the committed offsets by their owner (the bounded
                # commits keep them uncommitted; ADR 12).
                if batch.generation != app.consumer_generation_id or not await _ready():
                    continue
                await processor.process(batch.records)

    async def finish_batch_before_revoke(
        _sender: Any, /, *_args: Any, signal: Any, **_kwargs: Any
    ) -> None:
        """A revocation waits for the batch being processed and for its changelog writes
        (those still queued behind a barrier too), so the partitions' next owner recovers
        state that includes it."""
        async with lock:
            await processor.drain()
            await app.producer.flush()

    app.on_partitions_revoked.connect(finish_batch_before_revoke)

    async def drain_before_shutdown(_sender: Any, /, *_args: Any, **_kwargs: Any) -> None:
        """A stopping worker hands every queued changelog record to the producer (which Faust
        flushes next): the local tables already hold them, and a clean stop reuses those
        (ADR 15), so the changelogs must not miss them (ADR 23)."""
        async with lock:
            await processor.drain()

    app.on_before_shutdown.connect(drain_before_shutdown)

    @app.timer(interval=settings.provisional_interval_s)  # type: ignore[untyped-decorator]
    async def beat() -> None:
        async with lock:
            if not await _ready():
                return
            await processor.tick()
            await publish_horizons()
            offsets = processor.persisted_offsets()
            generation = app.consumer_generation_id
        # Outside the lock (ADR 23): the commit first waits for the producer's flush, which
        # covers every write the offsets need (they were with the producer when taken), and
        # batches and provisional snapshots need not wait for the broker meanwhile.
        if generation == app.consumer_generation_id:
            consumer = cast(BoundedCommitConsumer, app.consumer)
            await consumer.commit_persisted(offsets)

    @app.timer(interval=settings.provisional_interval_s)  # type: ignore[untyped-decorator]
    async def poll_log_ends() -> None:
        """Tell the processor every owned source partition's log end offset (once a beat), so
        a partition the consumer has not fetched from lately is never taken as caught up.

        Not part of the beat: the request can wait on the broker connection behind a fetch
        that long-polls for data, up to a second when the topics are quiet, and the beat
        (every provisional snapshot) would wait with it. Ends only ever raise what the
        processor knows, so one that is a beat old is as safe as one asked just before."""
        generation = app.consumer_generation_id
        tps = [tp for tp in app.assignor.assigned_actives() if tp.topic in families]
        if not tps:
            return
        consumer: Any = app.consumer
        try:
            ends = await consumer.highwaters(*tps)
        except Exception as exc:  # the broker is away: keep the last known ends
            log.debug("log end offsets unavailable: %s", exc)
            return
        async with lock:
            if generation == app.consumer_generation_id and await _ready():
                processor.poll_log_ends(
                    {(tp.topic, tp.partition): int(o) for tp, o in ends.items()}
                )

    if settings.detection_enabled:
        install_detection(app, settings)
    install_alerting(app, settings, load_rules_setting(settings))
    app.shoppulse_processor = processor  # type: ignore[attr-defined]
    app.shoppulse_metrics = metrics  # type: ignore[attr-defined]
    return app
