"""Faust's Kafka consumer: source records a fetch at a time, commits bounded by what the
worker has persisted.

Faust hands every record to its streams one at a time, with a few tasks and an
``asyncio.wait`` per record; for the worker's source topics that machinery cost more than
the counting itself (ADR 14). So records of the *batch topics* are taken out of each fetch
and handed over as one list (:attr:`BoundedCommitConsumer.deliver_batch`); records of
every other topic still take Faust's path.

Faust commits the offsets of acknowledged records. Around a rebalance it can hand over
records fetched before its seek to the committed offsets and then drop the lower ones as
already read, marking the skipped range acknowledged (faust-streaming #221; ADR 12). The
processor notices the skip and seeks back, but Faust would still commit past records that
were never counted. So every commit goes through a bound: a source partition's offset is
committed only up to the records whose effects the worker has persisted. The bound is the
processor's (:meth:`streams.processor.MinuteProcessor.bound_commits`), kept pure there.

Faust's aiokafka driver runs aiokafka in a thread of its own, but its ``seek`` calls
aiokafka's from the caller's thread. aiokafka's fetcher is not thread-safe: a seek from the
worker's thread while the consumer thread drains fetched records can raise ``KeyError`` in
``Fetcher.fetched_records`` and crash the worker (seen in the stack test under load; also
robinhood/aiokafka#19). The worker seeks often (its rewinds, ADR 12), so
:meth:`BoundedCommitConsumer.seek_partition` runs the seek in the consumer thread.

Faust's private hooks and attributes are reached through :mod:`streams.faust_internals`
(ADR 21): this consumer overrides its public hooks, not Faust's private methods.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, ClassVar

from aiokafka import AIOKafkaConsumer
from faust.types import TP

from streams import faust_internals as internals

CommitBound = Callable[[Mapping[tuple[str, int], int]], Mapping[tuple[str, int], int]]
BatchHandler = Callable[[int, list[Any]], Awaitable[None]]
"""Takes the consumer generation a fetch was made in and its source records (aiokafka's
``ConsumerRecord``), in offset order per partition."""


class BoundedCommitConsumer(internals.HookedConsumer):
    """The aiokafka consumer of Faust whose commits pass through ``commit_bound``."""

    commit_bound: CommitBound | None = None
    batch_topics: ClassVar[frozenset[str]] = frozenset()
    deliver_batch: BatchHandler | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._persisted_commits: dict[TP, int] = {}
        """What was actually committed per partition (after the bound)."""

    async def commit_persisted(self, offsets: Mapping[tuple[str, int], int]) -> bool:
        """Commit source offsets up to which the worker has persisted every record's effects.

        Faust commits only when records are acknowledged, and after a bounded commit it
        believes it committed more than it did: without this, a partition whose last records
        were acknowledged during a rewind would keep a stale committed offset. Changelog
        writes are flushed first, as Faust does before its own commits.
        """
        assigned = self.assignment()
        wanted = {
            TP(topic, partition): offset
            for (topic, partition), offset in offsets.items()
            if TP(topic, partition) in assigned
            and offset > (self._persisted_commits.get(TP(topic, partition)) or -1)
        }
        if not wanted:
            return False
        await self.app.producer.flush()
        return await self.commit_to_broker(wanted)

    async def commit_to_broker(self, offsets: Mapping[TP, int]) -> bool:
        """Every commit (Faust's and :meth:`commit_persisted`'s), within ``commit_bound``."""
        bound = self.commit_bound
        if bound is not None:
            allowed = bound({(tp.topic, tp.partition): o for tp, o in offsets.items()})
            offsets = {
                tp: allowed[(tp.topic, tp.partition)]
                for tp in offsets
                if (tp.topic, tp.partition) in allowed
            }
            if not offsets:
                return False
        done = await self.faust_commit(offsets)
        if done:
            self._persisted_commits.update(offsets)
        return done

    async def drain_fetches(self, fetcher: Any) -> None:  # the fetcher's one task
        """Fetch until stopped: batch topics' records as one list per fetch, others as Faust
        does (record by record to its streams, skipping records below the read offset)."""
        deliver = self.deliver_batch
        batch_topics = self.batch_topics
        if deliver is None or not batch_topics:
            await self.faust_drain_messages(fetcher)
            return
        fetcher_stopped = internals.stopped_event(fetcher).is_set
        try:
            while not (internals.stopped_event(self).is_set() or fetcher_stopped()):
                records, active = await internals.next_records(self, 1.0)
                await asyncio.sleep(0)
                if not records or self.should_stop:
                    continue
                if not self.flow_active:
                    # As Faust's getmany does: a fetch during a stop of the flow is dropped
                    # and the partitions go back to their committed offsets.
                    await self.perform_seek()
                    continue
                generation = self.app.consumer_generation_id
                batch: list[Any] = []
                for tp, tp_records in records.items():
                    paused = active is not None and tp not in active
                    if paused and tp not in internals.buffered_partitions(self):
                        continue
                    if tp.topic in batch_topics:
                        batch.extend(tp_records)
                    else:
                        for record in tp_records:
                            await self._deliver_one(tp, record)
                if batch:
                    await deliver(generation, batch)
        except self.consumer_stopped_errors:
            if not self.transport.app.should_stop:
                raise
        except asyncio.CancelledError:
            if not self.transport.app.should_stop:
                raise

    async def _deliver_one(self, tp: TP, record: Any) -> None:
        """One record of a non-batch topic to Faust's streams, as Faust's own loop does."""
        offset = record.offset
        read = internals.read_offset(self, tp)
        if read is not None and offset < read:
            return  # already read (Faust drops it too)
        if read and offset - read > 1 and self.app.topics.acks_enabled_for(record.topic):
            await internals.add_gap(self, tp, read + 1, offset)  # so acks can pass the gap
        every = internals.commit_every(self)
        if every is not None and internals.acked_count(self) >= every:
            internals.reset_acked_count(self)
            await self.commit()
        message = internals.to_message(self, tp, record)
        await self.wait_first(self.callback(message), self.suspend_flow.wait())
        internals.set_read_offset(self, tp, offset)

    async def seek_partition(self, partition: TP, offset: int) -> None:
        """Seek in the consumer thread, where aiokafka's fetcher runs (see the module
        docstring), not from this one."""
        thread = internals.consumer_thread(self)
        aio: AIOKafkaConsumer = internals.aiokafka_consumer(self)
        await thread.call_thread(aio.seek, partition, offset)

    async def committed_offsets(self, tps: Iterable[TP]) -> dict[TP, int | None]:
        """The group's committed offsets, asked of the coordinator (not Faust's cache)."""
        thread = internals.consumer_thread(self)
        aio: AIOKafkaConsumer = internals.aiokafka_consumer(self)
        wanted = list(tps)

        async def fetch() -> dict[TP, int | None]:
            return {tp: await aio.committed(tp) for tp in wanted}

        result: dict[TP, int | None] = await thread.call_thread(fetch)
        return result


def install_consumer(
    app: Any, bound: CommitBound, batch_topics: Iterable[str], deliver_batch: BatchHandler
) -> None:
    """Make ``app`` create a :class:`BoundedCommitConsumer` whose commits pass ``bound`` and
    which hands ``batch_topics``' records to ``deliver_batch``."""

    class Bounded(BoundedCommitConsumer):
        commit_bound = staticmethod(bound)

    Bounded.batch_topics = frozenset(batch_topics)
    Bounded.deliver_batch = staticmethod(deliver_batch)

    internals.install_consumer_class(app, Bounded)
