"""The worker's per-event hot path in one process, without Kafka: microseconds per event.

``python -m cli.bench_hot_path [--events N] [--profile]`` makes the traffic of
``shoppulse bench`` (the same simulator, stores, seed and rate), encodes it as Kafka would
deliver it (JSON values, store-id keys, 4 partitions per topic, batches of a fetch's size) and
feeds it to a :class:`~streams.processor.MinuteProcessor` with in-memory state and publisher
(what the unit tests use), with read progress on as in the worker.

It prints one JSON line: events, CPU seconds and microseconds per event (the fastest of
``--repeat`` runs), and the decode step alone (``decode_us_per_event``). With ``--profile``,
also the microseconds per event of each phase (cProfile's shares of a further run, applied
to the fastest unprofiled time; ``--verbose`` prints the top functions too).

It measures the Python work per event that a real worker does on top of the consume and
decode ``shoppulse bench`` reports as the limit; CPU time, so a loaded machine disturbs it
less than the wall clock (compare before and after in one session all the same).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import time
import zlib
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from shoppulse import topics
from shoppulse.events import decode_event
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot
from simulator.simulation import Simulator
from streams.memory_state import MemoryState
from streams.metrics import WorkerMetrics
from streams.processor import MinuteProcessor, RawRecord

#: As ``shoppulse bench``: the traffic starts this long before the worker's clock.
_PAST_MS = 3 * 3600 * 1000
#: A fixed minute boundary as the traffic's start, so every run sees the same minutes.
_START_MS = 1_700_000_040_000
_PARTITIONS = 4
_BATCH = 2_000


class _Publisher:
    def __init__(self) -> None:
        self.snapshots = 0
        self.dead = 0

    async def publish_snapshot(self, snapshot: KpiSnapshot) -> None:
        self.snapshots += 1

    async def publish_dead_letter(self, key: bytes | None, record: bytes) -> None:
        self.dead += 1


def make_records(events: int, stores: int, seed: int, start_ms: int) -> list[RawRecord]:
    """The simulator's events as source records: per topic-partition offsets, in the order
    the producer sent them (a fetch interleaves partitions; this keeps the produce order)."""
    sim = Simulator(stores=stores, seed=seed, start_ms=start_ms, events_per_s=500.0)
    offsets: dict[tuple[str, int], int] = {}
    out = []
    for ev in sim.take(events):
        key = ev.key.encode()
        tp = (ev.topic_family, zlib.crc32(key) % _PARTITIONS)
        offset = offsets.get(tp, 0)
        offsets[tp] = offset + 1
        out.append(RawRecord(tp[0], tp[1], offset, key, orjson.dumps(ev.value), ev.ts_ms))
    return out


def make_processor(clock: list[int]) -> tuple[MinuteProcessor, MemoryState, _Publisher]:
    state, publisher = MemoryState(), _Publisher()
    families: dict[str, str] = {t: t for t in topics.SOURCE_TOPICS}
    proc = MinuteProcessor(
        Settings(),
        families=families,
        state=state,
        publisher=publisher,
        metrics=WorkerMetrics.create(CollectorRegistry()),
        clock_ms=lambda: clock[0],
    )
    starts: dict[tuple[str, int], int] = {(t, p): 0 for t in families for p in range(_PARTITIONS)}
    proc.restore(set(range(_PARTITIONS)), starts=starts, highs={})
    return proc, state, publisher


async def _run(proc: MinuteProcessor, records: list[RawRecord], clock: list[int]) -> None:
    for i in range(0, len(records), _BATCH):
        clock[0] += 10  # a fetch every 10 ms of the worker's clock
        await proc.process(records[i : i + _BATCH])
    await proc.tick()


def measure(records: list[RawRecord], start_ms: int, profile: bool) -> dict[str, Any]:
    clock = [start_ms + _PAST_MS]
    proc, state, publisher = make_processor(clock)
    profiler = cProfile.Profile() if profile else None
    t0 = time.process_time()
    if profiler is not None:
        profiler.enable()
    asyncio.run(_run(proc, records, clock))
    if profiler is not None:
        profiler.disable()
    seconds = time.process_time() - t0
    out: dict[str, Any] = {
        "events": len(records),
        "seconds": round(seconds, 3),
        "us_per_event": round(seconds / len(records) * 1e6, 2),
        "snapshots": publisher.snapshots,
        "dead_letters": publisher.dead,
        "state_writes": len(state.writes),
    }
    if profiler is not None:
        out["phases_share"] = phase_shares(profiler, seconds)
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)
        out["profile"] = text.getvalue()
    return out


#: The phases of the per-event path, as (module file, function) of the call that does each.
PHASES: dict[str, tuple[str, str]] = {
    "decode": ("shoppulse/events.py", "decode_event"),
    "progress_admit": ("shoppulse/read_progress.py", "admit"),
    "progress_record": ("shoppulse/read_progress.py", "record"),
    "ingest": ("shoppulse/minute_book.py", "ingest"),
    "ingest.minute_add": ("shoppulse/minute_book.py", "add"),
    "ingest.memory_observe": ("shoppulse/store_memory.py", "observe"),
    "ingest.add_effects": ("shoppulse/minute_book.py", "add_effects"),
    "close_due": ("streams/processor.py", "close_due"),
    "persist": ("streams/processor.py", "persist"),
    "process": ("streams/processor.py", "process"),
}


def phase_shares(profiler: cProfile.Profile, seconds: float) -> dict[str, float]:
    """Each phase's share of the profiled time (cumulative; ``process`` is the whole batch
    loop, its remainder the loop's own work)."""
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values()) or 1.0  # own times: the whole profile
    out: dict[str, float] = {}
    for phase, (path, name) in PHASES.items():
        ct = sum(
            v[3] for (file, _, func), v in stats.items() if func == name and file.endswith(path)
        )
        out[phase] = round(ct / total, 4)
    return out


def measure_decode(records: list[RawRecord]) -> float:
    """Microseconds per event of :func:`decode_event` alone, over the same records."""
    t0 = time.process_time()
    for rec in records:
        decode_event(rec.topic, rec.value)
    return (time.process_time() - t0) / len(records) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--stores", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the fastest is reported")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--verbose", action="store_true", help="with --profile: the top lists")
    args = parser.parse_args()
    records = make_records(args.events, args.stores, args.seed, _START_MS)
    decode_us = min(measure_decode(records) for _ in range(args.repeat))
    runs = [measure(records, _START_MS, profile=False) for _ in range(args.repeat)]
    result = min(runs, key=lambda r: float(r["us_per_event"]))
    result["decode_us_per_event"] = round(decode_us, 2)
    profile = ""
    if args.profile:
        profiled = measure(records, _START_MS, profile=True)
        profile = profiled["profile"]
        # The profiler's shares, applied to the unprofiled time: microseconds per event.
        result["us_per_event_by_phase"] = {
            phase: round(share * float(result["us_per_event"]), 2)
            for phase, share in profiled["phases_share"].items()
        }
    print(json.dumps(result), flush=True)
    if profile and args.verbose:
        print(profile)


if __name__ == "__main__":
    main()
