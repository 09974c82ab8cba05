"""The worker's side of ``shoppulse.kpis.final`` (ADR 24): which horizons to write, when.

:class:`HorizonTracker` remembers, per open minute, the earliest instant a snapshot of it can
have been published, and says once a beat which source partitions' horizons
(:class:`shoppulse.final_log.Horizon`) moved on by a minute and should be written.

When a snapshot of an open minute can first have been published:

* a minute already open at the first beat of a consumer generation (restored from the
  tables, or opened by a batch before that beat) may have been published by this partition's
  previous owner, as early as its first event arrived, which the worker accepts up to
  ``max_future_ms`` before its time: so ``window_start - max_future_ms``;
* a minute that appears later was not open at the previous beat, and provisional snapshots
  are published by beats only: so not before that beat.

Within a generation a horizon only moves forward, so the latest one written stays a lower
bound until the next generation, whose first beat writes every owned partition's again.

>>> t = HorizonTracker(partitions=2, max_future_ms=300_000)
>>> [h.open_from_ms for h in t.update(1, {0, 1}, [(("s1", 600_000), 0)], now_ms=700_000)]
[240000, 660000]
>>> t.update(1, {0, 1}, [(("s1", 600_000), 0), (("s2", 660_000), 1)], now_ms=701_000)
[]
>>> [(h.source_partition, h.open_from_ms) for h in t.update(1, {0, 1}, [], now_ms=761_000)]
[(0, 720000), (1, 720000)]
"""

from __future__ import annotations

from collections.abc import Iterable

from shoppulse.final_log import CLOCK_MARGIN_MS, Horizon, open_from_ms

OpenMinuteRef = tuple[tuple[str, int], int]
"""An open minute: its key (store, window start) and its source partition."""


class HorizonTracker:
    """The horizons a worker writes; see the module docstring."""

    def __init__(
        self, partitions: int, max_future_ms: int, margin_ms: int = CLOCK_MARGIN_MS
    ) -> None:
        self.partitions = partitions
        self.max_future_ms = max_future_ms
        self.margin_ms = margin_ms
        self._generation: int | None = None
        self._first_seen: dict[tuple[str, int], tuple[int, int]] = {}
        self._written: dict[int, int] = {}
        self._last_beat_ms: int | None = None

    def update(
        self,
        generation: int,
        owned: Iterable[int],
        open_minutes: Iterable[OpenMinuteRef],
        now_ms: int,
    ) -> list[Horizon]:
        """The horizons to write after this beat (``open_minutes``: the book's, after the
        beat closed and published what was due)."""
        if generation != self._generation:
            self._generation = generation
            self._first_seen.clear()
            self._written.clear()
            self._last_beat_ms = None
        seen: dict[tuple[str, int], tuple[int, int]] = {}
        for key, partition in open_minutes:
            known = self._first_seen.get(key)
            if known is None:
                first = (
                    key[1] - self.max_future_ms
                    if self._last_beat_ms is None
                    else self._last_beat_ms
                )
                known = (partition, first)
            seen[key] = known
        self._first_seen = seen
        self._last_beat_ms = now_ms
        by_partition: dict[int, list[int]] = {}
        for partition, first in seen.values():
            by_partition.setdefault(partition, []).append(first)
        out = []
        for partition in sorted(set(owned)):
            bound = open_from_ms(by_partition.get(partition, ()), now_ms, self.margin_ms)
            if self._written.get(partition) != bound:
                self._written[partition] = bound
                out.append(Horizon(partition, self.partitions, bound, now_ms))
        return out


__all__ = ["HorizonTracker", "OpenMinuteRef"]
