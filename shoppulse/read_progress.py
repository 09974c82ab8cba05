"""How far each source partition has been read, in offsets and in event time.

The four source topics are read at different paces (a replay or a restart
catches up on one topic while another is still behind). A store-minute may
close only when every input that can still hold its events has been read past
its close time: for each partition number, every *lagging* topic-partition
(unread records below its high watermark) bounds the event time up to which
that partition's minutes are complete. Caught-up topic-partitions bound
nothing: whatever they receive next is new data.

>>> p = ReadProgress(starts={("a", 0): 0, ("b", 0): 0})
>>> p.record("a", 0, offset=9, ts_ms=5_000)
>>> p.read_until_ms({("a", 0): 10, ("b", 0): 4})  # b lags and has shown no event time
{0: 0}
>>> p.record("b", 0, offset=3, ts_ms=7_000)
>>> p.read_until_ms({("a", 0): 12, ("b", 0): 4})  # a lags now; b is caught up
{0: 5000}
>>> p.read_until_ms({("a", 0): 10, ("b", 0): 4})  # both caught up: no bound
{}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

TopicPartition = tuple[str, int]


@dataclass(slots=True)
class ReadProgress:
    """Next offset to process and newest event time seen, per source topic-partition."""

    starts: Mapping[TopicPartition, int]
    next_offset: dict[TopicPartition, int] = field(init=False)
    event_time_ms: dict[TopicPartition, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.next_offset = dict(self.starts)

    def record(self, topic: str, partition: int, *, offset: int, ts_ms: int | None) -> None:
        tp = (topic, partition)
        self.next_offset[tp] = offset + 1
        if ts_ms is not None and ts_ms > self.event_time_ms.get(tp, 0):
            self.event_time_ms[tp] = ts_ms

    def read_until_ms(self, high_watermarks: Mapping[TopicPartition, int | None]) -> dict[int, int]:
        """Per partition number, the event-time bound set by lagging topic-partitions.

        A topic-partition whose high watermark is unknown counts as lagging.
        """
        bounds: dict[int, int] = {}
        for tp, next_offset in self.next_offset.items():
            high = high_watermarks.get(tp)
            if high is not None and next_offset >= high:
                continue
            seen = self.event_time_ms.get(tp, 0)
            partition = tp[1]
            bounds[partition] = min(bounds.get(partition, seen), seen)
        return bounds
