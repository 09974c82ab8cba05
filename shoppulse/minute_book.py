"""Open store-minutes and the rules that close them: pure, no Faust.

The worker keeps one :class:`MinuteBook` per process. Each accepted event is
added to its store's event-time minute; a duplicate ``event_id`` counts once
(duplicates always fall in the same minute, so the minute's id set is a
complete de-duplication horizon while it is open). A minute closes when its
store's stream time passes ``end + grace``; on silence, never before the wall
clock has passed ``end + grace`` too, so an event that arrives within grace of
its minute's end is never late (ADR 17). An event older than the newest closed
minute of its store is *late*; one too far ahead of the wall clock is
*future*; both are rejected rather than counted.

>>> from shoppulse.events import ClickEvent
>>> T0 = 1_700_000_040_000  # a minute boundary
>>> book = MinuteBook(window_ms=60_000, grace_ms=5_000, idle_ms=10_000, max_future_ms=300_000)
>>> def click(i, ts):
...     return ClickEvent(event_id=f"e{i}", store_id="s1", ts=T0 + ts, session_id="x",
...                       visitor_id="v", kind="impression")
>>> book.ingest(click(1, 1_000), partition=0, arrival_ms=T0 + 2_000)
'counted'
>>> book.ingest(click(1, 1_000), partition=0, arrival_ms=T0 + 2_000)
'duplicate'
>>> book.ingest(click(2, 66_000), partition=0, arrival_ms=T0 + 3_000)
'counted'
>>> [m.window_start_ms - T0 for m in book.due(now_ms=T0 + 3_000)]
[0]
>>> book.close(book.due(now_ms=T0 + 3_000)[0], emitted_at_ms=T0).components["impressions"]
1
>>> book.ingest(click(3, 59_000), partition=0, arrival_ms=T0 + 3_500).reason
'late'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import orjson

from shoppulse import jsonbytes
from shoppulse.components import Components
from shoppulse.events import ChatEvent, InventoryEvent, OrderEvent, Rejection, ShopEvent
from shoppulse.inventory import SkuLevel, merge_level
from shoppulse.service_agents import add_agent_counts, agent_components
from shoppulse.snapshot import KpiSnapshot
from shoppulse.store_memory import CHAT_ASSIST_WINDOW_MS, Change, StoreMemory
from shoppulse.windows import TumblingWindow

MinuteKey = tuple[str, int]
Outcome = Literal["counted", "duplicate"]

#: Events per segment record of an open minute (ADR 13).
SEGMENT_MAX_EVENTS: Final = 256
#: Bytes of event ids and memory changes per segment record, about (ADR 13 addendum): with
#: the events' components and sketches a record stays far below Kafka's default 1 MB limit,
#: however many memory changes one event makes (a click after a long gap ends every session).
SEGMENT_MAX_BYTES: Final = 256 * 1024
#: What an event adds to its segment besides its id: a paid order or a stock level, at most.
_EVENT_OVERHEAD_BYTES: Final = 64
#: What a memory change adds to its segment besides its record.
_CHANGE_OVERHEAD_BYTES: Final = 16


@dataclass(slots=True)
class OpenMinute:
    """One store's open event-time minute and everything needed to publish it."""

    store_id: str
    window_start_ms: int
    window_end_ms: int
    partition: int
    components: Components = field(default_factory=Components)
    event_ids: set[str] = field(default_factory=set)
    currency: str | None = None
    revision: int = 0
    dirty: bool = False
    levels: dict[str, SkuLevel] = field(default_factory=dict)
    """The latest stock level of each SKU updated in this minute."""
    paid: list[tuple[str, int]] = field(default_factory=list)
    """(customer_id, event time) of this minute's paid orders, for chat assistance."""
    agents: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per-agent service components (``shoppulse.service_agents``)."""
    journal: dict[tuple[str, str], Change] = field(default_factory=dict)
    """The store-memory changes its events caused, persisted with its event ids."""
    segments_written: int = 0
    """Segment records of this minute written so far (``segment`` 0 to this, exclusive)."""
    persisted_revision: int = 0
    """The revision the written segments carry."""
    pending: list[OpenMinute] = field(default_factory=list)
    """Segments not written yet: the events since the last write, at most
    ``SEGMENT_MAX_EVENTS`` and about ``SEGMENT_MAX_BYTES`` each (the last one may still grow)."""
    size_bytes: int = 0
    """Of a pending segment: about how many bytes of event ids and memory changes it holds."""
    base_counts: dict[str, int] | None = None
    """Of the pending segment new events go to (the tail): the minute's counts when it
    became the tail (its own counts are the difference, taken when it is complete)."""
    partial: bool = False
    """Of a segment: it holds only memory changes of an event that a later segment of the same
    write holds; restore drops it unless a complete segment follows it."""

    @property
    def key(self) -> MinuteKey:
        return (self.store_id, self.window_start_ms)

    def add(self, event: ShopEvent) -> Outcome:
        event_id = event.event_id
        if event_id in self.event_ids:
            return "duplicate"
        tail = self._tail()
        self.components.add_event(event)
        self._apply(event)
        tail._apply(event)
        tail.size_bytes += len(event_id) + _EVENT_OVERHEAD_BYTES
        self.dirty = True
        return "counted"

    def _apply(self, event: ShopEvent) -> None:
        """Everything of an event but its components, which a segment takes from its minute
        when it is complete (:meth:`_complete`)."""
        self.event_ids.add(event.event_id)
        if type(event) is OrderEvent:
            if self.currency is None:
                self.currency = event.currency
            if event.status == "paid":
                self.paid.append((event.customer_id, event.ts_ms))
        elif type(event) is InventoryEvent:
            level = SkuLevel(event.ts_ms, event.on_hand, event.reorder_point)
            merge_level(self.levels, event.sku, level)

    def _tail(self) -> OpenMinute:
        """The segment the next event goes to (a new one when the last is full)."""
        pending = self.pending
        if (
            not pending
            or len(pending[-1].event_ids) >= SEGMENT_MAX_EVENTS
            or pending[-1].size_bytes >= SEGMENT_MAX_BYTES
        ):
            if pending:
                self._complete(pending[-1])
            segment = self._segment()
            # The segment's components are what the minute's grow by while it is the tail.
            segment.base_counts = dict(self.components.counts)
            self.components.take_added()
            pending.append(segment)
        return pending[-1]

    def _complete(self, segment: OpenMinute) -> None:
        """Give the segment that stops being the tail its events' components: the minute's
        counts less those when it became the tail, and the distinct members new since."""
        base = segment.base_counts
        if base is None:
            return
        segment.base_counts = None
        components = segment.components
        components.counts = {
            name: value - base.get(name, 0) for name, value in self.components.counts.items()
        }
        for name, members in self.components.take_added().items():
            components.distinct.setdefault(name, set()).update(members)

    def _segment(self) -> OpenMinute:
        return OpenMinute(self.store_id, self.window_start_ms, self.window_end_ms, self.partition)

    def add_effects(
        self,
        deltas: Mapping[str, int],
        journal: Mapping[tuple[str, str], Change],
        credited: tuple[str, dict[str, int]] | None,
    ) -> None:
        """What the store's memory made of the event just added: component deltas, memory
        changes and the agent credited; kept with the event in its segment.

        Memory changes that do not fit the event's segment go to partial segments written
        just before it (a restore keeps them only with the segment that holds the event).
        """
        tail = self.pending[-1]
        if journal:
            self.journal.update(journal)
            size = _CHANGE_OVERHEAD_BYTES * len(journal)
            for change in journal.values():
                size += len(change[1])
            if tail.size_bytes + size <= SEGMENT_MAX_BYTES:  # the usual case: it all fits
                tail.journal.update(journal)
                tail.size_bytes += size
            else:
                tail.size_bytes += self._spill(journal, tail)
        if deltas:
            self.components.add_counts(deltas)  # the tail takes them when complete
        if credited is not None:
            add_agent_counts(self.agents, *credited)
            add_agent_counts(tail.agents, *credited)

    def _spill(self, journal: Mapping[tuple[str, str], Change], tail: OpenMinute) -> int:
        """Put ``journal`` in ``tail`` and, where it would pass ``SEGMENT_MAX_BYTES``, in
        partial segments before it; the bytes ``tail`` took."""
        room = max(0, SEGMENT_MAX_BYTES - tail.size_bytes)
        chunk: dict[tuple[str, str], Change] = {}
        chunk_bytes = 0
        chunks: list[tuple[dict[tuple[str, str], Change], int]] = []
        for key, change in journal.items():
            size = len(change[1]) + _CHANGE_OVERHEAD_BYTES
            if chunk and chunk_bytes + size > SEGMENT_MAX_BYTES:
                chunks.append((chunk, chunk_bytes))
                chunk, chunk_bytes = {}, 0
            chunk[key] = change
            chunk_bytes += size
        if chunk_bytes > room or chunks:
            chunks.append((chunk, chunk_bytes))
            chunk, chunk_bytes = {}, 0
        for part, size in chunks:
            segment = self._segment()
            segment.journal, segment.size_bytes, segment.partial = part, size, True
            self.pending.insert(len(self.pending) - 1, segment)
        tail.journal.update(chunk)
        return chunk_bytes

    def take_segments(self) -> list[tuple[int, bytes]]:
        """The segment records to write now, numbered on from those written before: one
        per pending segment, or an empty one when only the revision changed."""
        if self.pending:
            self._complete(self.pending[-1])
        segments = self.pending or (
            [OpenMinute(self.store_id, self.window_start_ms, self.window_end_ms, self.partition)]
            if self.revision != self.persisted_revision
            else []
        )
        out = []
        for segment in segments:
            segment.revision = self.revision
            segment.segments_written = self.segments_written
            out.append((self.segments_written, segment.to_state()))
            self.segments_written += 1
        self.pending = []
        self.persisted_revision = self.revision
        return out

    def merge(self, segment: OpenMinute) -> None:
        """Fold in a later segment of the same minute (as on restore, in segment order)."""
        self.event_ids |= segment.event_ids
        self.components.merge(segment.components)
        if self.currency is None:
            self.currency = segment.currency
        self.revision = max(self.revision, segment.revision)
        self.persisted_revision = self.revision
        for sku, level in segment.levels.items():
            merge_level(self.levels, sku, level)
        self.paid.extend(segment.paid)
        for agent, counts in segment.agents.items():
            add_agent_counts(self.agents, agent, counts)
        for key, change in segment.journal.items():
            current = self.journal.get(key)
            if current is None or change[0] > current[0]:
                self.journal[key] = change
        self.segments_written = max(self.segments_written, segment.segments_written)

    def snapshot(
        self, *, final: bool, emitted_at_ms: int, at_close: Mapping[str, int] | None = None
    ) -> KpiSnapshot:
        """Publishable snapshot; each call is a new revision and clears ``dirty``.

        ``at_close`` are components evaluated against the store's memory when the minute is
        published: the inventory gauges at its end and its chat-assisted orders.
        """
        self.revision += 1
        self.dirty = False
        return KpiSnapshot(
            store_id=self.store_id,
            window_start_ms=self.window_start_ms,
            window_end_ms=self.window_end_ms,
            final=final,
            revision=self.revision,
            currency=self.currency,
            components={**self.components.values(), **(at_close or {})},
            agents={agent: dict(counts) for agent, counts in self.agents.items()},
            emitted_at_ms=emitted_at_ms,
            sketches=self.components.sketches(),
        )

    def to_state(self) -> bytes:
        return jsonbytes.dumps(
            {
                "store_id": self.store_id,
                "window_start_ms": self.window_start_ms,
                "window_end_ms": self.window_end_ms,
                "partition": self.partition,
                "components": self.components.to_state(),
                "event_ids": list(self.event_ids),
                "currency": self.currency,
                "revision": self.revision,
                "levels": {sku: level.to_list() for sku, level in self.levels.items()},
                "paid": self.paid,
                "agents": self.agents,
                "journal": [[q, raw.decode()] for q, raw in self.journal.values()],
                "segment": self.segments_written,
            }
            | ({"partial": True} if self.partial else {})
        )

    @classmethod
    def from_state(cls, raw: bytes) -> OpenMinute:
        data: dict[str, Any] = orjson.loads(raw)
        return cls(
            store_id=data["store_id"],
            window_start_ms=int(data["window_start_ms"]),
            window_end_ms=int(data["window_end_ms"]),
            partition=int(data["partition"]),
            components=Components.from_state(data["components"]),
            event_ids=set(data["event_ids"]),
            currency=data.get("currency"),
            revision=int(data["revision"]),
            persisted_revision=int(data["revision"]),
            # A restored minute may have changed since its last publication.
            dirty=True,
            levels={sku: SkuLevel.from_list(v) for sku, v in (data.get("levels") or {}).items()},
            paid=[(str(c), int(t)) for c, t in data.get("paid") or []],
            agents={
                str(a): {str(k): int(v) for k, v in counts.items()}
                for a, counts in (data.get("agents") or {}).items()
            },
            journal=_journal(data.get("journal") or []),
            # The record of segment n (records from before segments were whole minutes: 0).
            segments_written=int(data.get("segment") or 0) + 1,
            partial=bool(data.get("partial")),
        )

    @classmethod
    def from_segments(cls, records: Iterable[bytes]) -> RestoredSegments:
        """The open minutes the segment records of a table make up, whatever their order.

        >>> from shoppulse.events import ClickEvent
        >>> T0 = 1_700_000_040_000
        >>> def click(i):
        ...     return ClickEvent(event_id=f"e{i}", store_id="s1", ts=T0 + i, session_id="x",
        ...                       visitor_id=f"v{i}", kind="impression")
        >>> m = OpenMinute("s1", T0, T0 + 60_000, partition=0)
        >>> m.add(click(0))
        'counted'
        >>> first = m.take_segments()
        >>> m.add(click(1)), m.add(click(2))
        ('counted', 'counted')
        >>> rest = m.take_segments()
        >>> [n for n, _ in first + rest]
        [0, 1]
        >>> [restored] = OpenMinute.from_segments(raw for _, raw in rest + first).minutes
        >>> sorted(restored.event_ids), restored.components.values()["visitors"]
        (['e0', 'e1', 'e2'], 3)
        >>> restored.segments_written
        2

        Partial segments (memory changes written ahead of their event's segment) count only
        when a complete segment follows them; others are *orphans*, to delete:

        >>> m.add(click(3))
        'counted'
        >>> def change(q, ident, value=None):
        ...     return {("session", ident): (q, orjson.dumps({"k": "session", "i": ident,
        ...                                                  "v": value, "q": q}))}
        >>> m.add_effects({}, change(1, "a"), None)
        >>> m.add(click(4))
        'counted'
        >>> m.add_effects({}, change(2, "b", "x" * SEGMENT_MAX_BYTES), None)  # does not fit
        >>> written = m.take_segments()  # b's change, then the segment with e3 and e4
        >>> [(n, orjson.loads(raw).get("partial", False)) for n, raw in written]
        [(2, True), (3, False)]
        >>> crashed = written[:-1]  # the write of the events' own segment was lost
        >>> again = OpenMinute.from_segments(raw for _, raw in first + rest + crashed)
        >>> sorted(again.minutes[0].event_ids), again.minutes[0].segments_written
        (['e0', 'e1', 'e2'], 2)
        >>> again.orphans
        [(0, 's1', 1700000040000, 2)]
        """
        segments = sorted(
            (cls.from_state(raw) for raw in records),
            key=lambda m: (m.store_id, m.window_start_ms, m.segments_written),
        )
        by_minute: dict[MinuteKey, list[OpenMinute]] = {}
        for segment in segments:
            by_minute.setdefault(segment.key, []).append(segment)
        minutes: list[OpenMinute] = []
        orphans: list[tuple[int, str, int, int]] = []
        for parts in by_minute.values():
            complete = [i for i, part in enumerate(parts) if not part.partial]
            kept = parts[: complete[-1] + 1] if complete else []
            orphans.extend(
                (p.partition, p.store_id, p.window_start_ms, p.segments_written - 1)
                for p in parts[len(kept) :]
            )
            if kept:
                minute = kept[0]
                for part in kept[1:]:
                    minute.merge(part)
                minute.partial = False
                minutes.append(minute)
        return RestoredSegments(minutes, orphans)


@dataclass(frozen=True, slots=True)
class RestoredSegments:
    """What a table's segment records make up: the open minutes, and the orphans."""

    minutes: list[OpenMinute]
    orphans: list[tuple[int, str, int, int]]
    """``(partition, store_id, window_start_ms, segment)`` of each partial segment that no
    complete segment follows (its event's own segment was never written): restore must
    delete them, so their memory changes never apply."""


def _journal(entries: list[list[Any]]) -> dict[tuple[str, str], Change]:
    out: dict[tuple[str, str], Change] = {}
    for q, text in entries:
        raw = str(text).encode()
        record = orjson.loads(raw)
        out[(str(record["k"]), str(record["i"]))] = (int(q), raw)
    return out


@dataclass(slots=True)
class StoreClock:
    """Per-store event-time progress: the stream time and the closed watermark."""

    store_id: str
    partition: int
    stream_time_ms: int = 0
    closed_until_ms: int = 0
    last_arrival_ms: int = 0

    def to_state(self) -> bytes:
        return jsonbytes.dumps(
            {
                "store_id": self.store_id,
                "partition": self.partition,
                "stream_time_ms": self.stream_time_ms,
                "closed_until_ms": self.closed_until_ms,
            }
        )

    @classmethod
    def from_state(cls, raw: bytes, arrival_ms: int) -> StoreClock:
        data: dict[str, Any] = orjson.loads(raw)
        return cls(
            store_id=data["store_id"],
            partition=int(data["partition"]),
            stream_time_ms=int(data["stream_time_ms"]),
            closed_until_ms=int(data["closed_until_ms"]),
            last_arrival_ms=arrival_ms,
        )


@dataclass(slots=True)
class MinuteBook:
    """All open minutes and store clocks of the partitions a worker owns."""

    window_ms: int
    grace_ms: int
    idle_ms: int
    max_future_ms: int
    minutes: dict[MinuteKey, OpenMinute] = field(default_factory=dict)
    clocks: dict[str, StoreClock] = field(default_factory=dict)
    changed_minutes: set[MinuteKey] = field(default_factory=set)
    changed_clocks: set[str] = field(default_factory=set)
    memories: dict[str, StoreMemory] = field(default_factory=dict)
    closed_segments: dict[MinuteKey, tuple[int, int]] = field(default_factory=dict)
    """Minutes closed since the last persist: (partition, segment records to delete)."""

    @property
    def window(self) -> TumblingWindow:
        return TumblingWindow(self.window_ms)

    def ingest(self, event: ShopEvent, *, partition: int, arrival_ms: int) -> Outcome | Rejection:
        """Count one validated event, or say why it cannot be counted."""
        ts_ms = event.ts_ms
        store_id = event.store_id
        if ts_ms > arrival_ms + self.max_future_ms:
            return Rejection(
                "future_ts",
                f"ts is {(ts_ms - arrival_ms) // 1000} s ahead of the worker's clock; "
                f"the limit is {self.max_future_ms // 1000} s",
            )
        clock = self.clocks.get(store_id)
        if clock is None:
            clock = self.clocks[store_id] = StoreClock(store_id, partition)
        clock.last_arrival_ms = arrival_ms
        start = ts_ms - ts_ms % self.window_ms  # TumblingWindow.bounds_ms, inline
        if start < clock.closed_until_ms:
            return Rejection(
                "late",
                f"minute starting {start} of store {store_id} closed; "
                f"closed until {clock.closed_until_ms}",
            )
        key = (store_id, start)
        minute = self.minutes.get(key)
        if minute is None:
            minute = self.minutes[key] = OpenMinute(
                store_id, start, start + self.window_ms, partition
            )
        outcome = minute.add(event)
        if outcome == "counted":
            memory = self.memories.get(store_id) or self.memory(store_id, partition)
            deltas = memory.observe(event)
            journal = memory.take_journal() if memory.changes else None  # (a swap, no copy)
            credited = agent_components(event, deltas) if type(event) is ChatEvent else None
            if deltas or journal or credited is not None:
                minute.add_effects(deltas, journal or {}, credited)
            self.changed_minutes.add(key)
            if ts_ms > clock.stream_time_ms:
                clock.stream_time_ms = ts_ms
                self.changed_clocks.add(store_id)
        return outcome

    def due(self, now_ms: int, read_until_ms: Mapping[int, int] | None = None) -> list[OpenMinute]:
        """Open minutes that should close now, oldest first.

        ``read_until_ms`` bounds, per source partition, the event time up to which every
        input topic has been read (see ``shoppulse.read_progress``); a minute whose close time
        lies beyond that bound waits, because unread records may still belong to it.
        """
        out = []
        for minute in self.minutes.values():
            close_at_ms = minute.window_end_ms + self.grace_ms
            if read_until_ms is not None:
                bound = read_until_ms.get(minute.partition)
                if bound is not None and bound < close_at_ms:
                    continue
            if self._closes(self.clocks[minute.store_id], close_at_ms, now_ms):
                out.append(minute)
        out.sort(key=lambda m: (m.window_start_ms, m.store_id))
        return out

    def _closes(self, clock: StoreClock, close_at_ms: int, now_ms: int) -> bool:
        """Whether a minute of this store that closes at ``close_at_ms`` (end + grace) may
        close now (ADR 17).

        By stream time, when the store's own events have passed it. On silence, only once the
        minute has really ended plus grace by the wall clock, and then when the store's clock
        (its stream time run on at wall-clock pace since its last event) has passed it too,
        or when the store has been silent for ``idle_ms`` (a backfill that stopped).
        """
        if clock.stream_time_ms >= close_at_ms:
            return True
        if now_ms < close_at_ms:
            return False
        silent_ms = now_ms - clock.last_arrival_ms
        return silent_ms >= self.idle_ms or clock.stream_time_ms + silent_ms >= close_at_ms

    def close(self, minute: OpenMinute, *, emitted_at_ms: int) -> KpiSnapshot:
        """Remove a minute, advance its store's watermark, and return the final snapshot."""
        del self.minutes[minute.key]
        self.changed_minutes.discard(minute.key)
        self.closed_segments[minute.key] = (minute.partition, minute.segments_written)
        clock = self.clocks[minute.store_id]
        if minute.window_end_ms > clock.closed_until_ms:
            clock.closed_until_ms = minute.window_end_ms
            self.changed_clocks.add(minute.store_id)
        memory = self.memory(minute.store_id, minute.partition)
        memory.merge_changes(minute.journal)  # to the memory table, before the tombstone
        memory.apply_levels(minute.levels)
        at_close = memory.gauges()
        # Every input has been read past this minute (closing waits for lagging ones), so the
        # chats before its orders are known.
        at_close["chat_assisted_orders"] = memory.chat_assisted(minute.paid)
        memory.expire(clock.stream_time_ms)
        memory.forget_chats_before(clock.closed_until_ms - CHAT_ASSIST_WINDOW_MS)
        return minute.snapshot(final=True, emitted_at_ms=emitted_at_ms, at_close=at_close)

    def provisional(self, minute: OpenMinute, *, emitted_at_ms: int) -> KpiSnapshot:
        """A provisional snapshot of an open minute, with what the memory knows so far."""
        memory = self.memory(minute.store_id, minute.partition)
        at_close = memory.gauges(minute.levels)
        at_close["chat_assisted_orders"] = memory.chat_assisted(minute.paid)
        return minute.snapshot(final=False, emitted_at_ms=emitted_at_ms, at_close=at_close)

    def memory(self, store_id: str, partition: int) -> StoreMemory:
        mem = self.memories.get(store_id)
        if mem is None:
            mem = self.memories[store_id] = StoreMemory(store_id, partition)
        return mem

    def dirty(self) -> Iterator[OpenMinute]:
        """Open minutes changed since their last publication."""
        return (m for m in self.minutes.values() if m.dirty)

    def restore_minute(self, minute: OpenMinute) -> None:
        self.minutes[minute.key] = minute

    def restore_clock(self, clock: StoreClock) -> None:
        self.clocks[clock.store_id] = clock

    def clear(self) -> None:
        self.minutes.clear()
        self.clocks.clear()
        self.memories.clear()
        self.changed_minutes.clear()
        self.changed_clocks.clear()
        self.closed_segments.clear()
