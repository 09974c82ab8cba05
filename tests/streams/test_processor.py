"""The processor with in-memory state and publisher: the Faust adapters are tested end to end
in tests/streams/test_pipeline_e2e.py; here the batch logic is a pure unit."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from shoppulse.minute_book import SEGMENT_MAX_EVENTS
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot
from streams.memory_state import MemoryState
from streams.metrics import WorkerMetrics
from streams.processor import MinuteProcessor, RawRecord

T0 = 1_700_000_040_000


class MemoryPublisher:
    def __init__(self) -> None:
        self.snapshots: list[KpiSnapshot] = []
        self.dead: list[dict[str, Any]] = []

    async def publish_snapshot(self, snapshot: KpiSnapshot) -> None:
        self.snapshots.append(snapshot)

    async def publish_dead_letter(self, key: bytes | None, record: bytes) -> None:
        self.dead.append(orjson.loads(record))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def make(
    clock: Clock, state: MemoryState | None = None
) -> tuple[MinuteProcessor, MemoryState, MemoryPublisher]:
    state = state or MemoryState()
    pub = MemoryPublisher()
    proc = MinuteProcessor(
        Settings(grace_s=2, idle_close_s=5),
        families={"ns.shop.clicks": "shop.clicks", "ns.shop.orders": "shop.orders"},
        state=state,
        publisher=pub,
        metrics=WorkerMetrics.create(CollectorRegistry()),
        clock_ms=clock,
    )
    return proc, state, pub


def rec(
    offset: int,
    value: dict[str, Any] | bytes,
    topic: str = "ns.shop.clicks",
    key: bytes | None = b"s1",
    partition: int = 3,
) -> RawRecord:
    raw = value if isinstance(value, bytes) else orjson.dumps(value)
    return RawRecord(topic, partition, offset, key, raw, T0)


def click(i: int, ts: int, store: str = "s1") -> dict[str, Any]:
    return {
        "event_id": f"c{i}",
        "store_id": store,
        "ts": T0 + ts,
        "session_id": f"s{i % 4}",
        "visitor_id": f"v{i % 3}",
        "kind": "impression",
    }


async def test_batch_counts_persists_once_per_key_and_closes_on_stream_time() -> None:
    clock = Clock()
    proc, state, pub = make(clock)
    await proc.process([rec(i, click(i, i * 100)) for i in range(10)])
    assert [w for w in state.writes if w[0] == "minute"] == [("minute", 3, f"s1|{T0}")]
    assert pub.snapshots == []  # provisional values wait for the tick
    await proc.tick()
    assert len(pub.snapshots) == 1
    assert not pub.snapshots[0].final
    await proc.tick()
    assert len(pub.snapshots) == 1  # nothing changed: nothing re-published
    await proc.process([rec(10, click(10, 62_000))])
    finals = [s for s in pub.snapshots if s.final]
    assert len(finals) == 1
    assert finals[0].components["impressions"] == 10
    assert finals[0].components["sessions"] == 4
    assert finals[0].components["visitors"] == 3
    assert finals[0].revision == 2
    assert f"s1|{T0}" not in state.minutes_by_key  # closed minute tombstoned


async def test_bad_and_mis_keyed_events_are_dead_lettered_with_source() -> None:
    proc, _, pub = make(Clock())
    await proc.process(
        [
            rec(1, b"{oops"),
            rec(2, click(2, 10), key=b"other-store"),
            rec(3, click(3, 10)),
            rec(4, click(4, 400_000)),  # 400 s ahead of the worker's clock
        ]
    )
    reasons = [d["reason"] for d in pub.dead]
    assert reasons == ["invalid_json", "schema", "future_ts"]
    assert pub.dead[0]["source"] == {
        "topic": "ns.shop.clicks",
        "partition": 3,
        "offset": 1,
        "timestamp_ms": T0,
        "key_base64": "czE=",
    }
    assert pub.dead[0]["raw_text"] == "{oops"


async def test_idle_minutes_close_on_tick_and_late_events_are_dead_lettered() -> None:
    clock = Clock()
    proc, _, pub = make(clock)
    await proc.process([rec(1, click(1, 10))])
    clock.now += 30_000  # silent for longer than idle_close_s, but the minute runs on
    await proc.tick()
    assert [s.final for s in pub.snapshots] == [False]
    clock.now = T0 + 62_000  # the minute's end plus grace
    await proc.tick()
    assert [s.final for s in pub.snapshots] == [False, True]
    await proc.process([rec(2, click(2, 20))])
    assert [d["reason"] for d in pub.dead] == ["late"]


async def test_restore_rebuilds_open_minutes_and_ignores_unowned_partitions() -> None:
    clock = Clock()
    proc, state, _pub = make(clock)
    await proc.process([rec(i, click(i, i)) for i in range(3)])
    await proc.process([rec(9, click(9, 5, store="s2"), key=b"s2", partition=1)])
    await proc.tick()
    fresh, _, pub2 = make(clock, state)
    fresh.restore(active_partitions={3})
    assert set(fresh.book.clocks) == {"s1"}
    await fresh.process([rec(1, click(1, 1)), rec(3, click(3, 61_000 + 2_000))])
    final = next(s for s in pub2.snapshots if s.final)
    assert final.components["impressions"] == 3  # the replayed c1 counted once
    assert final.revision == 2  # continues after the persisted provisional revision 1


def paid(i: int, ts: int, customer: str) -> dict[str, Any]:
    return {
        "event_id": f"o{i}",
        "store_id": "s1",
        "ts": T0 + ts,
        "order_id": f"order-{i}",
        "customer_id": customer,
        "status": "paid",
        "amount_minor": 500,
        "currency": "EUR",
    }


async def test_restore_brings_back_the_store_memory() -> None:
    """A customer's first order before a restart makes their next order a repeat one."""
    clock = Clock()
    proc, state, _ = make(clock)
    await proc.process([rec(1, paid(1, 10, "ana"), topic="ns.shop.orders")])
    await proc.process([rec(2, click(2, 62_000))])  # closes the first minute
    fresh, _, pub = make(clock, state)
    fresh.restore(active_partitions={3})
    await fresh.process([rec(3, paid(3, 70_000, "ana"), topic="ns.shop.orders")])
    await fresh.process([rec(4, click(4, 125_000))])
    final = next(s for s in pub.snapshots if s.final)
    assert final.components["paid_orders_repeat_customer"] == 1
    assert final.components.get("paid_orders_new_customer", 0) == 0


async def test_memory_changes_travel_with_their_minute_until_it_closes() -> None:
    """The memory changes of an open minute's events are in that minute's record (one
    atomic write); at close they go to the memory table, acknowledged before the tombstone."""
    clock = Clock()
    proc, state, _ = make(clock)
    await proc.process([rec(1, paid(1, 10, "ana"), topic="ns.shop.orders")])
    assert state.writes == [("clock", 3, "s1"), ("barrier", -1, ""), ("minute", 3, f"s1|{T0}")]
    journal = orjson.loads(state.minutes_by_key[f"s1|{T0}"])["journal"]
    assert sorted(orjson.loads(raw)["k"] for _, raw in journal) == ["customer", "unshipped"]
    state.writes.clear()
    await proc.process([rec(2, click(2, 62_000))])  # closes the first minute
    assert state.writes[:4] == [
        ("clock", 3, "s1"),  # closed_until moves past the first minute
        ("memory", 3, "s1|customer|ana"),
        ("memory", 3, "s1|unshipped|order-1"),
        ("barrier", -1, ""),  # acknowledged before that minute's tombstone
    ]
    assert sorted(state.writes[4:]) == [
        ("minute", 3, f"s1|{T0}"),
        ("minute", 3, f"s1|{T0 + 60_000}"),
    ]


async def test_an_open_minutes_journal_restores_the_memory_of_its_events() -> None:
    """As after a crash that kept the minute record but no memory-table write: the restored
    memory still knows ana, so her next order is a repeat one, and replaying her first
    order counts nothing twice."""
    clock = Clock()
    proc, state, _ = make(clock)
    await proc.process([rec(1, paid(1, 10, "ana"), topic="ns.shop.orders")])
    assert state.memory_by_key == {}
    fresh, _, pub = make(clock, state)
    fresh.restore(active_partitions={3})
    await fresh.process(
        [
            rec(1, paid(1, 10, "ana"), topic="ns.shop.orders"),  # the replayed first order
            rec(3, paid(3, 20, "ana"), topic="ns.shop.orders"),
            rec(4, click(4, 62_000)),
        ]
    )
    final = next(s for s in pub.snapshots if s.final)
    assert final.components["paid_orders_new_customer"] == 1
    assert final.components["paid_orders_repeat_customer"] == 1
    assert final.components["orders_paid"] == 2


@pytest.mark.parametrize("bad", [b"\xff", b"[]", b'{"event_id": 5}'])
async def test_no_bad_input_raises(bad: bytes) -> None:
    proc, _, pub = make(Clock())
    await proc.process([rec(0, bad)])
    assert len(pub.dead) == 1


async def test_minutes_wait_for_lagging_inputs_before_closing_on_stream_time() -> None:
    """A replay reads topics at different paces: orders may still be unread when clicks
    have run ahead. The minute must not close until every lagging input has caught up."""
    clock = Clock()
    high = {("ns.shop.clicks", 3): 100, ("ns.shop.orders", 3): 50}
    proc, _, pub = make(clock)
    proc.high_watermark = lambda topic, partition: high.get((topic, partition))
    proc.restore({3}, starts={("ns.shop.clicks", 3): 0, ("ns.shop.orders", 3): 48})
    # clicks run ahead to minute 2; orders (offsets 48..49 unread) lag behind.
    await proc.process([rec(0, click(0, 10)), rec(1, click(1, 2 * 60_000))])
    assert [s for s in pub.snapshots if s.final] == []
    order = {
        "event_id": "o1",
        "store_id": "s1",
        "ts": T0 + 30_000,
        "order_id": "o1",
        "customer_id": "c",
        "status": "paid",
        "amount_minor": 900,
        "currency": "EUR",
    }
    await proc.process([rec(48, order, topic="ns.shop.orders")])
    assert [s for s in pub.snapshots if s.final] == []  # orders have only reached minute 0
    later = {**order, "event_id": "o2", "order_id": "o2", "ts": T0 + 2 * 60_000}
    await proc.process([rec(49, later, topic="ns.shop.orders")])  # orders caught up, minute 2
    (final,) = [s for s in pub.snapshots if s.final]
    assert final.window_start_ms == T0
    assert final.components["gmv_minor"] == 900


async def test_an_unknown_high_watermark_counts_as_lagging() -> None:
    clock = Clock()
    proc, _, pub = make(clock)
    proc.high_watermark = lambda topic, partition: 100 if topic == "ns.shop.clicks" else None
    proc.restore({3}, starts={("ns.shop.clicks", 3): 0, ("ns.shop.orders", 3): 0})
    await proc.process([rec(0, click(0, 10)), rec(1, click(1, 2 * 60_000))])
    assert [s for s in pub.snapshots if s.final] == []


async def test_a_bug_while_counting_dead_letters_the_event_instead_of_crashing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proc, _, pub = make(Clock())

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    from shoppulse.minute_book import MinuteBook

    monkeypatch.setattr(MinuteBook, "ingest", broken)  # a stand-in for a bug in the core
    await proc.process([rec(0, click(0, 10))])
    assert [d["reason"] for d in pub.dead] == ["internal_error"]
    assert "RuntimeError: boom" in pub.dead[0]["detail"]


async def test_skipped_records_are_sought_back_and_commits_never_pass_what_is_persisted() -> None:
    """Faust can deliver a partition from past its committed offset and then drop the lower
    records as read (faust-streaming #221). The processor counts nothing out of order: it
    seeks back, drops what comes before the sought record, skips re-deliveries by offset,
    and lets no commit pass the records it has persisted."""
    clock = Clock()
    proc, _, pub = make(clock)
    sought: list[tuple[str, int, int]] = []

    async def rewind(topic: str, partition: int, offset: int) -> int:
        sought.append((topic, partition, offset))
        return offset

    proc.rewind = rewind
    tp = ("ns.shop.clicks", 3)
    proc.restore({3}, starts={tp: 10})
    await proc.process([rec(10, click(10, 1_000))])
    await proc.process([rec(40, click(40, 2_000)), rec(41, click(41, 2_100))])  # a skip
    assert sought == [("ns.shop.clicks", 3, 11)]
    assert proc.bound_commits({tp: 42, ("ns.shop.kpis", 0): 7}) == {tp: 11, ("ns.shop.kpis", 0): 7}
    # the rewind delivers 11..41; 10 again is a re-delivery
    await proc.process([rec(o, click(o, 1_000 + o)) for o in range(10, 42)])
    assert proc.bound_commits({tp: 42}) == {tp: 42}
    assert proc.metrics.redelivered.labels("shop.clicks")._value.get() == 1
    assert proc.metrics.rewinds.labels("shop.clicks")._value.get() == 1
    clock.now += 62_000  # the minute's end plus grace
    await proc.tick()
    (final,) = [s for s in pub.snapshots if s.final]
    assert final.components["events"] == 32  # offsets 10..41, each once


async def test_a_rewind_past_deleted_records_reads_on_from_the_earliest_offset() -> None:
    proc, _, _ = make(Clock())

    async def rewind(topic: str, partition: int, offset: int) -> int:
        return 30  # retention deleted everything before offset 30

    proc.rewind = rewind
    tp = ("ns.shop.clicks", 3)
    proc.restore({3}, starts={tp: 0})
    await proc.process([rec(35, click(35, 1_000))])
    await proc.process([rec(30, click(30, 1_000))])
    assert proc.progress is not None
    assert proc.progress.next_offset[tp] == 31


async def test_a_rewind_still_waiting_is_sought_again_on_the_beat() -> None:
    """The consumer may drop the re-read records as read (a fetch from before the seek came
    in after it) and then sit idle: the beat seeks again until the awaited record comes."""
    clock = Clock()
    proc, _, _ = make(clock)
    sought: list[int] = []

    async def rewind(topic: str, partition: int, offset: int) -> int:
        sought.append(offset)
        return offset

    proc.rewind = rewind
    tp = ("ns.shop.clicks", 3)
    proc.restore({3}, starts={tp: 5})
    await proc.process([rec(20, click(20, 1_000))])
    await proc.tick()
    assert sought == [5]  # not yet due
    clock.now += 500
    await proc.tick()
    assert sought == [5, 5]
    await proc.process([rec(5, click(5, 1_000))])
    clock.now += 500
    await proc.tick()
    assert sought == [5, 5]  # the awaited record came: the rewind is over


async def test_a_busy_minute_is_written_in_bounded_segments_and_restores_whole() -> None:
    clock = Clock()
    proc, state, pub = make(clock)
    await proc.process([rec(i, click(i, i)) for i in range(600)])
    first = [k for k in state.minutes_by_key]
    assert first == [f"s1|{T0}", f"s1|{T0}|1", f"s1|{T0}|2"]  # 256 + 256 + 88 events
    assert all(
        len(orjson.loads(v)["event_ids"]) <= SEGMENT_MAX_EVENTS
        for v in state.minutes_by_key.values()
    )
    await proc.tick()  # a provisional revision: one more (empty) segment carries it
    await proc.process([rec(600 + i, click(600 + i, 30_000 + i)) for i in range(10)])
    assert len(state.minutes_by_key) == 5

    # A restarted worker rebuilds the minute from its segments, whatever their order.
    state.minutes_by_key = dict(reversed(state.minutes_by_key.items()))
    again, _, pub_again = make(clock, state)
    again.restore()
    await again.process([rec(600, click(600, 30_000))])  # a replayed duplicate
    for p in (proc, again):
        await p.process([rec(700, click(700, 62_000))])  # closes the minute
    final, final_again = (next(s for s in p.snapshots if s.final) for p in (pub, pub_again))
    assert final_again.components == final.components
    assert final.components["impressions"] == 610
    assert final_again.revision == final.revision == 2
    assert sorted(state.minutes_by_key) == [f"s1|{T0 + 60_000}"]  # every segment deleted


#: Kafka's default largest record batch (``message.max.bytes``): no state record may exceed it.
BROKER_MAX_RECORD_BYTES = 1_048_588


class SizedState(MemoryState):
    """:class:`MemoryState` that remembers the largest record written to each table."""

    def __init__(self) -> None:
        super().__init__()
        self.largest: dict[str, int] = {"minute": 0, "clock": 0, "memory": 0}

    def _saw(self, table: str, value: bytes | None) -> None:
        self.largest[table] = max(self.largest[table], len(value or b""))

    def put_minute(self, partition: int, key: str, value: bytes | None) -> None:
        self._saw("minute", value)
        super().put_minute(partition, key, value)

    def put_clock(self, partition: int, key: str, value: bytes) -> None:
        self._saw("clock", value)
        super().put_clock(partition, key, value)

    def put_memory(self, partition: int, key: str, value: bytes | None) -> None:
        self._saw("memory", value)
        super().put_memory(partition, key, value)


def session_click(i: int, ts: int) -> dict[str, Any]:
    return click(i, ts) | {"session_id": f"session-{i:06d}-{'x' * 60}", "visitor_id": f"v{i}"}


async def test_a_store_back_after_a_long_gap_writes_no_record_over_the_broker_limit() -> None:
    """20,000 sessions open, then 17 hours of silence: the store's first click after the gap
    ends them all, and each end is a memory change kept with that click's minute (ADR 11).
    The minute's records stay far below what the broker accepts, and a restart restores it."""
    clock = Clock()
    state = SizedState()
    proc, _, pub = make(clock, state)
    n = 20_000
    for first in range(0, n, 2_000):
        await proc.process([rec(i, session_click(i, i * 10)) for i in range(first, first + 2_000)])
    gap_ms = 17 * 3_600_000
    clock.now = T0 + gap_ms + 1_000
    await proc.process([rec(n, click(n, gap_ms))])
    assert state.largest["minute"] <= BROKER_MAX_RECORD_BYTES // 2, state.largest

    again, _, pub_again = make(clock, state)
    again.restore()
    for p in (proc, again):
        await p.process([rec(n + 1, click(n + 1, gap_ms + 70_000))])  # closes the gap minute
    gap_minute = T0 + gap_ms - gap_ms % 60_000
    finals = [
        next(s for s in snaps if s.final and s.window_start_ms == gap_minute)
        for snaps in (pub.snapshots, pub_again.snapshots)
    ]
    assert finals[0].components["sessions_ended"] == n
    assert finals[1].components == finals[0].components
    assert max(state.largest.values()) <= BROKER_MAX_RECORD_BYTES // 2, state.largest
