"""What the API remembers of every store it has read a snapshot of, minutes held or not.

The view (:mod:`api.view`) keeps a store's minutes for a bounded history only: a store
whose snapshots are all older than that (a shop's order history loaded through ingest)
has no minutes held, and an idle store's minutes are evicted. A :class:`StoreMark` is
what is left: the newest minute read for the store, whether it was final, its currency,
and ``closed_until_ms``, the end of the newest *final* minute read. The worker closes a
store's minutes in event-time order, so an event before ``closed_until_ms`` is late: the
worker dead-letters it (``shoppulse.minute_book``). The worker may have closed later
minutes the API has not read yet, so the mark is a lower bound of the worker's watermark.

A mark is one small record per store, kept for the life of the API process (stores are
few; snapshots of unknown stores are not invented, they come from ``shoppulse.kpis``).

>>> from shoppulse.snapshot import KpiSnapshot
>>> def snap(start, final):
...     return KpiSnapshot(store_id="s1", window_start_ms=start, window_end_ms=start + 60_000,
...         final=final, revision=1, currency="EUR", components={}, emitted_at_ms=0)
>>> mark = observe(None, snap(0, True))
>>> mark = observe(mark, snap(60_000, False))
>>> mark.latest_start_ms, mark.latest_final, mark.closed_until_ms
(60000, False, 60000)
>>> observe(mark, snap(60_000, False)) is mark  # nothing new: the same mark
True
"""

from __future__ import annotations

from dataclasses import dataclass

from shoppulse.snapshot import KpiSnapshot
from shoppulse.timeutil import format_ts_ms


@dataclass(frozen=True, slots=True)
class StoreMark:
    """The newest minute read for a store and the end of its newest final minute."""

    store_id: str
    latest_start_ms: int
    """Start of the newest minute read (held or not)."""
    latest_final: bool
    """Whether a final snapshot of that minute was read."""
    closed_until_ms: int | None
    """End of the newest final minute read: events before it are late (None: none read)."""
    currency: str | None


def observe(mark: StoreMark | None, snap: KpiSnapshot) -> StoreMark:
    """``mark`` updated with one snapshot read from ``shoppulse.kpis`` (``mark`` itself when
    the snapshot tells nothing new)."""
    if mark is None:
        return StoreMark(
            store_id=snap.store_id,
            latest_start_ms=snap.window_start_ms,
            latest_final=snap.final,
            closed_until_ms=snap.window_end_ms if snap.final else None,
            currency=snap.currency or None,
        )
    latest, latest_final = mark.latest_start_ms, mark.latest_final
    if snap.window_start_ms > latest:
        latest, latest_final = snap.window_start_ms, snap.final
    elif snap.window_start_ms == latest:
        latest_final = latest_final or snap.final
    closed = mark.closed_until_ms
    if snap.final and (closed is None or snap.window_end_ms > closed):
        closed = snap.window_end_ms
    currency = snap.currency or mark.currency
    if (latest, latest_final, closed, currency) == (
        mark.latest_start_ms,
        mark.latest_final,
        mark.closed_until_ms,
        mark.currency,
    ):
        return mark
    return StoreMark(mark.store_id, latest, latest_final, closed, currency)


def absence_note(mark: StoreMark, cutoff_ms: int) -> str:
    """Why a read of a known store has no minutes: where its newest minute is.

    >>> m = StoreMark("s1", latest_start_ms=0, latest_final=True, closed_until_ms=60_000,
    ...     currency="EUR")
    >>> absence_note(m, 120_000)[:80]
    "no minutes of store 's1' here: its newest minute, 1970-01-01T00:00:00.000Z, is b"
    """
    newest = format_ts_ms(mark.latest_start_ms)
    if mark.latest_start_ms < cutoff_ms:
        return (
            f"no minutes of store {mark.store_id!r} here: its newest minute, {newest}, is before"
            f" the minutes this API keeps (from {format_ts_ms(cutoff_ms)}); the worker counted"
            " its events, but this API does not serve them (see docs/ingest.md)"
        )
    return f"no minutes of store {mark.store_id!r} here; its newest minute starts {newest}"


__all__ = ["StoreMark", "absence_note", "observe"]
