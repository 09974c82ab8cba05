"""``shoppulse bench --api-memory``: the API view's bytes per store-week, before and after.

1. Real worker minutes: the seeded simulator's events for ``source_stores`` stores and
   ``source_minutes`` minutes from ``source_hour`` (UTC), through the worker's own processor
   (:class:`streams.processor.MinuteProcessor`, in process, no broker); its final snapshots.
2. History cloned from them: ``stores`` stores (each a copy of a source store) with every
   minute the view keeps at 23:59 UTC (8 days and an hour), cycling through the source
   minutes; each clone goes through JSON and :func:`api.feed.decode_snapshot` as the feed's
   records do, so every minute holds its own objects.
3. The same stream applied to three holders, each measured with ``tracemalloc`` (bytes still
   allocated once it is built): the layout before packing (:class:`LegacyMinutes`, the
   view's minutes as they were held up to commit 4879dcb: snapshots as decoded, those older
   than yesterday with compact components and no KPIs), a :class:`~api.view.KpiView` with
   ``pack_minutes=False`` (every minute as it came) and the packed view (the default).
   Bytes per minute are split by part (:func:`legacy_parts`, :func:`packed_parts`).
4. The first ``GET /api/v1/kpis?store=all&window=today`` (with its yesterday and last-week
   comparisons, an empty rollup cache) on the unpacked and the packed view, in CPU seconds of
   this process (steadier than wall time on a loaded machine) and wall seconds, and a few
   answers of both compared byte for byte (``answers_identical``); and the CPU time to decode
   and apply one store-day of records to either view (``apply_cpu_us_per_minute``).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import dataclasses
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final

import orjson
from prometheus_client import CollectorRegistry

from api.clock import DAY_MS
from api.feed import decode_snapshot
from api.minute_pack import canonical_registers, encode_registers
from api.reads import with_comparisons
from api.rollup_cache import CachedRollups
from api.routers.kpis import kpis_body
from api.store_minutes import supersedes
from api.view import MAX_HISTORY_MINUTES, KpiView
from bench.compact_counts import CompactCounts
from shoppulse import topics
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot
from shoppulse.timeutil import format_ts_ms
from simulator.simulation import Simulator
from streams.memory_state import MemoryState
from streams.metrics import WorkerMetrics
from streams.processor import MinuteProcessor, RawRecord

MINUTE_MS: Final = 60_000
WEEK_MINUTES: Final = 7 * 24 * 60
_NOW_IN_DAY_MS: Final = DAY_MS - 30_000  # 23:59:30 UTC: today holds 1,440 minutes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-memory",
        action="store_true",
        help="instead: the API view's bytes per store-week (no broker; see cli.bench_api_memory)",
    )
    parser.add_argument(
        "--days", type=float, default=8.0, help="--api-memory: days of history held (at most 8)"
    )
    parser.add_argument(
        "--source-stores", type=int, default=3, help="--api-memory: stores simulated"
    )
    parser.add_argument(
        "--source-minutes", type=int, default=30, help="--api-memory: minutes simulated"
    )
    parser.add_argument(
        "--source-hour",
        type=int,
        default=12,
        help="--api-memory: UTC hour the minutes start; -1: that many minutes from every hour "
        "(each cloned minute copies one of its own hour: a diurnal week)",
    )


# -- real worker minutes -------------------------------------------------------------------


class _Finals:
    def __init__(self) -> None:
        self.snapshots: list[KpiSnapshot] = []

    async def publish_snapshot(self, snapshot: KpiSnapshot) -> None:
        if snapshot.final:
            self.snapshots.append(snapshot)

    async def publish_dead_letter(self, key: bytes | None, record: bytes) -> None:
        """Dead letters are not wanted here."""


async def _run_worker(stores: int, minutes: int, seed: int, start_ms: int) -> list[KpiSnapshot]:
    sim = Simulator(stores=stores, seed=seed, start_ms=start_ms)
    clock = [start_ms]
    finals = _Finals()
    processor = MinuteProcessor(
        Settings(),
        families={t: t for t in topics.SOURCE_TOPICS},
        state=MemoryState(),
        publisher=finals,
        metrics=WorkerMetrics.create(CollectorRegistry()),
        clock_ms=lambda: clock[0],
    )
    end_ms = start_ms + minutes * MINUTE_MS
    batch: list[RawRecord] = []
    for offset, event in enumerate(sim.events()):
        if event.ts_ms >= end_ms:
            break
        clock[0] = event.ts_ms + 100
        raw = orjson.dumps(event.value)
        batch.append(RawRecord(event.topic_family, 0, offset, event.key.encode(), raw, None))
        if len(batch) >= 500:
            await processor.process(batch)
            await processor.tick()
            batch = []
    await processor.process(batch)
    clock[0] = end_ms + 10 * MINUTE_MS
    await processor.tick()
    return finals.snapshots


def worker_minutes(
    stores: int, minutes: int, *, seed: int = 7, hour: int = 12
) -> dict[str, list[bytes]]:
    """The final snapshots (JSON) the worker publishes for simulated traffic, by store."""
    day = 1_700_000_000_000 - 1_700_000_000_000 % DAY_MS
    snaps = asyncio.run(_run_worker(stores, minutes, seed, day + hour * 3_600_000))
    out: dict[str, list[bytes]] = {}
    for snap in sorted(snaps, key=lambda s: (s.store_id, s.window_start_ms)):
        out.setdefault(snap.store_id, []).append(snap.to_json())
    return out


Sources = Mapping[str, list[bytes]]
"""Final snapshots (JSON) by store, oldest first."""


ANY_HOUR: Final = -1
"""The key of :func:`clone_history`'s sources for the minutes of every hour not given."""


def clone_history(
    sources: Mapping[int, Sources], *, stores: int, first_ms: int, end_ms: int
) -> Iterator[bytes]:
    """``stores`` stores' minutes in ``[first_ms, end_ms)``, oldest first, as JSON records.

    ``sources`` holds source minutes by UTC hour (or :data:`ANY_HOUR`): a minute copies one
    of its hour's, store ``i`` source store ``i mod len(...)``, cycling through its minutes.
    """
    by_hour = {hour: list(by_store.values()) for hour, by_store in sources.items()}
    for minute, start in enumerate(range(first_ms, end_ms, MINUTE_MS)):
        hour = start // 3_600_000 % 24
        source_lists = by_hour.get(hour) or by_hour[ANY_HOUR]
        for i in range(stores):
            source = source_lists[i % len(source_lists)]
            data = orjson.loads(source[minute % len(source)])
            lag = data["emitted_at_ms"] - data["window_end_ms"]
            data["store_id"] = f"store-{i:03d}"
            data["window_start_ms"], data["window_end_ms"] = start, start + MINUTE_MS
            data["window_start"], data["window_end"] = (
                format_ts_ms(start),
                format_ts_ms(start + MINUTE_MS),
            )
            data["emitted_at_ms"] = start + MINUTE_MS + lag
            yield orjson.dumps(data)


# -- the layout before packing -------------------------------------------------------------

_NO_KPIS: Final[Mapping[str, float | None]] = MappingProxyType({})


def _legacy_slim(snapshot: KpiSnapshot) -> KpiSnapshot:
    if not snapshot.kpis and isinstance(snapshot.components, CompactCounts):
        return snapshot
    slimmed = dataclasses.replace(snapshot)
    object.__setattr__(slimmed, "kpis", _NO_KPIS)
    object.__setattr__(slimmed, "components", CompactCounts.of(snapshot.components))
    return slimmed


@dataclasses.dataclass(slots=True)
class LegacyMinutes:
    """One store's minutes as the view held them up to commit 4879dcb (``by_start`` and
    sorted ``starts``; minutes before ``hot_from_ms`` slimmed, but the latest)."""

    by_start: dict[int, KpiSnapshot] = dataclasses.field(default_factory=dict)
    starts: list[int] = dataclasses.field(default_factory=list)

    def put(self, snapshot: KpiSnapshot, hot_from_ms: int) -> None:
        start = snapshot.window_start_ms
        previous = self.starts[-1] if self.starts else None
        is_new = start not in self.by_start
        latest = start if previous is None or start > previous else previous
        self.by_start[start] = (
            _legacy_slim(snapshot) if start < hot_from_ms and start != latest else snapshot
        )
        if is_new:
            if start == latest:
                self.starts.append(start)
            else:
                bisect.insort(self.starts, start)
        if previous is not None and latest != previous < hot_from_ms:
            self.by_start[previous] = _legacy_slim(self.by_start[previous])


def legacy_hold(records: Iterable[bytes], hot_from_ms: int) -> dict[str, LegacyMinutes]:
    """The records held in the layout before packing."""
    stores: dict[str, LegacyMinutes] = {}
    for raw in records:
        snap = decode_snapshot(raw)
        store = stores.setdefault(snap.store_id, LegacyMinutes())
        if supersedes(snap, store.by_start.get(snap.window_start_ms)):
            store.put(snap, hot_from_ms)
    return stores


# -- measuring -----------------------------------------------------------------------------


def traced_bytes(build: Callable[[], Any]) -> tuple[Any, int]:
    """What ``build`` returns, and the bytes it holds allocated (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        built = build()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return built, held


class _Sizer:
    """Deep sizes with each object counted once (shared keys and strings the first time)."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def size(self, obj: object) -> int:
        if id(obj) in self.seen or obj is None or isinstance(obj, bool):
            return 0
        self.seen.add(id(obj))
        total = sys.getsizeof(obj)
        if isinstance(obj, Mapping):
            if isinstance(obj, CompactCounts):
                return total + self.size(obj._values) + self.size(obj._index)
            if isinstance(obj, MappingProxyType):
                return total
            return total + sum(self.size(k) + self.size(v) for k, v in obj.items())
        if isinstance(obj, list | tuple | set):
            return total + sum(self.size(x) for x in obj)
        return total


def legacy_parts(stores: Mapping[str, LegacyMinutes]) -> dict[str, int]:
    """Bytes of the layout before packing, by part, summed over every minute."""
    sizer = _Sizer()
    parts = dict.fromkeys(("snapshot", "components", "kpis", "sketches", "agents", "index"), 0)
    for store in stores.values():
        for start, snap in store.by_start.items():
            parts["snapshot"] += sizer.size(snap) + sizer.size(snap.window_end_ms)
            parts["snapshot"] += sizer.size(snap.emitted_at_ms) + sizer.size(snap.revision)
            parts["components"] += sizer.size(snap.components)
            parts["kpis"] += sizer.size(snap.kpis)
            parts["sketches"] += sizer.size(snap.sketches)
            parts["agents"] += sizer.size(snap.agents)
            parts["index"] += sizer.size(start)
        parts["index"] += sys.getsizeof(store.by_start) + sys.getsizeof(store.starts)
    return parts


def packed_parts(view: KpiView) -> dict[str, int]:
    """Bytes of the packed view, by part, summed over every minute; ``sketches`` and
    ``header`` split each packed body's bytes in the ratio of their own deflated sizes (one
    minute in fifty, measured apart)."""
    import zlib

    parts = dict.fromkeys(("columns", "body_objects", "header", "sketches", "unpacked"), 0)
    sizer = _Sizer()
    sketch_bytes = header_bytes = 0
    for store_id in view.stores():
        store = view.minute_index(store_id)
        assert store is not None
        cols = store.columns
        for column in (cols.starts, cols.ends, cols.revisions, cols.emitted, cols.finals):
            parts["columns"] += sys.getsizeof(column)
        parts["columns"] += sys.getsizeof(cols.currencies) + sys.getsizeof(cols.bodies)
        for i, body in enumerate(cols.bodies):
            if isinstance(body, KpiSnapshot):
                parts["unpacked"] += sum(
                    sizer.size(x)
                    for x in (body, body.components, body.kpis, body.sketches, body.agents)
                )
                continue
            parts["body_objects"] += sys.getsizeof(body) - len(body)
            if i % 50 == 0:
                snap = cols.snapshot(i, store_id, 0, -1)
                streams = b"".join(
                    b"".join(encode_registers(r[1])[1:])
                    for r in (canonical_registers(t) for t in snap.sketches.values())
                    if r is not None
                )
                sketch_bytes += len(zlib.compress(streams, 6))
                header = orjson.dumps([list(snap.components.values()), dict(snap.agents)])
                header_bytes += len(zlib.compress(header, 6))
            parts["header"] += len(body)
    payload = parts["header"]
    share = sketch_bytes / (sketch_bytes + header_bytes) if sketch_bytes + header_bytes else 0.0
    parts["sketches"] = round(payload * share)
    parts["header"] = payload - parts["sketches"]
    return parts


def _first_today(view: KpiView) -> tuple[float, float, bytes]:
    """CPU and wall seconds of the first ``store=all&window=today`` answer (an empty rollup
    cache), and the answer."""
    cpu, wall = time.process_time(), time.perf_counter()
    spans = with_comparisons(*view.rollup_bounds("all", "today"))
    frozen = view.frozen(spans, rollups=CachedRollups(view.window_ms))
    body = kpis_body(frozen, "all", "today")
    return time.process_time() - cpu, time.perf_counter() - wall, orjson.dumps(body)


def _apply_cpu_us(records: list[bytes], now_ms: int, pack: bool) -> float:
    """CPU microseconds per record to decode and apply ``records`` (no tracing)."""
    view = KpiView(clock=lambda: now_ms, pack_minutes=pack)
    started = time.process_time()
    for raw in records:
        view.apply(decode_snapshot(raw))
    return (time.process_time() - started) / len(records) * 1e6


def _answers(view: KpiView, now_ms: int) -> list[bytes]:
    """A few answers to compare between layouts (every window, all and one store; history)."""
    out = []
    for store in ("all", view.stores()[0]):
        for window in ("1m", "5m", "1h"):
            frozen = view.frozen([(0, now_ms + MINUTE_MS)], rollups=CachedRollups(MINUTE_MS))
            out.append(orjson.dumps(kpis_body(frozen, store, window)))
        week_ago = now_ms - 7 * DAY_MS
        points = view.history(store, week_ago - 10 * MINUTE_MS, week_ago)
        out.append(orjson.dumps([p.to_dict() for p in points]))
        minutes = view.minutes(store if store != "all" else view.stores()[0], week_ago, now_ms)
        out.append(orjson.dumps([s.to_dict() for s in minutes[-3:]]))
    return out


def measure_api_memory(
    *, stores: int, days: float, source_stores: int, source_minutes: int, hour: int, seed: int
) -> dict[str, Any]:
    """The figures of one run; see the module docstring."""
    t0 = time.perf_counter()
    hours = range(24) if hour < 0 else [hour]
    sources: dict[int, Sources] = {
        h if hour < 0 else ANY_HOUR: worker_minutes(
            source_stores, source_minutes, seed=seed, hour=h
        )
        for h in hours
    }
    source_json = [r for by_store in sources.values() for v in by_store.values() for r in v]
    source_s = time.perf_counter() - t0
    day = 1_700_000_000_000 - 1_700_000_000_000 % DAY_MS
    now_ms = day + _NOW_IN_DAY_MS
    view_end = now_ms - now_ms % MINUTE_MS + MINUTE_MS
    held_minutes = min(MAX_HISTORY_MINUTES, int(days * 24 * 60))
    first_ms = view_end - held_minutes * MINUTE_MS

    def records() -> Iterator[bytes]:
        return clone_history(sources, stores=stores, first_ms=first_ms, end_ms=view_end)

    def build_view(pack: bool) -> KpiView:
        view = KpiView(clock=lambda: now_ms, pack_minutes=pack)
        for raw in records():
            view.apply(decode_snapshot(raw))
        return view

    legacy, legacy_bytes = traced_bytes(lambda: legacy_hold(records(), day - DAY_MS))
    legacy_by_part = legacy_parts(legacy)
    del legacy
    unpacked, unpacked_bytes = traced_bytes(lambda: build_view(False))
    packed, packed_bytes = traced_bytes(lambda: build_view(True))
    minutes = sum(packed.minute_count(s) for s in packed.stores())
    unpacked_cpu, unpacked_s, unpacked_today = _first_today(unpacked)
    packed_cpu, packed_s, packed_today = _first_today(packed)
    sample = list(clone_history(sources, stores=1, first_ms=view_end - DAY_MS, end_ms=view_end))
    apply_unpacked = _apply_cpu_us(sample, now_ms, pack=False)
    apply_packed = _apply_cpu_us(sample, now_ms, pack=True)
    identical = unpacked_today == packed_today and _answers(unpacked, now_ms) == _answers(
        packed, now_ms
    )

    def per_minute(parts: Mapping[str, int]) -> dict[str, float]:
        return {name: round(b / minutes, 1) for name, b in parts.items()}

    def layout(total: int) -> dict[str, Any]:
        return {
            "bytes": total,
            "bytes_per_minute": round(total / minutes, 1),
            "mb_per_store_week": round(total / minutes * WEEK_MINUTES / 1e6, 2),
        }

    return {
        "stores": stores,
        "minutes_held": minutes,
        "source": {
            "stores": source_stores,
            "minutes": len(source_json),
            "utc_hour": hour if hour >= 0 else "every",
            "mean_json_bytes": round(sum(map(len, source_json)) / max(1, len(source_json)), 1),
            "seconds": round(source_s, 1),
        },
        "before": {**layout(legacy_bytes), "parts_per_minute": per_minute(legacy_by_part)},
        "unpacked": layout(unpacked_bytes),
        "after": {**layout(packed_bytes), "parts_per_minute": per_minute(packed_parts(packed))},
        "ratio_before_to_after": round(legacy_bytes / packed_bytes, 2),
        "apply_cpu_us_per_minute": {
            "unpacked": round(apply_unpacked, 1),
            "packed": round(apply_packed, 1),
            "ratio_packed_to_unpacked": round(apply_packed / apply_unpacked, 2),
        },
        "first_today_all": {
            "cpu_s_unpacked": round(unpacked_cpu, 3),
            "cpu_s_packed": round(packed_cpu, 3),
            "cpu_ratio_packed_to_unpacked": round(packed_cpu / unpacked_cpu, 3),
            "wall_s_unpacked": round(unpacked_s, 3),
            "wall_s_packed": round(packed_s, 3),
        },
        "answers_identical": identical,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """``shoppulse bench --api-memory``."""
    return measure_api_memory(
        stores=args.stores,
        days=args.days,
        source_stores=args.source_stores,
        source_minutes=args.source_minutes,
        hour=args.source_hour,
        seed=args.seed,
    )


__all__ = [
    "ANY_HOUR",
    "LegacyMinutes",
    "add_arguments",
    "clone_history",
    "legacy_hold",
    "measure_api_memory",
    "run",
    "traced_bytes",
    "worker_minutes",
]
