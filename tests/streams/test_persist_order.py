"""The processor's writes through a real :class:`ChangelogQueue` and a producer whose deliveries
the test acknowledges (ADR 23): a batch never waits for the broker, yet no minute record goes
out before the memory and clock records before it are acknowledged, and no offset becomes
committable before the writes that cover it are acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry

from shoppulse.settings import Settings
from streams.changelog_queue import ChangelogQueue
from streams.memory_state import MemoryState
from streams.metrics import WorkerMetrics
from streams.processor import MinuteProcessor
from tests.streams.test_processor import (
    T0,
    Clock,
    MemoryPublisher,
    click,
    paid,
    rec,
)

CLICKS, ORDERS = "ns.shop.clicks", "ns.shop.orders"


class Broker:
    """A producer whose records are delivered only when the test says so, and which checks
    ADR 11's order as records arrive: no minute record may be handed over while a memory or
    clock record handed over before it is unacknowledged."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None]] = []
        self.deliveries: list[asyncio.Future[Any]] = []

    async def send(
        self,
        topic: str,
        key: bytes,
        value: bytes | None,
        partition: int,
        timestamp: float | None,
        headers: Any,
    ) -> asyncio.Future[Any]:
        if topic == "minutes":
            for (earlier, _, _), before in zip(self.sent, self.deliveries, strict=True):
                assert earlier == "minutes" or before.done(), "minute record sent too early"
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append((topic, key, value))
        self.deliveries.append(delivery)
        return delivery

    def acknowledge(self, count: int | None = None) -> None:
        """Deliver the first ``count`` records not delivered yet (default: all)."""
        waiting = [d for d in self.deliveries if not d.done()]
        for delivery in waiting[:count]:
            delivery.set_result(None)

    @property
    def unacknowledged(self) -> int:
        return sum(not d.done() for d in self.deliveries)

    async def flush(self) -> None:
        self.acknowledge()


class QueuedState(MemoryState):
    """Local tables as :class:`MemoryState`, changelog records through a real queue."""

    def __init__(self, broker: Broker, chunk: int = 1_000) -> None:
        super().__init__()
        self.queue = ChangelogQueue(broker, chunk=chunk)

    def put_minute(self, partition: int, key: str, value: bytes | None) -> None:
        super().put_minute(partition, key, value)
        self.queue.put("minutes", partition, key.encode(), value)

    def put_clock(self, partition: int, key: str, value: bytes) -> None:
        super().put_clock(partition, key, value)
        self.queue.put("clocks", partition, key.encode(), value)

    def put_memory(self, partition: int, key: str, value: bytes | None) -> None:
        super().put_memory(partition, key, value)
        self.queue.put("memory", partition, key.encode(), value)

    def barrier(self) -> None:
        super().barrier()
        self.queue.barrier()

    @property
    def handed_over(self) -> bool:
        return self.queue.handed_over

    def delivered(self) -> Callable[[], bool]:
        return self.queue.delivered()

    async def send(self) -> None:
        await self.queue.send()

    async def flush(self) -> None:
        await self.queue.flush()


def make(
    clock: Clock, broker: Broker, chunk: int = 1_000
) -> tuple[MinuteProcessor, QueuedState, MemoryPublisher]:
    state = QueuedState(broker, chunk)
    pub = MemoryPublisher()
    proc = MinuteProcessor(
        Settings(grace_s=2, idle_close_s=5),
        families={CLICKS: "shop.clicks", ORDERS: "shop.orders"},
        state=state,
        publisher=pub,
        metrics=WorkerMetrics.create(CollectorRegistry()),
        clock_ms=clock,
    )
    proc.restore({3}, starts={(CLICKS, 3): 0, (ORDERS, 3): 0})
    return proc, state, pub


async def settle(proc: MinuteProcessor, broker: Broker) -> None:
    """Acknowledge and tick until every write is out and acknowledged."""
    for _ in range(10):
        broker.acknowledge()
        await proc.tick()
        if not broker.unacknowledged and proc.state.handed_over:
            return
    raise AssertionError("writes never settled")


async def test_no_offset_is_committable_before_the_broker_acknowledges_its_writes() -> None:
    clock = Clock()
    broker = Broker()
    proc, _, _ = make(clock, broker)
    await proc.process([rec(i, click(i, i * 100)) for i in range(5)])
    await proc.tick()
    assert broker.sent  # the clock record is with the producer...
    assert proc.persisted_offsets() == {(CLICKS, 3): 0, (ORDERS, 3): 0}  # ...not acknowledged
    assert proc.bound_commits({(CLICKS, 3): 5}) == {(CLICKS, 3): 0}
    broker.acknowledge()  # clock acknowledged: the minute record goes out at the next persist
    await proc.tick()
    assert proc.persisted_offsets()[(CLICKS, 3)] == 0  # the minute record is not acknowledged
    broker.acknowledge()
    await proc.tick()
    assert proc.persisted_offsets() == {(CLICKS, 3): 5, (ORDERS, 3): 0}


async def test_a_minute_close_does_not_hold_the_next_batches_and_keeps_the_order() -> None:
    """The close's memory and clock records wait for the broker without holding the batches
    after it; its tombstones go out only once they are acknowledged (the Broker checks it),
    and the offsets follow the acknowledgements."""
    clock = Clock()
    broker = Broker()
    proc, state, pub = make(clock, broker)
    await proc.process([rec(0, paid(1, 10, "ana"), topic=ORDERS)])
    await proc.process([rec(i, click(i, i * 100)) for i in range(3)])
    await settle(proc, broker)
    assert proc.persisted_offsets() == {(CLICKS, 3): 3, (ORDERS, 3): 1}
    await proc.process([rec(3, click(3, 62_000))])  # closes the first minute
    assert [s.final for s in pub.snapshots][-1]  # published without waiting for the broker
    held = len(broker.sent)
    for offset in range(4, 8):  # batches go on while the close is unacknowledged
        await proc.process([rec(offset, click(offset, 62_000 + offset))])
    assert len(broker.sent) == held  # nothing more handed over behind the barrier
    assert f"s1|{T0}" not in state.minutes_by_key  # the local table has the tombstone already
    assert proc.persisted_offsets() == {(CLICKS, 3): 3, (ORDERS, 3): 1}
    broker.acknowledge()
    await proc.tick()  # tombstones and the new minute's segments go out now
    assert (("minutes", f"s1|{T0}".encode(), None)) in broker.sent[held:]
    assert proc.persisted_offsets()[(CLICKS, 3)] == 3  # sent, not acknowledged
    broker.acknowledge()
    await proc.tick()
    assert proc.persisted_offsets()[(CLICKS, 3)] == 4  # the close's batch, not the later ones
    await settle(proc, broker)
    assert proc.persisted_offsets() == {(CLICKS, 3): 8, (ORDERS, 3): 1}


async def test_a_large_close_goes_out_a_chunk_per_persist_and_drain_finishes_it() -> None:
    clock = Clock()
    broker = Broker()
    proc, state, _ = make(clock, broker, chunk=2)
    await proc.process([rec(i, click(i, i * 100, store=f"s{i}"), key=None) for i in range(6)])
    assert len(broker.sent) == 2  # six clocks, two at a time
    await proc.tick()
    assert len(broker.sent) == 4
    await proc.drain()  # as before a revocation: everything handed over and acknowledged
    assert state.handed_over
    assert broker.unacknowledged == 0
    assert sorted(k for t, k, _ in broker.sent if t == "minutes") == [
        f"s{i}|{T0}".encode() for i in range(6)
    ]
    assert proc.persisted_offsets()[(CLICKS, 3)] == 6


async def test_a_restart_after_a_crash_with_writes_unacknowledged_recounts_exactly() -> None:
    """What the broker acknowledged is what a crash keeps: the committed offsets never pass
    it, so a new processor restored from the acknowledged state and reading from the committed
    offsets counts every event once."""
    clock = Clock()
    broker = Broker()
    proc, _, _ = make(clock, broker)
    records = [rec(i, click(i, i * 100)) for i in range(10)]
    await proc.process(records[:5])
    await settle(proc, broker)
    await proc.process(records[5:])  # then the worker dies before these writes are acknowledged
    broker.acknowledge(1)
    committed = proc.persisted_offsets()[(CLICKS, 3)]
    kept = MemoryState()
    for (topic, key, value), delivery in zip(broker.sent, broker.deliveries, strict=True):
        if not delivery.done():
            continue
        if topic == "minutes":
            kept.put_minute(3, key.decode(), value)
        elif topic == "clocks" and value is not None:
            kept.put_clock(3, key.decode(), value)
        else:
            kept.put_memory(3, key.decode(), value)
    fresh = MinuteProcessor(
        Settings(grace_s=2, idle_close_s=5),
        families={CLICKS: "shop.clicks", ORDERS: "shop.orders"},
        state=kept,
        publisher=(pub := MemoryPublisher()),
        metrics=WorkerMetrics.create(CollectorRegistry()),
        clock_ms=clock,
    )
    fresh.restore({3}, starts={(CLICKS, 3): committed, (ORDERS, 3): 0})
    await fresh.process(records[committed:])
    await fresh.process([rec(10, click(10, 62_000))])
    final = next(s for s in pub.snapshots if s.final)
    assert final.components["impressions"] == 10
