"""How far each source partition has been read, in offsets and in event time.

The four source topics are read at different paces: a replay or a restart
catches up on one topic while another is still behind, and a producer's
batching can put one topic's records in the log before another's earlier
ones. A store-minute may close only when every input that can still hold its
events has been read past its close time. For each partition number, the
topic-partitions that still matter bound the event time up to which that
partition's minutes are complete:

- a *lagging* one (unread records below its high watermark; before the consumer has
  fetched from it, the log end offset found when the generation started stands in for
  the high watermark, and an unknown one counts as lagging for ``idle_ms``);
- an *active* one (it delivered a valid event within the last ``idle_ms``).

A topic-partition that is caught up and quiet bounds nothing, so an idle
input never holds the others back for longer than ``idle_ms``.

>>> p = ReadProgress(starts={("a", 0): 0, ("b", 0): 0}, started_ms=0, idle_ms=10_000)
>>> p.record("a", 0, offset=9, ts_ms=5_000, arrival_ms=1_000)
>>> p.read_until_ms({("a", 0): 10, ("b", 0): 4}, now_ms=2_000)  # b lags, no time read yet
{0: 0}
>>> p.record("b", 0, offset=3, ts_ms=7_000, arrival_ms=2_000)
>>> p.read_until_ms({("a", 0): 10, ("b", 0): 4}, now_ms=3_000)  # both active
{0: 5000}
>>> p.read_until_ms({("a", 0): 10, ("b", 0): 4}, now_ms=20_000)  # both caught up and quiet
{}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

TopicPartition = tuple[str, int]
Admission = Literal["next", "seen", "skip", "drop"]

#: Offsets a partition may jump without records having been skipped (transaction markers).
MAX_GAP: Final = 2
#: While a rewind is awaited, how long later records are dropped before seeking again.
RESEEK_MS: Final = 500
#: How long a partition may sit below its log end without a record before it is sought back.
STALL_MS: Final = 2_000


@dataclass(slots=True)
class ReadProgress:
    """Next offset, newest event time and last valid arrival, per source topic-partition."""

    starts: Mapping[TopicPartition, int]
    started_ms: int
    idle_ms: int
    initial_highs: Mapping[TopicPartition, int] = field(default_factory=dict)
    """Log end offsets when the generation started (until a fetch tells better)."""
    next_offset: dict[TopicPartition, int] = field(init=False)
    event_time_ms: dict[TopicPartition, int] = field(default_factory=dict, init=False)
    arrival_ms: dict[TopicPartition, int] = field(default_factory=dict, init=False)
    durable: dict[TopicPartition, int] = field(init=False)
    """Per partition, the offset below which every record's effects are persisted."""
    rewinding: dict[TopicPartition, tuple[int, int]] = field(default_factory=dict, init=False)
    """Partitions sought back over a skip: (the offset awaited, when the last seek was)."""
    gap_since: dict[TopicPartition, int] = field(default_factory=dict, init=False)
    """Partitions delivered from just past the awaited offset: since when."""
    moved_ms: dict[TopicPartition, int] = field(default_factory=dict, init=False)
    """When each partition last delivered a record to process."""

    def __post_init__(self) -> None:
        self.next_offset = dict(self.starts)
        self.durable = dict(self.starts)

    def admit(self, tp: TopicPartition, offset: int, now_ms: int) -> Admission:
        """Whether a delivered record continues its partition where processing left off.

        ``"next"``: process it. ``"seen"``: a re-delivery of a processed record; drop it.
        ``"drop"`` too for a partition this generation does not own (a record delivered after
        its partition was revoked: its new owner counts it).
        ``"skip"``: records before it were never delivered (Faust can hand over records
        fetched before a seek to the committed offset, then drop the lower ones as read,
        faust-streaming #221); drop it and seek the consumer back to ``next_offset``.
        ``"drop"``: a rewind is under way; records fetched before it are dropped, and if
        they keep coming for ``RESEEK_MS``, the next one is a ``"skip"`` again (seek again).
        A gap of up to ``MAX_GAP`` offsets (transaction markers) is accepted only when
        seeking to the expected offset keeps delivering from past it for ``RESEEK_MS``.

        >>> p = ReadProgress(starts={("a", 0): 10}, started_ms=0, idle_ms=1_000)
        >>> p.admit(("a", 0), 10, now_ms=0), p.admit(("a", 0), 9, now_ms=0)
        ('next', 'seen')
        >>> p.admit(("a", 0), 50, now_ms=0), p.admit(("a", 0), 51, now_ms=5)
        ('skip', 'drop')
        >>> p.admit(("a", 0), 52, now_ms=RESEEK_MS)  # still the old position: seek again
        'skip'
        >>> p.admit(("a", 0), 10, now_ms=RESEEK_MS + 1)  # the rewind delivered the record
        'next'
        >>> p.admit(("b", 0), 0, now_ms=0)  # not a partition of this generation
        'drop'
        >>> p.admit(("a", 0), 12, now_ms=2_000)  # one record skipped: seek back for it
        'skip'
        >>> p.admit(("a", 0), 12, now_ms=2_000 + RESEEK_MS)  # still past it: markers
        'next'
        """
        expected = self.next_offset.get(tp)
        if expected is None:
            return "drop"
        if offset < expected:
            return "seen"
        if offset == expected:
            self.rewinding.pop(tp, None)
            self.gap_since.pop(tp, None)
            return "next"
        if offset - expected <= MAX_GAP:
            # A real gap (transaction markers) only if a seek to the expected offset still
            # delivers from past it after one more seek; a record skipped once is not one.
            first = self.gap_since.setdefault(tp, now_ms)
            if now_ms - first >= RESEEK_MS and tp in self.rewinding:
                del self.rewinding[tp], self.gap_since[tp]
                return "next"
        pending = self.rewinding.get(tp)
        if pending is not None and now_ms - pending[1] < RESEEK_MS:
            return "drop"
        self.rewinding[tp] = (expected, now_ms)
        return "skip"

    def due_rewinds(
        self, now_ms: int, high_watermarks: Mapping[TopicPartition, int | None] | None = None
    ) -> list[tuple[TopicPartition, int]]:
        """Partitions to seek back now, with the offset to seek to:

        - rewinds still waiting for their record ``RESEEK_MS`` after their last seek (the
          consumer may have dropped the re-read records as read when a fetch from before the
          seek came in after it, and then sit idle);
        - *stalled* partitions: below their log end (fetched or polled) with no record for
          ``STALL_MS``. A batch dropped during a rebalance or recovery leaves the consumer
          past records never processed; when no later record arrives to show the gap, only
          the log end does.

        >>> p = ReadProgress(starts={("a", 0): 10}, started_ms=0, idle_ms=1_000)
        >>> p.admit(("a", 0), 50, now_ms=0)
        'skip'
        >>> p.due_rewinds(now_ms=RESEEK_MS - 1), p.due_rewinds(now_ms=RESEEK_MS)
        ([], [(('a', 0), 10)])
        >>> p.due_rewinds(now_ms=RESEEK_MS + 1)  # just sought again
        []
        >>> q = ReadProgress(starts={("a", 0): 10}, started_ms=0, idle_ms=1_000)
        >>> q.admit(("a", 0), 10, now_ms=100); q.record("a", 0, offset=10, ts_ms=1, arrival_ms=100)
        'next'
        >>> q.due_rewinds(now_ms=5_000, high_watermarks={("a", 0): 11})  # read to its end
        []
        >>> q.due_rewinds(now_ms=100 + STALL_MS - 1, high_watermarks={("a", 0): 20})
        []
        >>> q.due_rewinds(now_ms=100 + STALL_MS, high_watermarks={("a", 0): 20})  # stalled
        [(('a', 0), 11)]
        """
        due = [
            (tp, awaited)
            for tp, (awaited, sought_ms) in self.rewinding.items()
            if now_ms - sought_ms >= RESEEK_MS
        ]
        highs = high_watermarks or {}
        for tp, next_offset in self.next_offset.items():
            if tp in self.rewinding:
                continue
            end = max(highs.get(tp) or 0, self.initial_highs.get(tp, 0))
            if next_offset < end and now_ms - self.moved_ms.get(tp, self.started_ms) >= STALL_MS:
                due.append((tp, next_offset))
        for tp, awaited in due:
            self.rewinding[tp] = (awaited, now_ms)
        return due

    def resume_at(self, tp: TopicPartition, offset: int) -> None:
        """The records before ``offset`` are gone (deleted by retention): read on from it."""
        if offset > self.next_offset.get(tp, 0):
            self.next_offset[tp] = offset
            if tp in self.rewinding:
                self.rewinding[tp] = (offset, self.rewinding[tp][1])

    def checkpoint(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        """Every record processed so far (or below ``offsets``, the read offsets of an earlier
        moment) has its effects persisted.

        >>> p = ReadProgress(starts={("a", 0): 10}, started_ms=0, idle_ms=1)
        >>> p.record("a", 0, offset=10, ts_ms=1, arrival_ms=0)
        >>> covered = dict(p.next_offset)
        >>> p.record("a", 0, offset=11, ts_ms=2, arrival_ms=0)
        >>> p.checkpoint(covered); p.durable
        {('a', 0): 11}
        """
        self.durable = dict(self.next_offset if offsets is None else offsets)

    def bound_commits(self, offsets: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        """The offsets of ``offsets`` that may be committed: none past a partition's
        persisted records (Faust acknowledges records it skipped or that were dropped here),
        and none for a partition this generation does not track.

        >>> p = ReadProgress(starts={("a", 0): 10, ("b", 0): 0}, started_ms=0, idle_ms=1)
        >>> p.record("a", 0, offset=10, ts_ms=1, arrival_ms=0)
        >>> p.bound_commits({("a", 0): 40, ("b", 0): 0, ("c", 0): 5})  # not persisted yet
        {('a', 0): 10, ('b', 0): 0}
        >>> p.checkpoint()
        >>> p.bound_commits({("a", 0): 40, ("a", 1): 3})
        {('a', 0): 11}
        """
        durable = self.durable
        return {tp: min(o, durable[tp]) for tp, o in offsets.items() if tp in durable}

    def record(
        self, topic: str, partition: int, *, offset: int, ts_ms: int | None, arrival_ms: int
    ) -> None:
        """A processed record; ``ts_ms`` is None for a rejected one (it shows no event time)."""
        tp = (topic, partition)
        self.next_offset[tp] = offset + 1
        self.moved_ms[tp] = arrival_ms
        if ts_ms is None:
            return
        self.arrival_ms[tp] = arrival_ms
        if ts_ms > self.event_time_ms.get(tp, 0):
            self.event_time_ms[tp] = ts_ms

    def poll(self, ends: Mapping[TopicPartition, int]) -> None:
        """Log end offsets asked of the broker: they stand in for high watermarks the consumer
        has not fetched lately (a partition behind them is lagging)."""
        highs = dict(self.initial_highs)
        for tp, end in ends.items():
            highs[tp] = max(end, highs.get(tp, 0))
        self.initial_highs = highs

    def read_until_ms(
        self, high_watermarks: Mapping[TopicPartition, int | None], now_ms: int
    ) -> dict[int, int]:
        """Per partition number, the event-time bound set by its lagging or active inputs."""
        bounds: dict[int, int] = {}
        starting = now_ms - self.started_ms < self.idle_ms
        for tp, next_offset in self.next_offset.items():
            fetched, polled = high_watermarks.get(tp), self.initial_highs.get(tp)
            if fetched is None and polled is None:
                lagging = starting  # nothing known yet: unknown counts as lagging for idle_ms
            else:
                lagging = next_offset < max(fetched or 0, polled or 0) or (
                    starting and fetched is None
                )
            arrived = self.arrival_ms.get(tp)
            active = arrived is not None and now_ms - arrived < self.idle_ms
            if not (lagging or active):
                continue
            seen = self.event_time_ms.get(tp, 0)
            partition = tp[1]
            bounds[partition] = min(bounds.get(partition, seen), seen)
        return bounds
