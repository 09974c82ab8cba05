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

TopicPartition = tuple[str, int]


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

    def __post_init__(self) -> None:
        self.next_offset = dict(self.starts)

    def record(
        self, topic: str, partition: int, *, offset: int, ts_ms: int | None, arrival_ms: int
    ) -> None:
        """A processed record; ``ts_ms`` is None for a rejected one (it shows no event time)."""
        tp = (topic, partition)
        self.next_offset[tp] = offset + 1
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
