"""Rollups of long windows for ``/metrics``, from cached partial sums of sealed blocks: pure.

``/metrics`` exports every KPI of every store for ``5m``, ``1h`` and ``today``, now and
the same window yesterday. :meth:`api.view.KpiView.rollup` recomputes a window from its
minutes, decoding two HyperLogLog sketches per minute: measured with 20 simulated stores
at 23:59 UTC, ``today`` and its yesterday comparison took 19.6 s for all stores, so a
scrape cannot call it. Rollups are associative, so this module splits a window into
aligned blocks (whole hours, then five minutes, then single minutes: :func:`segments`),
keeps the :class:`Partial` of each block whose minutes are all final (a sealed block
never changes, and a changed one is detected by its fingerprint) and merges partials.
A scrape then decodes only the minutes of unsealed blocks (the open minute and those
still within grace) and merges a few dozen partials per store and window.

:func:`kpis_of` applies the view's rules to a merged partial (ratio of sums, each
store's latest stock gauges, distinct counts from merged sketches or unavailable,
money unavailable across currencies), so its KPIs equal ``KpiView.rollup`` and the
comparisons of :mod:`api.comparisons` (a test checks it).

>>> MIN = 60_000
>>> segments(55 * MIN, 130 * MIN, MIN)  # 00:55 to 02:10: minute edges, 5-minute blocks, an hour
[(3300000, 300000), (3600000, 3600000), (7200000, 300000), (7500000, 300000)]
>>> from shoppulse.snapshot import KpiSnapshot
>>> def snap(start, paid, final=True):
...     return KpiSnapshot(store_id="s1", window_start_ms=start, window_end_ms=start + MIN,
...         final=final, revision=1, currency="EUR", emitted_at_ms=start + MIN,
...         components={"orders_paid": paid, "gmv_minor": 1000 * paid})
>>> minutes = MinuteIndex([snap(m * MIN, 1) for m in range(60)] + [snap(60 * MIN, 2, False)])
>>> cache = RollupCache(MIN)
>>> part = cache.partial("s1", minutes, 0, 61 * MIN)
>>> part.minutes, part.sums["orders_paid"], cache.size  # the sealed hour is cached
(61, 62, 1)
>>> kpis_of({"s1": part}, {"s1": "EUR"}, 61 * MIN)["aov_minor"]
1000.0
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Protocol

from api.rollups import ALL_STORES, Rollup, finish_rollup, merge_sketches, minute_sketch
from api.store_minutes import MinuteRun
from api.view import KpiView
from shoppulse.components import COUNT_COMPONENTS, DISTINCT_COMPONENTS, sum_values
from shoppulse.hll import HyperLogLog
from shoppulse.inventory import GAUGE_COMPONENTS
from shoppulse.snapshot import KpiSnapshot

BLOCK_MINUTES: Final[tuple[int, ...]] = (60, 5, 1)
"""Block sizes, in windows, largest first: hours, five minutes, single minutes."""

Segment = tuple[int, int]
"""``(start_ms, length_ms)`` of one block."""


def segments(
    start_ms: int, end_ms: int, unit_ms: int, sizes: tuple[int, ...] = BLOCK_MINUTES
) -> list[Segment]:
    """Cover ``[start_ms, end_ms)`` with the largest blocks (``sizes`` in units, largest
    first) aligned to their own size.

    A stretch that is not aligned to ``unit_ms`` (a window length that does not divide
    the day) becomes one raw segment that is never cached.

    >>> segments(0, 10 * 60_000, 60_000)
    [(0, 300000), (300000, 300000)]
    >>> segments(30_000, 90_000, 60_000)
    [(30000, 30000), (60000, 30000)]
    """
    out: list[Segment] = []
    pos = start_ms
    while pos < end_ms:
        for size in sizes:
            length = size * unit_ms
            if pos % length == 0 and pos + length <= end_ms:
                break
        else:  # unaligned: up to the next unit boundary (or the end)
            length = min(end_ms, pos - pos % unit_ms + unit_ms) - pos
        out.append((pos, length))
        pos += length
    return out


@dataclass(frozen=True, slots=True)
class Partial:
    """The mergeable rollup state of some minutes of one store.

    ``sketches`` maps each distinct component to the union of the minutes' sketches, or
    None when a minute lacks a readable one (then the component is unavailable, as in
    the view). ``currencies`` are the minutes' own currencies; ``missing_currency`` says
    that some minute carried none (the view then uses the store's currency).
    """

    minutes: int
    finals: int
    sums: Mapping[str, int]
    gauges: tuple[int, Mapping[str, int]] | None
    """``(window_start_ms, gauge components)`` of the latest minute that carries gauges."""
    sketches: Mapping[str, HyperLogLog | None]
    currencies: frozenset[str]
    missing_currency: bool

    @classmethod
    def of(cls, snapshots: Sequence[KpiSnapshot]) -> Partial:
        """The partial of some minutes of one store."""
        if not snapshots:
            return EMPTY
        snapshots = list(snapshots)  # each minute unpacked once (a view's MinuteRun)
        gauges: tuple[int, Mapping[str, int]] | None = None
        for snap in snapshots:
            values = snap.components
            if GAUGE_COMPONENTS[0] in values and (
                gauges is None or snap.window_start_ms > gauges[0]
            ):
                gauges = (snap.window_start_ms, {n: values.get(n, 0) for n in GAUGE_COMPONENTS})
        currencies = {s.currency for s in snapshots}
        return cls(
            minutes=len(snapshots),
            finals=sum(1 for s in snapshots if s.final),
            sums=sum_values(s.components for s in snapshots),
            gauges=gauges,
            sketches={
                name: merge_sketches(minute_sketch(s, name) for s in snapshots)
                for name in DISTINCT_COMPONENTS
            },
            currencies=frozenset(c for c in currencies if c),
            missing_currency=any(not c for c in currencies),
        )


EMPTY: Final = Partial(0, 0, MappingProxyType({}), None, MappingProxyType({}), frozenset(), False)


def merge(parts: Iterable[Partial]) -> Partial:
    """The partial of the union of the parts' minutes (the parts are not modified).

    >>> merge([]) is EMPTY
    True
    """
    parts = [p for p in parts if p.minutes]
    if not parts:
        return EMPTY
    if len(parts) == 1:
        return parts[0]
    sketches: dict[str, HyperLogLog | None] = {}
    for name in DISTINCT_COMPONENTS:
        merged: HyperLogLog | None = None
        for part in parts:
            sketch = part.sketches.get(name)
            if sketch is None:
                merged = None
                break
            if merged is None:
                merged = sketch.copy()
            else:
                try:
                    merged.merge_into(sketch)
                except ValueError:
                    merged = None
                    break
        sketches[name] = merged
    with_gauges = [p.gauges for p in parts if p.gauges is not None]
    return Partial(
        minutes=sum(p.minutes for p in parts),
        finals=sum(p.finals for p in parts),
        sums=sum_values(p.sums for p in parts),
        gauges=max(with_gauges, key=lambda g: g[0]) if with_gauges else None,
        sketches=sketches,
        currencies=frozenset().union(*(p.currencies for p in parts)),
        missing_currency=any(p.missing_currency for p in parts),
    )


def kpis_of(
    stores: Mapping[str, Partial], store_currency: Mapping[str, str | None], window_ms: int
) -> dict[str, float | None]:
    """The KPIs of the union of per-store partials over a window of ``window_ms``.

    ``store_currency`` (each store's currency as the view knows it) stands in for a
    store's minutes that carry none, as in the view.
    """
    return dict(rollup_of(stores, store_currency, ALL_STORES, "custom", 0, window_ms).kpis)


def rollup_of(
    stores: Mapping[str, Partial],
    store_currency: Mapping[str, str | None],
    store_id: str,
    window: str,
    start_ms: int,
    end_ms: int,
) -> Rollup:
    """The rollup of the union of per-store partials over ``[start_ms, end_ms)``: what
    :meth:`api.view.KpiView.rollup_range` answers for the same minutes (but ``revision``,
    which is None here: a rollup of one minute is the view's to make).

    ``store_currency`` (each store's currency as the view knows it) stands in for a
    store's minutes that carry none, as in the view.
    """
    parts = {store: p for store, p in stores.items() if p.minutes}
    values: dict[str, int] = dict.fromkeys(COUNT_COMPONENTS, 0)
    merged = merge(parts.values())
    values.update(merged.sums)
    if any(p.gauges is not None for p in parts.values()):  # each store's latest, summed
        gauge_sum = dict.fromkeys(GAUGE_COMPONENTS, 0)
        for part in parts.values():
            if part.gauges is not None:
                for name in GAUGE_COMPONENTS:
                    gauge_sum[name] += part.gauges[1].get(name, 0)
        values.update(gauge_sum)
    currencies = set(merged.currencies)
    for store, part in parts.items():
        fallback = store_currency.get(store)
        if part.missing_currency and fallback:
            currencies.add(fallback)
    return finish_rollup(
        values,
        {name: merged.sketches.get(name) for name in DISTINCT_COMPONENTS},
        currencies,
        store_id=store_id,
        window=window,
        start_ms=start_ms,
        end_ms=end_ms,
        minutes=merged.minutes,
        store_count=len(parts),
        final=merged.minutes > 0 and merged.finals == merged.minutes,
        revision=None,
    )


class Minutes(Protocol):
    """One store's minutes, oldest first (:class:`MinuteIndex`, a view's minute index)."""

    def between(self, start_ms: int, end_ms: int) -> Sequence[KpiSnapshot]: ...


class MinuteIndex:
    """One store's minutes (oldest first) with the lookup of a range; a view's
    :class:`~api.store_minutes.MinuteRun` is kept as it is (its minutes stay packed).

    >>> MinuteIndex([]).between(0, 60_000)
    []
    """

    def __init__(self, snapshots: Sequence[KpiSnapshot]) -> None:
        self.run = snapshots if isinstance(snapshots, MinuteRun) else None
        self.snapshots = [] if self.run is not None else list(snapshots)
        self.starts = [s.window_start_ms for s in self.snapshots]

    def between(self, start_ms: int, end_ms: int) -> Sequence[KpiSnapshot]:
        """The minutes with ``start_ms <= window_start < end_ms``."""
        if self.run is not None:
            return self.run.between(start_ms, end_ms)
        lo = bisect.bisect_left(self.starts, start_ms)
        hi = bisect.bisect_left(self.starts, end_ms, lo)
        return self.snapshots[lo:hi]


Fingerprint = tuple[int, int]


def _fingerprint(snapshots: Sequence[KpiSnapshot]) -> Fingerprint | None:
    """``(minutes, sum of revisions)`` of a sealed block, None while a minute is open.

    A block's minutes change only by a newer revision or a new minute, and a final
    minute is never replaced by a provisional one, so an equal fingerprint of an
    all-final block means equal content.
    """
    marks = (
        snapshots.marks()
        if isinstance(snapshots, MinuteRun)
        else [(s.final, s.revision) for s in snapshots]
    )
    if not all(final for final, _ in marks):
        return None
    return (len(marks), sum(revision for _, revision in marks))


@dataclass(slots=True)
class RollupCache:
    """Partials of sealed blocks by ``(store, start, length)``; see the module docstring.

    Each :meth:`sweep` drops the blocks not used since the previous sweep, so memory
    follows what the windows currently need (about 40 blocks per store and period).
    """

    unit_ms: int
    _blocks: dict[tuple[str, int, int], tuple[Fingerprint, Partial]] = field(default_factory=dict)
    _used: set[tuple[str, int, int]] = field(default_factory=set)
    hits: int = 0
    misses: int = 0

    @property
    def size(self) -> int:
        """How many block partials are held."""
        return len(self._blocks)

    def partial(self, store_id: str, minutes: Minutes, start_ms: int, end_ms: int) -> Partial:
        """The partial of the store's minutes in ``[start_ms, end_ms)``."""
        return merge(self._parts(store_id, minutes, start_ms, end_ms, BLOCK_MINUTES))

    def _parts(
        self,
        store_id: str,
        minutes: Minutes,
        start_ms: int,
        end_ms: int,
        sizes: tuple[int, ...],
    ) -> list[Partial]:
        parts: list[Partial] = []
        for seg_start, length in segments(start_ms, end_ms, self.unit_ms, sizes):
            snaps = minutes.between(seg_start, seg_start + length)
            if not snaps:
                continue
            aligned = length % self.unit_ms == 0
            fingerprint = _fingerprint(snaps) if aligned else None
            if fingerprint is None:
                smaller = tuple(n for n in sizes if n * self.unit_ms < length)
                if aligned and smaller:  # an open minute inside: cache its sealed sub-blocks
                    parts.extend(
                        self._parts(store_id, minutes, seg_start, seg_start + length, smaller)
                    )
                else:
                    parts.append(Partial.of(snaps))
                continue
            key = (store_id, seg_start, length)
            self._used.add(key)
            held = self._blocks.get(key)
            if held is not None and held[0] == fingerprint:
                self.hits += 1
                parts.append(held[1])
                continue
            self.misses += 1
            part = Partial.of(snaps)
            self._blocks[key] = (fingerprint, part)
            parts.append(part)
        return parts

    def sweep(self) -> int:
        """Forget the blocks not used since the last sweep; return how many."""
        stale = [key for key in self._blocks if key not in self._used]
        for key in stale:
            del self._blocks[key]
        self._used.clear()
        return len(stale)


class CachedRollups:
    """The REST rollups of frozen views (:meth:`api.view.KpiView.frozen`), from a
    :class:`RollupCache` shared by the requests' worker threads (hence the lock).

    The same minutes give the same :class:`~api.rollups.Rollup` as the view (a test checks it);
    a rollup of at most one minute is left to the view. Blocks not used for
    ``sweep_interval_s`` are forgotten.
    """

    def __init__(
        self,
        unit_ms: int,
        *,
        sweep_interval_s: float = 600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache = RollupCache(unit_ms)
        self.sweep_interval_s = sweep_interval_s
        self._monotonic = monotonic
        self._swept_at = monotonic()
        self._lock = threading.Lock()

    def rollup_range(
        self,
        view: KpiView,
        store_ids: list[str],
        store_id: str,
        start_ms: int,
        end_ms: int,
        window: str,
    ) -> Rollup | None:
        """The rollup of ``store_ids`` over ``[start_ms, end_ms)``, or None (a single minute)."""
        parts: dict[str, Partial] = {}
        with self._lock:
            for sid in store_ids:
                minutes = view.minute_index(sid)
                if minutes is not None:
                    parts[sid] = self.cache.partial(sid, minutes, start_ms, end_ms)
            now = self._monotonic()
            if now - self._swept_at >= self.sweep_interval_s:
                self.cache.sweep()
                self._swept_at = now
        if sum(p.minutes for p in parts.values()) <= 1:
            return None
        currency = {sid: view.currency(sid) for sid in parts}
        return rollup_of(parts, currency, store_id, window, start_ms, end_ms)


__all__ = [
    "BLOCK_MINUTES",
    "EMPTY",
    "CachedRollups",
    "MinuteIndex",
    "Minutes",
    "Partial",
    "RollupCache",
    "kpis_of",
    "merge",
    "rollup_of",
    "segments",
]
