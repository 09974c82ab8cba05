"""The API's materialised view of ``shoppulse.kpis``: pure, no IO.

:class:`KpiView` keeps, per store, the minute snapshots it needs (see *Retention*),
applies new snapshots idempotently and answers rollups over ``1m``, ``5m``, ``1h``
and ``today`` for one store or for all stores (``store="all"``), and over any
range it holds (:meth:`KpiView.rollup_range`, :meth:`KpiView.rollup_between`).

Retention. ``GET /api/v1/kpis`` compares a window with the same window yesterday
and last week (:mod:`api.comparisons`), so the view keeps every minute from one
hour before the start of the same UTC day last week: the cutoff is
``utc_day_start(now) - 7 days - 1 hour`` (the hour covers a ``1h`` window that
starts before midnight), at most 8 days + 1 hour of minutes, further bounded by
``history_minutes``. It cannot skip the days in between: each of them becomes
"the same day last week" in turn, and the feed reads the topic once, forward.
Minutes are held packed in columns (:mod:`api.store_minutes`, :mod:`api.minute_pack`) and
unpacked when read; minutes older than the start of yesterday read without their ``kpis``.

Every snapshot read, held or too old, updates its store's :class:`~api.store_marks.StoreMark`
(the newest minute read and the end of the newest final one), which eviction keeps: a store
whose minutes are all older than the cutoff stays known (:meth:`KpiView.known_stores`), so
reads of it answer "no minutes here" rather than "unknown store", and ingest can tell a late
event from its minute (:mod:`api.ingest_check`).

Rollups are :class:`~api.rollups.Rollup` (:mod:`api.rollups`: how components are summed and
which distinct counts and KPIs are unavailable).

>>> MIN = 60_000
>>> now = 1_700_000_000_000 - 1_700_000_000_000 % MIN + 30_000
>>> view = KpiView(clock=lambda: now)
>>> def snap(start, revision, final=False, paid=1, sessions=10):
...     return KpiSnapshot(store_id="s1", window_start_ms=start, window_end_ms=start + MIN,
...         final=final, revision=revision, currency="EUR", emitted_at_ms=start + MIN,
...         components={"orders_paid": paid, "gmv_minor": 1000 * paid, "sessions": sessions})
>>> minute = now - now % MIN
>>> view.apply(snap(minute - MIN, 1, final=True)), view.apply(snap(minute, 1))
(True, True)
>>> view.apply(snap(minute, 1))          # the same record again: no change
False
>>> view.apply(snap(minute, 2, paid=3))  # a newer revision replaces the minute
True
>>> r = view.rollup("s1", "5m")
>>> r.minutes, r.components["orders_paid"], r.kpis["aov_minor"], r.kpis["sessions"]
(2, 4, 1000.0, None)
>>> r.unavailable_kpis
('new_customer_conversion', 'payment_conversion', 'sessions', 'visitors')
>>> view.rollup("s1", "1m").kpis["payment_conversion"]  # one minute: distinct counts are exact
0.3
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from api.clock import DAY_MS, Clock, utc_day_start_ms, wall_clock_ms
from api.rollups import (
    ALL_STORES,
    Rollup,
    Window,
    finish_rollup,
    merge_sketches,
    minute_sketch,
)
from api.store_marks import StoreMark, observe
from api.store_minutes import StoreMinutes, supersedes
from shoppulse.components import COUNT_COMPONENTS, DISTINCT_COMPONENTS, sum_values
from shoppulse.hll import HyperLogLog
from shoppulse.inventory import latest_gauges
from shoppulse.service_agents import sum_agents
from shoppulse.settings import ApiSettings
from shoppulse.snapshot import KpiSnapshot

MINUTE_MS: Final = 60_000
HOUR_MS: Final = 60 * MINUTE_MS
_WINDOW_MINUTES: Final[dict[str, int]] = {"5m": 5, "1h": 60}
COMPARISON_DAYS: Final = 7
"""The oldest comparison: the same window 7 days ago (``last_week``)."""
MAX_HISTORY_MINUTES: Final = (COMPARISON_DAYS + 1) * 24 * 60 + 60
"""The most minutes the retention cutoff can span: 8 days + 1 hour (11,580)."""


@dataclass(slots=True)
class ViewStats:
    """Counters of what :meth:`KpiView.apply` did."""

    applied: int = 0
    ignored_stale: int = 0
    """Duplicates and older revisions."""
    ignored_too_old: int = 0
    """Snapshots of minutes before the retention cutoff."""
    evicted: int = 0


class RangeRollups(Protocol):
    """Rolls a frozen view's ranges up faster than :meth:`KpiView.rollup_range` with the same
    result, or answers None to leave it to the view (:class:`api.rollup_cache.CachedRollups`).
    """

    def rollup_range(
        self,
        view: KpiView,
        store_ids: list[str],
        store_id: str,
        start_ms: int,
        end_ms: int,
        window: str,
    ) -> Rollup | None: ...


def _disjoint(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of ``[start, end)`` ranges as sorted, disjoint ranges.

    >>> _disjoint([(5, 9), (0, 2), (1, 3), (9, 10)])
    [(0, 3), (5, 10)]
    """
    out: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


class KpiView:
    """Latest minute snapshots per store, with rollups; see the module docstring.

    ``clock`` gives "now" in epoch milliseconds: it anchors the ``5m``/``1h``/``today``
    windows and the retention cutoff (one hour before the start of the same UTC day
    last week, or ``history_minutes`` ago, whichever is later).
    """

    def __init__(
        self,
        *,
        history_minutes: int = MAX_HISTORY_MINUTES,
        window_ms: int = MINUTE_MS,
        clock: Clock = wall_clock_ms,
        pack_minutes: bool = True,
    ) -> None:
        if history_minutes < 1:
            raise ValueError("history_minutes must be at least 1")
        if window_ms < 1:
            raise ValueError("window_ms must be positive")
        self.history_minutes = history_minutes
        self.window_ms = window_ms
        self.clock = clock
        self.pack_minutes = pack_minutes
        """False holds minutes as they came (the unpacked layout; for benchmarks only)."""
        self.stats = ViewStats()
        self._stores: dict[str, StoreMinutes] = {}
        self._marks: dict[str, StoreMark] = {}
        self._last_evict_ms: int | None = None
        self.rollups: RangeRollups | None = None
        """Set on frozen copies only (:meth:`frozen`): what :meth:`rollup_range` asks first."""

    @classmethod
    def from_settings(cls, settings: ApiSettings, *, clock: Clock = wall_clock_ms) -> KpiView:
        """A view sized by ``settings.api_history_minutes`` and ``settings.window_ms``."""
        return cls(
            history_minutes=settings.api_history_minutes,
            window_ms=settings.window_ms,
            clock=clock,
        )

    # -- writes -----------------------------------------------------------------------------

    def cutoff_ms(self, now_ms: int | None = None) -> int:
        """Minutes starting before this instant are evicted (and ignored when they arrive)."""
        now = self.clock() if now_ms is None else now_ms
        last_week = utc_day_start_ms(now) - COMPARISON_DAYS * DAY_MS - HOUR_MS
        return max(last_week, now - self.history_minutes * MINUTE_MS)

    def hot_from_ms(self, now_ms: int | None = None) -> int:
        """Minutes before this instant (the start of yesterday, UTC) read without KPIs."""
        now = self.clock() if now_ms is None else now_ms
        return utc_day_start_ms(now) - DAY_MS

    def apply(self, snapshot: KpiSnapshot) -> bool:
        """Apply one snapshot; return True when it changed the view (idempotent)."""
        now = self.clock()
        if self._last_evict_ms is None or now - self._last_evict_ms >= self.window_ms:
            self.evict(now)
        mark = self._marks.get(snapshot.store_id)
        self._marks[snapshot.store_id] = observe(mark, snapshot)  # held or not (store_marks)
        if snapshot.window_start_ms < self.cutoff_ms(now):
            self.stats.ignored_too_old += 1
            return False
        store = self._stores.get(snapshot.store_id)
        old = store.held(snapshot.window_start_ms) if store else None
        if not supersedes(snapshot, old):
            self.stats.ignored_stale += 1
            return False
        if store is None:
            store = self._stores[snapshot.store_id] = StoreMinutes(
                snapshot.store_id, packing=self.pack_minutes
            )
        store.put(snapshot, self.hot_from_ms(now))
        self.stats.applied += 1
        return True

    def evict(self, now_ms: int | None = None) -> int:
        """Drop minutes older than the retention cutoff; return how many were dropped.

        On the way, minutes turn cold at the start of yesterday (they read without KPIs), and
        minutes more than an hour old that were never finalised are packed.
        """
        now = self.clock() if now_ms is None else now_ms
        self._last_evict_ms = now
        cutoff = self.cutoff_ms(now)
        hot_from = self.hot_from_ms(now)
        dropped = 0
        for store_id in list(self._stores):
            store = self._stores[store_id]
            dropped += store.evict_before(cutoff)
            if not store.starts:
                del self._stores[store_id]
                continue
            store.cold_before_ms = hot_from
            if store.loose:
                store.pack_loose(now - HOUR_MS)
        self.stats.evicted += dropped
        return dropped

    def frozen(
        self, ranges: Iterable[tuple[int, int]], *, rollups: RangeRollups | None = None
    ) -> KpiView:
        """A copy for reading in another thread while this view keeps changing.

        It holds every store with its currency and latest minute, and the minutes starting
        in ``ranges``; its clock is pinned to now. Call it where the view is updated (the
        event loop), then read the copy anywhere: nothing else changes it. The snapshots are
        shared (they are immutable), so the cost is a few references per minute.
        ``rollups`` serves the copy's :meth:`rollup_range` (a cache of sealed blocks).
        """
        now = self.clock()
        copy = KpiView(
            history_minutes=self.history_minutes,
            window_ms=self.window_ms,
            clock=lambda: now,
            pack_minutes=self.pack_minutes,
        )
        copy._last_evict_ms = now
        spans = _disjoint(ranges)
        copy._stores = {sid: store.copy_between(spans) for sid, store in self._stores.items()}
        copy._marks = dict(self._marks)  # frozen marks: a shallow copy is a snapshot
        copy.rollups = rollups
        return copy

    def rollup_bounds(self, store_id: str, window: Window) -> tuple[int, int]:
        """``[start, end)`` that :meth:`rollup` rolls up (for ``1m``: the latest minute)."""
        if window != "1m":
            return self.window_bounds(window)
        if store_id == ALL_STORES:
            latest = list(self.latest_by_store().values())
        else:
            snap = self.latest(store_id)
            latest = [snap] if snap is not None else []
        if not latest:
            return self.window_bounds("1m")
        start = max(s.window_start_ms for s in latest)
        return start, start + self.window_ms

    def minute_index(self, store_id: str) -> StoreMinutes | None:
        """The store's minutes, with ``between(start_ms, end_ms)`` (for rollup caches)."""
        return self._stores.get(store_id)

    # -- reads ------------------------------------------------------------------------------

    def stores(self) -> list[str]:
        """Ids of the stores the view holds minutes of, sorted."""
        return sorted(self._stores)

    def has_store(self, store_id: str) -> bool:
        """Whether the view holds minutes of ``store_id``."""
        return store_id in self._stores

    def known_stores(self) -> list[str]:
        """Ids of every store the view has read a snapshot of (minutes held or not), sorted."""
        return sorted(self._marks.keys() | self._stores.keys())

    def knows_store(self, store_id: str) -> bool:
        """Whether the view has read a snapshot of ``store_id`` (held, too old or evicted)."""
        return store_id in self._marks or store_id in self._stores

    def mark(self, store_id: str) -> StoreMark | None:
        """The store's newest minute read and closed watermark (:mod:`api.store_marks`)."""
        return self._marks.get(store_id)

    def currency(self, store_id: str) -> str | None:
        """The store's currency, as last reported."""
        store = self._stores.get(store_id)
        if store is not None:
            return store.currency
        mark = self._marks.get(store_id)
        return mark.currency if mark else None

    def minute_count(self, store_id: str) -> int:
        """How many minutes the view holds for ``store_id``."""
        store = self._stores.get(store_id)
        return len(store.starts) if store else 0

    def latest(self, store_id: str) -> KpiSnapshot | None:
        """The store's most recent minute, or None."""
        store = self._stores.get(store_id)
        return store.latest() if store else None

    def latest_by_store(self) -> dict[str, KpiSnapshot]:
        """The most recent minute of every store."""
        out: dict[str, KpiSnapshot] = {}
        for store_id, store in sorted(self._stores.items()):
            snap = store.latest()
            if snap is not None:
                out[store_id] = snap
        return out

    def minutes(self, store_id: str, start_ms: int, end_ms: int) -> Sequence[KpiSnapshot]:
        """The store's minutes with ``start_ms <= window_start < end_ms``, oldest first: a
        copy (:class:`~api.store_minutes.MinuteRun`) that unpacks each minute when read."""
        store = self._stores.get(store_id)
        return store.between(start_ms, end_ms) if store else []

    def window_bounds(self, window: Window) -> tuple[int, int]:
        """``[start, end)`` of a clock-anchored window; the end is the current minute's end."""
        now = self.clock()
        end = now - now % self.window_ms + self.window_ms
        if window == "today":
            return utc_day_start_ms(now), end
        if window == "1m":
            return end - self.window_ms, end
        return end - _WINDOW_MINUTES[window] * MINUTE_MS, end

    def rollup(self, store_id: str, window: Window) -> Rollup:
        """Roll a store (or ``"all"``) up over ``window``.

        ``1m`` is the latest minute (for ``all``: the latest minute any store has,
        summed over the stores that have it); the other windows are anchored to the
        clock's current minute and include it.
        """
        if window == "1m":
            return self._latest_minute(store_id)
        start, end = self.window_bounds(window)
        return self.rollup_range(store_id, start, end, window=window)

    def agents_between(
        self, store_id: str, start_ms: int, end_ms: int
    ) -> dict[str, dict[str, int]]:
        """Per-agent service components of one store, summed over ``[start_ms, end_ms)``."""
        return sum_agents([s.agents for s in self.minutes(store_id, start_ms, end_ms)])

    def rollup_range(
        self, store_id: str, start_ms: int, end_ms: int, *, window: str = "custom"
    ) -> Rollup:
        """Roll up the minutes with ``start_ms <= window_start < end_ms``."""
        ids = self.stores() if store_id == ALL_STORES else [store_id]
        if self.rollups is not None:
            cached = self.rollups.rollup_range(self, ids, store_id, start_ms, end_ms, window)
            if cached is not None:
                return cached
        snaps = [s for sid in ids for s in self.minutes(sid, start_ms, end_ms)]
        return self._combine(store_id, window, start_ms, end_ms, snaps, exact_distinct=False)

    def rollup_between(
        self, store_id: str, start_ms: int, end_ms: int, *, window: str = "custom"
    ) -> Rollup:
        """:meth:`rollup_range`, except that one store's single minute is exact (as ``1m``)."""
        if store_id != ALL_STORES and end_ms - start_ms <= self.window_ms:
            snaps = self.minutes(store_id, start_ms, end_ms)
            if len(snaps) == 1:
                return self._single(snaps[0])
        return self.rollup_range(store_id, start_ms, end_ms, window=window)

    def history(self, store_id: str, start_ms: int, end_ms: int) -> list[Rollup]:
        """One ``1m`` rollup per minute in ``[start_ms, end_ms)``, oldest first.

        For a single store each point is that store-minute (distinct counts exact);
        for ``all`` each point sums the stores' snapshots of that minute.
        """
        if store_id != ALL_STORES:
            return [self._single(s) for s in self.minutes(store_id, start_ms, end_ms)]
        by_start: dict[int, list[KpiSnapshot]] = {}
        for sid in self.stores():
            for snap in self.minutes(sid, start_ms, end_ms):
                by_start.setdefault(snap.window_start_ms, []).append(snap)
        return [
            self._combine(
                ALL_STORES,
                "1m",
                start,
                start + self.window_ms,
                by_start[start],
                exact_distinct=False,
            )
            for start in sorted(by_start)
        ]

    # -- helpers ----------------------------------------------------------------------------

    def _latest_minute(self, store_id: str) -> Rollup:
        if store_id != ALL_STORES:
            snap = self.latest(store_id)
            if snap is not None:
                return self._single(snap)
            start, end = self.window_bounds("1m")
            return self._combine(store_id, "1m", start, end, [], exact_distinct=True)
        latest = self.latest_by_store()
        if not latest:
            start, end = self.window_bounds("1m")
            return self._combine(ALL_STORES, "1m", start, end, [], exact_distinct=False)
        start = max(s.window_start_ms for s in latest.values())
        snaps = [
            snap for sid in self.stores() if (snap := self._stores[sid].get(start)) is not None
        ]
        end = max(s.window_end_ms for s in snaps)
        return self._combine(ALL_STORES, "1m", start, end, snaps, exact_distinct=False)

    def _single(self, snap: KpiSnapshot) -> Rollup:
        return self._combine(
            snap.store_id,
            "1m",
            snap.window_start_ms,
            snap.window_end_ms,
            [snap],
            exact_distinct=True,
        )

    def _combine(
        self,
        store_id: str,
        window: str,
        start_ms: int,
        end_ms: int,
        snaps: list[KpiSnapshot],
        *,
        exact_distinct: bool,
    ) -> Rollup:
        values: dict[str, int] = dict.fromkeys(COUNT_COMPONENTS, 0)
        sketches: dict[str, HyperLogLog | None] | None = None
        if exact_distinct and len(snaps) == 1:
            values.update(snaps[0].components)
            for name in DISTINCT_COMPONENTS:
                values.setdefault(name, 0)
        else:
            values.update(sum_values(s.components for s in snaps))
            gauges = latest_gauges((s.store_id, s.window_start_ms, s.components) for s in snaps)
            if gauges is not None:
                values.update(gauges)  # stock levels: each store's latest minute, summed
            sketches = {
                name: merge_sketches(minute_sketch(s, name) for s in snaps)
                for name in DISTINCT_COMPONENTS
            }
        return finish_rollup(
            values,
            sketches,
            {c for c in (self._currency_of(s) for s in snaps) if c is not None},
            store_id=store_id,
            window=window,
            start_ms=start_ms,
            end_ms=end_ms,
            minutes=len(snaps),
            store_count=len({s.store_id for s in snaps}),
            final=bool(snaps) and all(s.final for s in snaps),
            revision=snaps[0].revision if len(snaps) == 1 else None,
        )

    def _currency_of(self, snap: KpiSnapshot) -> str | None:
        if snap.currency:
            return snap.currency
        store = self._stores.get(snap.store_id)
        return store.currency if store else None


def apply_all(view: KpiView, snapshots: Iterable[KpiSnapshot]) -> int:
    """Apply several snapshots; return how many changed the view."""
    return sum(1 for s in snapshots if view.apply(s))


__all__ = ["KpiView", "RangeRollups", "ViewStats", "apply_all"]
