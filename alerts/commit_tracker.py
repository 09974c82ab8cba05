"""Which offsets may be committed when records finish out of order (at-least-once).

A record is *in flight* from when it is read until every delivery of it has finished
(delivered, given up and recorded, or suppressed). The offset to commit for a partition is
the lowest offset still in flight, or one past the last record read when none is: a
restart then re-reads every record whose deliveries had not all finished.

>>> t = OffsetTracker()
>>> for offset in (5, 6, 7):
...     t.add(0, offset)
>>> t.done(0, 6); t.committable()
{0: 5}
>>> t.mark_committed({0: 5}); t.done(0, 5); t.committable()
{0: 7}
>>> t.mark_committed({0: 7}); t.done(0, 7); t.committable()
{0: 8}
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)


class OffsetTracker(Generic[P]):
    """Offsets in flight per partition (any hashable partition id)."""

    def __init__(self) -> None:
        self._in_flight: dict[P, set[int]] = {}
        self._next: dict[P, int] = {}
        self._committed: dict[P, int] = {}

    def add(self, partition: P, offset: int) -> None:
        """A record was read; offsets of a partition are added in increasing order."""
        self._in_flight.setdefault(partition, set()).add(offset)
        self._next[partition] = max(self._next.get(partition, 0), offset + 1)

    def done(self, partition: P, offset: int) -> None:
        """Every delivery of the record has finished (unknown offsets are ignored)."""
        self._in_flight.get(partition, set()).discard(offset)

    def in_flight(self) -> int:
        return sum(len(offsets) for offsets in self._in_flight.values())

    def committable(self) -> dict[P, int]:
        """Partitions whose commit offset moved past the last one committed."""
        out: dict[P, int] = {}
        for partition, after_last in self._next.items():
            pending = self._in_flight.get(partition)
            offset = min(pending) if pending else after_last
            if offset > self._committed.get(partition, -1):
                out[partition] = offset
        return out

    def mark_committed(self, offsets: Mapping[P, int]) -> None:
        for partition, offset in offsets.items():
            self._committed[partition] = max(self._committed.get(partition, -1), offset)

    def forget(self, partitions: Iterable[P]) -> None:
        """Partitions this process no longer owns (after a rebalance)."""
        for partition in partitions:
            self._in_flight.pop(partition, None)
            self._next.pop(partition, None)
            self._committed.pop(partition, None)
