"""What becomes of each ingested event, as far as the API can know it: pure, no IO.

The worker counts an event into its store's event-time minute unless that minute is
already closed (it dead-letters the event as ``late``); the API serves a minute only if
it starts at or after the view's retention cutoff (:meth:`api.view.KpiView.cutoff_ms`).
The API knows each store's closed minutes from the final snapshots it has read
(:class:`~api.store_marks.StoreMark`), so before producing a batch it sorts its events:

- ``late`` (refused, like an invalid event): the event is before the store's
  ``closed_until_ms``, the end of the newest final minute read. The worker would
  dead-letter it. If the same event was accepted before (a retry), it was counted then.
- ``likely_late`` (a warning; produced): not before ``closed_until_ms``, but the store has
  a minute read that starts at or after the event minute's end plus grace, so the worker's
  stream time has passed the minute's close: it has probably closed it (or closes it at its
  next beat) and will dead-letter the event.
- ``before_history`` (a warning; produced): the event's minute starts before the cutoff.
  The worker counts it and publishes its minute, but the API drops that snapshot: no
  REST, websocket or API-computed KPI gauge will show it.

The API's marks can lag the worker (it reads ``shoppulse.kpis`` after the worker publishes,
and only from its cutoff on), so an event that passes can still be late at the worker: that
shows only there, as ``shoppulse_dead_letters_total{reason="late"}`` and on
``shop.deadletter``. ``docs/ingest.md`` says what the sender sees for each outcome.

>>> from api.ingest import IngestRecord
>>> from api.store_marks import StoreMark
>>> mark = StoreMark("s1", latest_start_ms=600_000, latest_final=False,
...     closed_until_ms=120_000, currency="EUR")
>>> def event(ts):
...     return IngestRecord("shop.orders", b"s1", b"{}", ts)
>>> verdict = check_batch([(0, event(60_000)), (1, event(130_000)), (2, event(590_000))],
...     {"s1": mark}.get, cutoff_ms=100_000, window_ms=60_000, grace_ms=5_000)
>>> [(e.index, e.reason) for e in verdict.rejected]
[(0, 'late')]
>>> [(e.index, e.reason) for e in verdict.warnings]
[(1, 'likely_late')]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from api.ingest import BadEnvelope, IngestRecord
from api.store_marks import StoreMark
from shoppulse.timeutil import format_ts_ms
from shoppulse.windows import TumblingWindow

WARNING_REASONS: Final = ("before_history", "likely_late")

LAG_NOTE: Final = (
    "accepted events can still be dead-lettered as late by the worker: this API checks them"
    " against the closed minutes it has read from shoppulse.kpis, which can lag the worker's;"
    ' those show as shoppulse_dead_letters_total{reason="late"} on the worker\'s /metrics and'
    " as records with reason late on shop.deadletter (see docs/ingest.md)"
)
CATCHING_UP_NOTE: Final = (
    "this API has not read shoppulse.kpis to its end yet, so minutes the worker closed"
    " recently were not checked: late events among these may be dead-lettered by the worker"
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Events to refuse (``late``) and accepted events' warnings, by index in the batch."""

    rejected: tuple[BadEnvelope, ...]
    warnings: tuple[BadEnvelope, ...]


def check_batch(
    records: Iterable[tuple[int, IngestRecord]],
    marks: Callable[[str], StoreMark | None],
    *,
    cutoff_ms: int,
    window_ms: int,
    grace_ms: int,
) -> Verdict:
    """Sort a batch's valid events (index, record); see the module docstring. ``marks`` is
    :meth:`api.view.KpiView.mark`; ``cutoff_ms`` the view's retention cutoff now."""
    window = TumblingWindow(window_ms)
    rejected: list[BadEnvelope] = []
    warnings: list[BadEnvelope] = []
    for index, record in records:
        start, end = window.bounds_ms(record.ts_ms)
        mark = marks(record.store_id)
        closed = mark.closed_until_ms if mark is not None else None
        if closed is not None and record.ts_ms < closed:
            rejected.append(BadEnvelope(index, "late", _late(record, start, closed)))
            continue
        if mark is not None and mark.latest_start_ms >= end + grace_ms:
            warnings.append(BadEnvelope(index, "likely_late", _likely_late(start, mark)))
        if start < cutoff_ms:
            warnings.append(BadEnvelope(index, "before_history", _before(start, cutoff_ms)))
    return Verdict(tuple(rejected), tuple(warnings))


def _late(record: IngestRecord, start: int, closed: int) -> str:
    return (
        f"the minute {format_ts_ms(start)} of store {record.store_id!r} is closed: the worker"
        f" has published final minutes up to {format_ts_ms(closed)} and would dead-letter this"
        " event as late, so nothing was produced; events of a store must arrive in time order"
        " (within SHOPPULSE_GRACE_S). If this event was accepted before (a retry), it was"
        " counted then"
    )


def _likely_late(start: int, mark: StoreMark) -> str:
    return (
        f"the minute {format_ts_ms(start)} of store {mark.store_id!r} is not closed yet as"
        f" far as this API has read, but the store has events in the minute"
        f" {format_ts_ms(mark.latest_start_ms)}, past this minute's end plus grace: the worker"
        " has probably closed it and will then dead-letter this event as late"
        ' (shoppulse_dead_letters_total{reason="late"})'
    )


def _before(start: int, cutoff_ms: int) -> str:
    return (
        f"the minute {format_ts_ms(start)} is before the minutes this API keeps (from"
        f" {format_ts_ms(cutoff_ms)}): the worker counts it (its final minute on"
        " shoppulse.kpis, shoppulse_events_total on the worker's /metrics), but"
        " GET /api/v1/kpis, /ws/live and the API's KPI gauges will not show it"
    )


__all__ = ["CATCHING_UP_NOTE", "LAG_NOTE", "WARNING_REASONS", "Verdict", "check_batch"]
