"""The records of ``shoppulse.kpis.final``: closed minutes apart from provisional updates (ADR 24).

The worker writes every final snapshot to ``shoppulse.kpis`` as before and also to
``shoppulse.kpis.final``, keyed by minute and store (:func:`final_key`; the topic is
compacted, so a final replayed after a crash leaves one record per minute), to the partition
of the store's *source* partition. Into the same partition it writes, once the value moved on
by a minute, a :class:`Horizon`: an instant before which no snapshot of a minute still open
on that source partition was published. A restarted API reads the finals from its retention
cutoff, then ``shoppulse.kpis`` only from the earliest horizon (:func:`tail_start_ms`).

Why that is enough (no minute lost): a minute whose final the API has not read at its start
was either open when its partition's latest horizon was written (every snapshot of it is at
or after the horizon), opened later (its snapshots are later still), or closed before: then
its final went to the same partition before the horizon record, so the API read it.

>>> h = Horizon(source_partition=2, partitions=6, open_from_ms=120_000, written_at_ms=125_000)
>>> decode_final_record(h.to_json()) == h
True
>>> final_key("s1", 60_000)
b'60000:s1'
>>> tail_start_ms([h, Horizon(0, 6, 60_000, 1)], partitions=6) is None  # 1, 3, 4, 5 missing
True
>>> tail_start_ms([Horizon(p, 2, 60_000 * (p + 1), 0) for p in range(2)], partitions=2)
60000
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import orjson

from shoppulse.snapshot import KpiSnapshot

MINUTE_MS: Final = 60_000
CLOCK_MARGIN_MS: Final = 5_000
"""Subtracted from every horizon: the wall clock the worker reads can step back a little
(NTP) between a snapshot's record timestamp and a later horizon."""


def final_key(store_id: str, window_start_ms: int) -> bytes:
    """The compaction key of a final snapshot: its minute, then its store (a number never
    holds ``:``, so the key is unambiguous; horizon keys never start with a digit)."""
    return f"{window_start_ms}:{store_id}".encode()


def horizon_key(source_partition: int) -> bytes:
    """The compaction key of a source partition's horizon."""
    return f"horizon:{source_partition}".encode()


@dataclass(frozen=True, slots=True)
class Horizon:
    """Of one source partition: no snapshot of a minute open when this was written was
    published before ``open_from_ms``; ``partitions`` is how many source partitions the
    worker has (the API needs a horizon of every one)."""

    source_partition: int
    partitions: int
    open_from_ms: int
    written_at_ms: int

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "horizon": {
                    "source_partition": self.source_partition,
                    "partitions": self.partitions,
                    "open_from_ms": self.open_from_ms,
                    "written_at_ms": self.written_at_ms,
                }
            }
        )


def decode_final_record(raw: bytes) -> Horizon | KpiSnapshot:
    """A record value of ``shoppulse.kpis.final``: a horizon or a (final) snapshot.

    Raises ``KeyError``, ``ValueError`` or ``TypeError`` (as :meth:`KpiSnapshot.from_json`)
    when it is neither.
    """
    data: Any = orjson.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    horizon = data.get("horizon")
    if horizon is None:
        return KpiSnapshot.from_dict(data)
    return Horizon(
        source_partition=int(horizon["source_partition"]),
        partitions=int(horizon["partitions"]),
        open_from_ms=int(horizon["open_from_ms"]),
        written_at_ms=int(horizon["written_at_ms"]),
    )


def open_from_ms(
    first_seen_ms: Iterable[int], now_ms: int, margin_ms: int = CLOCK_MARGIN_MS
) -> int:
    """A source partition's horizon: the earliest instant a snapshot of one of its open
    minutes may have been published (``first_seen_ms``, one per open minute; ``now_ms`` when
    none is open), less ``margin_ms``, floored to the minute (so it moves once a minute).

    >>> open_from_ms([190_000, 130_500], now_ms=200_000)
    120000
    >>> open_from_ms([], now_ms=200_000)
    180000
    """
    earliest = min(first_seen_ms, default=now_ms)
    bound = min(earliest, now_ms) - margin_ms
    return bound - bound % MINUTE_MS


def tail_start_ms(horizons: Iterable[Horizon], partitions: int) -> int | None:
    """Where a restarted API reads ``shoppulse.kpis`` from: the earliest of the latest
    horizons of every source partition, or None (read it all) when a partition has none or
    the worker counts partitions differently (``partitions``: the topic's, as the API sees it).
    """
    latest: dict[int, Horizon] = {}
    for horizon in horizons:
        if horizon.partitions != partitions:
            return None
        latest[horizon.source_partition] = horizon
    if set(latest) != set(range(partitions)):
        return None
    return min(h.open_from_ms for h in latest.values())


__all__ = [
    "Horizon",
    "decode_final_record",
    "final_key",
    "horizon_key",
    "open_from_ms",
    "tail_start_ms",
]
