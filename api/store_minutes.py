"""One store's minutes in the view, packed in columns, and which snapshot of a minute wins.

:class:`StoreMinutes` keeps a store's minutes for :class:`api.view.KpiView` sorted by window
start, in columns: the starts, ends, revisions and emission times in ``array('q')``, the
final flags in a ``bytearray``, the currencies (shared strings) and each minute's packed
body (:func:`api.minute_pack.pack`: components, agents, sketches, in a few hundred bytes).
The store's latest minute is held as the snapshot itself (the wall page, ``/metrics`` and
every ``1m`` read it); so is a minute that is not final yet (it will be revised within the
grace period, so packing it would be wasted), until :meth:`StoreMinutes.pack_loose` packs
those left behind, and a minute that cannot be packed exactly. A read
(:meth:`StoreMinutes.between`) answers a :class:`MinuteRun`, a sequence that unpacks a minute
when it is read and gives the revisions and final flags of its minutes without unpacking
(the rollup cache's fingerprints). Minutes older than the start of yesterday (``cold``)
read with empty ``kpis``, as before (rollups derive KPIs from the components anyway).
:func:`supersedes` says whether a snapshot replaces the one held. ``docs/api-memory.md``
has the layout and its measured bytes.

>>> def snap(start, revision=1, final=True, paid=1):
...     return KpiSnapshot(store_id="s1", window_start_ms=start, window_end_ms=start + 60_000,
...         final=final, revision=revision, currency="EUR", emitted_at_ms=start + 60_000,
...         components={"orders_paid": paid})
>>> store = StoreMinutes("s1")
>>> for start in (120_000, 0, 60_000):
...     store.put(snap(start), hot_from_ms=0)
>>> run = store.between(0, 120_000)
>>> [s.window_start_ms for s in run], run.marks(), store.packed
([0, 60000], [(True, 1), (True, 1)], 2)
>>> store.held(60_000), store.latest().window_start_ms
(Held(revision=1, final=True), 120000)
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, overload

from api.minute_pack import pack, unpack, without_kpis
from shoppulse.snapshot import KpiSnapshot

Body = bytes | KpiSnapshot
"""A minute's packed body, or the snapshot itself (see the module docstring)."""


@dataclass(slots=True)
class Columns:
    """The columns of some minutes of one store, sorted by start (see the module docstring)."""

    starts: array[int] = field(default_factory=lambda: array("q"))
    ends: array[int] = field(default_factory=lambda: array("q"))
    revisions: array[int] = field(default_factory=lambda: array("q"))
    emitted: array[int] = field(default_factory=lambda: array("q"))
    finals: bytearray = field(default_factory=bytearray)
    currencies: list[str | None] = field(default_factory=list)
    bodies: list[Body] = field(default_factory=list)

    def slice(self, lo: int, hi: int) -> Columns:
        """A copy of the minutes ``lo:hi`` (the bodies are shared: they never change)."""
        return Columns(
            self.starts[lo:hi],
            self.ends[lo:hi],
            self.revisions[lo:hi],
            self.emitted[lo:hi],
            self.finals[lo:hi],
            self.currencies[lo:hi],
            self.bodies[lo:hi],
        )

    def extend(self, other: Columns) -> None:
        self.starts.extend(other.starts)
        self.ends.extend(other.ends)
        self.revisions.extend(other.revisions)
        self.emitted.extend(other.emitted)
        self.finals.extend(other.finals)
        self.currencies.extend(other.currencies)
        self.bodies.extend(other.bodies)

    def set(self, i: int, snapshot: KpiSnapshot, body: Body) -> None:
        """Replace minute ``i`` (same start)."""
        self.ends[i] = snapshot.window_end_ms
        self.revisions[i] = snapshot.revision
        self.emitted[i] = snapshot.emitted_at_ms
        self.finals[i] = snapshot.final
        self.currencies[i] = snapshot.currency
        self.bodies[i] = body

    def insert(self, i: int, snapshot: KpiSnapshot, body: Body) -> None:
        """Insert a minute at ``i`` (its start sorts there)."""
        self.starts.insert(i, snapshot.window_start_ms)
        self.ends.insert(i, snapshot.window_end_ms)
        self.revisions.insert(i, snapshot.revision)
        self.emitted.insert(i, snapshot.emitted_at_ms)
        self.finals.insert(i, snapshot.final)
        self.currencies.insert(i, snapshot.currency)
        self.bodies.insert(i, body)

    def drop_first(self, n: int) -> None:
        """Drop the ``n`` oldest minutes."""
        del self.starts[:n], self.ends[:n], self.revisions[:n], self.emitted[:n]
        del self.finals[:n], self.currencies[:n], self.bodies[:n]

    def snapshot(self, i: int, store_id: str, cold_before_ms: int, latest_ms: int) -> KpiSnapshot:
        """Minute ``i`` as a snapshot (unpacked when packed); without KPIs when it starts
        before ``cold_before_ms``, unless it is the store's latest (``latest_ms``)."""
        body = self.bodies[i]
        hot = self.starts[i] >= cold_before_ms or self.starts[i] == latest_ms
        if isinstance(body, KpiSnapshot):
            return body if hot else without_kpis(body)
        return unpack(
            body,
            store_id,
            self.starts[i],
            self.ends[i],
            bool(self.finals[i]),
            self.revisions[i],
            self.currencies[i],
            self.emitted[i],
            kpis=hot,
        )


class Held(NamedTuple):
    """What decides whether a new snapshot of a minute replaces the one held."""

    revision: int
    final: bool


class Revised(Protocol):
    @property
    def revision(self) -> int: ...
    @property
    def final(self) -> bool: ...


class MinuteRun(Sequence[KpiSnapshot]):
    """Some minutes of one store, oldest first, unpacked when read; a copy, so it can be read
    in another thread while the view changes."""

    __slots__ = ("_cold_before_ms", "_columns", "_latest_ms", "_store_id")

    def __init__(
        self, columns: Columns, store_id: str, cold_before_ms: int, latest_ms: int
    ) -> None:
        self._columns = columns
        self._store_id = store_id
        self._cold_before_ms = cold_before_ms
        self._latest_ms = latest_ms

    @property
    def starts(self) -> array[int]:
        """The window starts of the minutes (sorted)."""
        return self._columns.starts

    def marks(self) -> list[tuple[bool, int]]:
        """``(final, revision)`` of every minute, without unpacking any."""
        return list(zip(map(bool, self._columns.finals), self._columns.revisions, strict=True))

    def between(self, start_ms: int, end_ms: int) -> MinuteRun:
        """The minutes with ``start_ms <= window_start < end_ms``."""
        lo = bisect.bisect_left(self._columns.starts, start_ms)
        hi = bisect.bisect_left(self._columns.starts, end_ms, lo)
        return MinuteRun(
            self._columns.slice(lo, hi), self._store_id, self._cold_before_ms, self._latest_ms
        )

    def __len__(self) -> int:
        return len(self._columns.starts)

    @overload
    def __getitem__(self, i: int) -> KpiSnapshot: ...
    @overload
    def __getitem__(self, i: slice) -> list[KpiSnapshot]: ...
    def __getitem__(self, i: int | slice) -> KpiSnapshot | list[KpiSnapshot]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("minute index out of range")
        return self._columns.snapshot(i, self._store_id, self._cold_before_ms, self._latest_ms)

    def __iter__(self) -> Iterator[KpiSnapshot]:
        columns, store = self._columns, self._store_id
        cold, latest = self._cold_before_ms, self._latest_ms
        return (columns.snapshot(i, store, cold, latest) for i in range(len(columns.starts)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MinuteRun({self._store_id!r}, {len(self)} minutes)"


@dataclass(slots=True)
class StoreMinutes:
    """One store's minutes in columns; see the module docstring."""

    store_id: str
    columns: Columns = field(default_factory=Columns)
    currency: str | None = None
    cold_before_ms: int = 0
    """Minutes starting before this instant (the start of yesterday) read without KPIs."""
    loose: set[int] = field(default_factory=set)
    """Starts of the minutes held unpacked that are not the latest (not final yet)."""
    packing: bool = True
    """False holds every minute as it came (the layout before packing; benchmarks only)."""

    @property
    def starts(self) -> array[int]:
        """The window starts, sorted."""
        return self.columns.starts

    @property
    def packed(self) -> int:
        """How many minutes are held packed."""
        return sum(1 for b in self.columns.bodies if not isinstance(b, KpiSnapshot))

    def _index(self, start_ms: int) -> int | None:
        starts = self.columns.starts
        i = bisect.bisect_left(starts, start_ms)
        return i if i < len(starts) and starts[i] == start_ms else None

    def held(self, start_ms: int) -> Held | None:
        """The revision and final flag of the minute held at ``start_ms``, or None."""
        i = self._index(start_ms)
        if i is None:
            return None
        return Held(self.columns.revisions[i], bool(self.columns.finals[i]))

    def get(self, start_ms: int) -> KpiSnapshot | None:
        """The minute starting at ``start_ms``, or None."""
        i = self._index(start_ms)
        if i is None:
            return None
        return self.columns.snapshot(i, self.store_id, self.cold_before_ms, self._latest_ms())

    def _latest_ms(self) -> int:
        starts = self.columns.starts
        return starts[-1] if starts else -1

    def put(self, snapshot: KpiSnapshot, hot_from_ms: int) -> None:
        """Insert or replace a minute; the one it displaces as the latest is packed."""
        self.cold_before_ms = hot_from_ms
        columns = self.columns
        start = snapshot.window_start_ms
        n = len(columns.starts)
        i = bisect.bisect_left(columns.starts, start)
        latest = i >= n - 1 and (i == n or columns.starts[i] == start)
        body: Body = snapshot if latest else self._body(snapshot)
        if i < n and columns.starts[i] == start:
            columns.set(i, snapshot, body)
        else:
            if latest and n:  # a new latest minute: the previous one is packed
                self._repack(n - 1)
            columns.insert(i, snapshot, body)
        if snapshot.currency:
            self.currency = snapshot.currency

    def _body(self, snapshot: KpiSnapshot) -> Body:
        """A non-latest minute's body: packed when final (else it is loose until then)."""
        start = snapshot.window_start_ms
        if not self.packing:
            return snapshot
        if not snapshot.final:
            self.loose.add(start)
            return snapshot
        self.loose.discard(start)
        packed = pack(snapshot)
        return snapshot if packed is None else packed

    def _repack(self, i: int) -> None:
        body = self.columns.bodies[i]
        if isinstance(body, KpiSnapshot):
            self.columns.bodies[i] = self._body(body)

    def pack_loose(self, before_ms: int) -> int:
        """Pack the minutes left unpacked (never finalised) that start before ``before_ms``;
        return how many."""
        done = 0
        for start in sorted(s for s in self.loose if s < before_ms):
            self.loose.discard(start)
            i = self._index(start)
            if i is None or i == len(self.columns.starts) - 1:
                continue
            body = self.columns.bodies[i]
            if isinstance(body, KpiSnapshot):
                packed = pack(body)
                if packed is not None:
                    self.columns.bodies[i] = packed
                    done += 1
        return done

    def between(self, start_ms: int, end_ms: int) -> MinuteRun:
        """The minutes with ``start_ms <= window_start < end_ms``, oldest first (a copy)."""
        starts = self.columns.starts
        lo = bisect.bisect_left(starts, start_ms)
        hi = bisect.bisect_left(starts, end_ms, lo)
        return MinuteRun(
            self.columns.slice(lo, hi), self.store_id, self.cold_before_ms, self._latest_ms()
        )

    def evict_before(self, cutoff_ms: int) -> int:
        """Drop the minutes starting before ``cutoff_ms``; return how many."""
        n = bisect.bisect_left(self.columns.starts, cutoff_ms)
        if n:
            self.loose = {s for s in self.loose if s >= cutoff_ms}
            self.columns.drop_first(n)
        return n

    def copy_between(self, spans: Iterable[tuple[int, int]]) -> StoreMinutes:
        """A copy holding the minutes in the sorted, disjoint ``spans`` and the latest."""
        columns = Columns()
        starts = self.columns.starts
        n = len(starts)
        for start_ms, end_ms in spans:
            lo = bisect.bisect_left(starts, start_ms)
            columns.extend(self.columns.slice(lo, bisect.bisect_left(starts, end_ms, lo)))
        if n and (not columns.starts or columns.starts[-1] != starts[-1]):
            columns.extend(self.columns.slice(n - 1, n))
        return StoreMinutes(
            self.store_id, columns, self.currency, self.cold_before_ms, packing=self.packing
        )

    def latest(self) -> KpiSnapshot | None:
        """The most recent minute (held as it came)."""
        n = len(self.columns.starts)
        return self.columns.snapshot(n - 1, self.store_id, 0, -1) if n else None


def supersedes(new: KpiSnapshot, old: Revised | None) -> bool:
    """Whether ``new`` should replace ``old`` (a snapshot, or :class:`Held`) for the same
    (store, window).

    The highest revision wins; at the same revision a final snapshot wins over a
    provisional one; anything else (a duplicate, an older revision) is ignored.
    """
    if old is None or new.revision > old.revision:
        return True
    return new.revision == old.revision and new.final and not old.final


__all__ = ["Columns", "Held", "MinuteRun", "StoreMinutes", "supersedes"]
