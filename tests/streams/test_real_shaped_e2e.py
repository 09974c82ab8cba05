"""Real-shaped traffic end to end: the real broker and worker against independent ground truth.

Real shops broke promises steady simulated traffic never tested: a tiny store with no
clickstream, a store silent every night, a campaign burst, a producer sending events out
of event-time order, a busy store back after days of silence. One history-mode run of
``shoppulse simulate`` (event times in the past, as fast as possible) mixes them all; the
worker must close every store-minute that has events exactly once, equal to
``tests/groundtruth.py``, and dead-letter nothing.

As fast as possible, the worker's batches span far more event time than the grace, so
disorder is absorbed inside a batch and never meets a minute's close (a worker with a
0.5 s grace passes that run too). A second run paces dense out-of-order history at 10x,
so 2 s of disorder spans many batches and events keep arriving for a minute after their
store's next minute has begun while it closes: none may be late. (Closing also waits for
every input topic of the partition to pass the minute's end plus grace, which absorbs
much of the disorder too; a worker with a 0.5 s grace is not reliably caught.)
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from cli import simulate
from cli.processes import Child
from kafka_io.config import kafka_python_config
from shoppulse import topics
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot
from simulator.simulation import DAY_MS, HOUR_MS, MINUTE_MS, Simulator
from simulator.store_profiles import StoreShape, TrafficProfile
from tests.conftest import WorkerFactory
from tests.groundtruth import GroundTruth, ground_truth, parse_ts_ms, read_jsonl
from tests.kafka_helpers import collect_snapshots

pytestmark = pytest.mark.integration

T = TypeVar("T")

START_MS = 1_699_992_000_000  # 2023-11-14T20:00:00Z: two nights and a 2-day gap follow
SPAN_MS = 50 * HOUR_MS
STORES = 5
SEED = 21
GAP_START_MS, GAP_LENGTH_MS = START_MS + HOUR_MS, 2 * DAY_MS
PROFILES = (
    "steady:store-001:rate=1",  # the busiest store ...
    "gap:store-001:start=+1h,length=2d",  # ... silent for two days, then back
    "tiny:store-002",  # orders only, one about every 4 minutes, a chat now and then
    "night_silent:store-003:rate=0.02",  # nothing 23:00-07:00 (UTC+0)
    "burst:store-004:rate=0.01,every=8h",  # 10x for 15 minutes, once in every 8 hours
    "steady:store-005:rate=0.01",
    "out_of_order",  # every store: sent up to the worker's grace (2 s) late
)
FINALS_TIMEOUT_S = 90.0
READ_TIMEOUT_S = 30.0


def _simulate_args(jsonl: Path, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    simulate.add_arguments(parser)
    return parser.parse_args(["--jsonl", str(jsonl), "--no-progress", *argv])


def _history_args(jsonl: Path) -> argparse.Namespace:
    argv = ["--stores", str(STORES), "--seed", str(SEED), "--start", str(START_MS)]
    argv += ["--span", f"{SPAN_MS}ms"]
    for spec in PROFILES:
        argv += ["--profile", spec]
    return _simulate_args(jsonl, *argv)


def _read_to_end(settings: Settings, logical: str, decode: Callable[[bytes], T]) -> list[T]:
    """Every record of a topic up to its current end (bounded in time)."""
    topic = settings.topic(logical)
    reader = KafkaConsumer(**kafka_python_config(settings), enable_auto_commit=False, group_id=None)
    deadline = time.monotonic() + READ_TIMEOUT_S
    try:
        partitions = reader.partitions_for_topic(topic)
        while not partitions and time.monotonic() < deadline:
            time.sleep(0.2)
            partitions = reader.partitions_for_topic(topic)
        assert partitions, f"no partitions for {topic}"
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        reader.assign(tps)
        reader.seek_to_beginning()
        ends = reader.end_offsets(tps)
        out: list[T] = []
        while any(reader.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, f"{topic} not read to its end in time"
            for batch in reader.poll(timeout_ms=500).values():
                out.extend(decode(r.value) for r in batch)
        return out
    finally:
        reader.close()


def _shapes() -> dict[str, StoreShape]:
    """The stores' shapes as the run's simulator has them (building one makes no events)."""
    profiles = [TrafficProfile.parse(spec, origin_ms=START_MS) for spec in PROFILES]
    return Simulator(STORES, SEED, START_MS, profiles=profiles).shapes


def _assert_the_load_is_real_shaped(records: list[dict[str, Any]], grace_ms: int) -> None:
    """The traffic really has the shapes this test is about (else it proves nothing)."""
    times = [parse_ts_ms(r["value"]["ts"]) for r in records]
    by_store: dict[str, list[tuple[str, int]]] = {}
    for record, ts in zip(records, times, strict=True):
        assert ts is not None
        assert START_MS <= ts < START_MS + SPAN_MS
        by_store.setdefault(record["key"], []).append((record["topic"], ts))
    assert sorted(by_store) == [f"store-{i:03d}" for i in range(1, STORES + 1)]
    # store-001: busy, silent through the 2-day gap, then back.
    busy = [ts for _, ts in by_store["store-001"]]
    assert not [t for t in busy if GAP_START_MS <= t < GAP_START_MS + GAP_LENGTH_MS]
    assert sum(t >= GAP_START_MS + GAP_LENGTH_MS for t in busy) > 1000
    assert sum(t < GAP_START_MS for t in busy) > 1000
    # store-002: tiny, no clickstream, no inventory.
    assert {family for family, _ in by_store["store-002"]} == {topics.ORDERS, topics.CHATS}
    # store-003: silent 23:00-07:00 UTC, both nights.
    hours = Counter(ts % DAY_MS // HOUR_MS for _, ts in by_store["store-003"])
    assert not [h for h in hours if h >= 23 or h < 7]
    assert hours[22] > 0
    assert hours[7] > 0
    # store-004: bursts inside the span.
    shape = _shapes()["store-004"]
    windows = shape.burst_windows(START_MS, START_MS + SPAN_MS)
    assert len(windows) >= 6
    in_burst = sum(any(s <= t < e for s, e, _ in windows) for _, t in by_store["store-004"])
    # 6 x 15 min of 50 h is 3% of the time; at 10x traffic they hold several times that.
    assert in_burst > 0.09 * len(by_store["store-004"])
    # Out of order within one store, never by more than the grace.
    newest: dict[str, int] = {}
    inversions = 0
    for record, ts in zip(records, times, strict=True):
        assert ts is not None
        store = record["key"]
        assert ts >= newest.get(store, ts) - grace_ms, f"{record} is later than the grace"
        inversions += ts < newest.get(store, ts)
        newest[store] = max(newest.get(store, ts), ts)
    assert inversions > 100


def _sent_past_their_minute(records: list[dict[str, Any]], margin_ms: int) -> int:
    """Events sent after an event of their store at or past their minute's end + margin_ms:
    the ones a grace of margin_ms would make late."""
    newest: dict[str, int] = {}
    n = 0
    for record in records:
        ts = parse_ts_ms(record["value"]["ts"])
        assert ts is not None
        store = record["key"]
        n += newest.get(store, ts) >= ts - ts % MINUTE_MS + MINUTE_MS + margin_ms
        newest[store] = max(newest.get(store, ts), ts)
    return n


def _differences(final: KpiSnapshot, expected: dict[str, int]) -> dict[str, tuple[Any, int]]:
    return {
        name: (final.components.get(name), value)
        for name, value in expected.items()
        if final.components.get(name) != value
    }


def _assert_exact(snaps: list[KpiSnapshot], truth: GroundTruth, produced: int) -> None:
    finals: dict[tuple[str, int], list[KpiSnapshot]] = {}
    for s in snaps:
        if s.final:
            finals.setdefault((s.store_id, s.window_start_ms), []).append(s)
    missing = sorted(set(truth.minutes) - set(finals))
    assert not missing, f"{len(missing)} minutes never closed, e.g. {missing[:5]}"
    extra = sorted(set(finals) - set(truth.minutes))
    assert not extra, f"{len(extra)} minutes without events closed, e.g. {extra[:5]}"
    twice = sorted(key for key, f in finals.items() if len(f) != 1)
    assert not twice, f"{len(twice)} minutes closed more than once, e.g. {twice[:5]}"
    wrong = {
        key: diff
        for key, expected in truth.minutes.items()
        if (diff := _differences(finals[key][0], expected))
    }
    assert not wrong, f"{len(wrong)} closed minutes differ from ground truth, e.g. " + str(
        dict(sorted(wrong.items())[:3])
    )
    for key, (final,) in finals.items():
        assert final.agents == truth.agents.get(key, {}), f"agents of minute {key} differ"
        revisions = [s.revision for s in snaps if (s.store_id, s.window_start_ms) == key]
        assert final.revision == max(revisions), f"minute {key} revised after its final"
    assert sum(f.components["events"] for (f,) in finals.values()) == produced


def _assert_pipeline_equals_truth(
    settings: Settings, worker: Child, records: list[dict[str, Any]], truth: GroundTruth
) -> None:
    """Every minute with events closed once, equal to ground truth; nothing dead-lettered."""
    try:
        collect_snapshots(settings, truth.minutes, FINALS_TIMEOUT_S)
        assert worker.alive(), "the worker died"
        time.sleep(1.0)  # dead letters are published while processing, before later finals
        snaps = _read_to_end(settings, topics.KPIS, KpiSnapshot.from_json)
        dead = _read_to_end(settings, topics.DEADLETTER, orjson.loads)
        reasons = Counter(d.get("reason") for d in dead)
        assert not dead, f"{len(dead)} events dead-lettered: {dict(reasons)}; first: {dead[0]}"
        _assert_exact(snaps, truth, len(records))
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}\n--- worker log ({worker.log_path}), last lines ---\n{worker.tail(40)}"
        ) from None


def test_real_shaped_traffic_closes_every_minute_once_exactly_and_dead_letters_nothing(
    settings: Settings, start_worker: WorkerFactory, tmp_path: Path
) -> None:
    worker = start_worker()
    jsonl = tmp_path / "events.jsonl"
    assert simulate.run(_history_args(jsonl), settings) == 0
    records = read_jsonl(jsonl)
    assert 15_000 < len(records) < 35_000  # modest: the run stays well under two minutes
    _assert_the_load_is_real_shaped(records, settings.grace_ms)
    truth = ground_truth(records)  # in the produced (send) order
    assert (truth.invalid, truth.duplicates) == (0, 0)
    back = min(k for k in truth.minutes if k[0] == "store-001" and k[1] >= GAP_START_MS)
    assert truth.minutes[back]["sessions_ended"] > 300  # its first click ends every session
    _assert_pipeline_equals_truth(settings, worker, records, truth)


def test_out_of_order_up_to_the_grace_paced_across_minute_ends_is_never_late(
    settings: Settings, start_worker: WorkerFactory, tmp_path: Path
) -> None:
    """Dense stores, every event sent up to the grace (2 s) late, history paced at 10x over
    two minute ends: over a hundred events are sent after their store's events from the
    next minute, and none may be late. Only dense stores: paced history is past its
    minutes' end by the wall clock, so a store silent for idle_close_s mid-minute would lose
    that minute to silence (ADR 17); idle_close_s is 6 s here, a minute lasts 6 s of wall
    time."""
    paced = settings.model_copy(update={"idle_close_s": 6.0})
    worker = start_worker(paced)
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - now_ms % MINUTE_MS - 3 * MINUTE_MS + 45_000  # minute ends at +15 s, +75 s
    jsonl = tmp_path / "events.jsonl"
    argv = ["--stores", "3", "--seed", "8", "--start", str(start_ms), "--span", "90s"]
    # --tame: the start follows the wall clock, so real shops' variance would make the load
    # depend on the date (a busy Sunday overshoots the bound below); dense and steady here.
    argv += ["--speedup", "10", "--no-diurnal", "--tame"]
    argv += ["--profile", "steady:rate=40", "--profile", "out_of_order"]
    assert simulate.run(_simulate_args(jsonl, *argv), paced) == 0
    records = read_jsonl(jsonl)
    assert 4_000 < len(records) < 12_000
    truth = ground_truth(records)
    assert (truth.invalid, truth.duplicates) == (0, 0)
    assert len(truth.minutes) == 3 * 3  # per store: 15 s, a whole minute, 15 s
    assert _sent_past_their_minute(records, 0) > 80
    assert _sent_past_their_minute(records, 500) > 30  # late, were the grace 0.5 s
    assert _sent_past_their_minute(records, paced.grace_ms) == 0  # the bound
    _assert_pipeline_equals_truth(paced, worker, records, truth)
