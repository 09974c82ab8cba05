"""Faust's Kafka consumer with commits bounded by what the worker has persisted.

Faust commits the offsets of acknowledged records. Around a rebalance it can hand over
records fetched before its seek to the committed offsets and then drop the lower ones as
already read, marking the skipped range acknowledged (faust-streaming #221; ADR 12). The
processor notices the skip and seeks back, but Faust would still commit past records that
were never counted. So every commit goes through a bound: a source partition's offset is
committed only up to the records whose effects the worker has persisted. The bound is the
processor's (:meth:`streams.processor.MinuteProcessor.bound_commits`), kept pure there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

CommitBound = Callable[[Mapping[tuple[str, int], int]], Mapping[tuple[str, int], int]]


class BoundedCommitConsumer(faust_aiokafka.Consumer):
    """The aiokafka consumer of Faust whose commits pass through ``commit_bound``."""

    commit_bound: CommitBound | None = None

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
        return await self._commit(wanted)

    async def _commit(self, offsets: Mapping[TP, int]) -> bool:
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
        done = bool(await super()._commit(offsets))
        if done:
            self._persisted_commits.update(offsets)
        return done

    async def committed_offsets(self, tps: Iterable[TP]) -> dict[TP, int | None]:
        """The group's committed offsets, asked of the coordinator (not Faust's cache)."""
        thread: Any = self._thread
        aio: AIOKafkaConsumer = thread._ensure_consumer()
        wanted = list(tps)

        async def fetch() -> dict[TP, int | None]:
            return {tp: await aio.committed(tp) for tp in wanted}

        result: dict[TP, int | None] = await thread.call_thread(fetch)
        return result


def install_bounded_commits(app: Any, bound: CommitBound) -> None:
    """Make ``app`` create a :class:`BoundedCommitConsumer` whose commits pass ``bound``."""

    class Bounded(BoundedCommitConsumer):
        commit_bound = staticmethod(bound)

    app.transport.Consumer = Bounded
