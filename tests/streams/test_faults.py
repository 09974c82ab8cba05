"""Faults, bounded: every closed minute must still equal the independent ground truth.

* ``kill -9`` of the worker in the middle of the stream, then a restart;
* a broker restart in the middle of the stream (a broker of the test's own);
* a replay of already-counted events (a producer that re-sends a whole batch).

Delivery is idempotent at least once (ADR 11): a restarted worker re-reads records after
its last committed offset; ``event_id`` de-duplication inside a minute, the memory journal
kept in each minute's record and the closed-minute watermark make the re-read harmless. A
minute whose final snapshot was published just before the crash may be published final
again; every final of a minute must then be identical and equal to the truth.

Traffic is split at minute boundaries where the producer pauses (for the broker restart):
a store silent for ``idle_close_s`` has its open minute closed, by design.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from cli.broker import LocalKafka
from shoppulse import topics
from shoppulse.settings import Settings
from shoppulse.simulation import Simulator
from shoppulse.timeutil import parse_ts_ms
from shoppulse.topic_admin import ensure_topics
from tests.conftest import WorkerFactory
from tests.groundtruth import ground_truth
from tests.kafka_helpers import collect_snapshots, finals_by_minute, poll_until, producer

pytestmark = pytest.mark.integration

FINALS_TIMEOUT_S = 180.0
START_MS = 1_700_000_000_000


def _events(n: int, seed: int) -> list[dict[str, Any]]:
    sim = Simulator(stores=3, seed=seed, start_ms=START_MS, events_per_s=60.0)
    return [{"topic": e.topic_family, "key": e.key, "value": e.value} for e in sim.take(n)]


def _send(p: KafkaProducer, settings: Settings, records: Sequence[dict[str, Any]]) -> None:
    for r in records:
        p.send(settings.topic(r["topic"]), key=r["key"].encode(), value=orjson.dumps(r["value"]))
    p.flush()


def _cut_at_minute(records: Sequence[dict[str, Any]], fraction: float) -> int:
    """The index of the first event of the minute in which ``fraction`` of the events lie:
    producing in two parts split there never leaves a minute half-sent while the producer
    pauses (a store silent for ``idle_close_s`` has its open minute closed, by design)."""
    ts = parse_ts_ms(records[int(len(records) * fraction)]["value"]["ts"])
    boundary = ts - ts % 60_000
    return next(i for i, r in enumerate(records) if parse_ts_ms(r["value"]["ts"]) >= boundary)


def _produce_in_background(
    settings: Settings, records: Sequence[dict[str, Any]], seconds: float
) -> threading.Thread:
    """Produce ``records`` spread over ``seconds`` from a thread (traffic keeps flowing)."""

    def run() -> None:
        p = producer(settings)
        step = max(1, len(records) // 50)
        for i in range(0, len(records), step):
            _send(p, settings, records[i : i + step])
            time.sleep(seconds / 50)
        p.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _wait_for_finals(settings: Settings, n: int) -> None:
    poll_until(settings, topics.KPIS, lambda s: sum(1 for x in s if x["final"]) >= n, 90.0)


def assert_exact_despite_republish(snaps: list[Any], truth: dict[Any, dict[str, int]]) -> int:
    """Every minute closed, each final equal to the truth; returns the extra finals."""
    finals = finals_by_minute(snaps)
    missing = set(truth) - set(finals)
    assert not missing, f"{len(missing)} minutes never closed, e.g. {sorted(missing)[:3]}"
    assert set(finals) == set(truth), "the worker closed minutes that have no events"
    extra = 0
    for key, expected in truth.items():
        for final in finals[key]:
            got = {name: final.components.get(name) for name in expected}
            diff = {k: (got[k], v) for k, v in expected.items() if got[k] != v}
            assert not diff, f"minute {key} (revision {final.revision}) differs: {diff}"
        extra += len(finals[key]) - 1
    return extra


def test_kill_9_mid_stream_then_restart_is_exact(
    settings: Settings, start_worker: WorkerFactory
) -> None:
    records = _events(12_000, seed=21)
    truth = ground_truth(records)
    first = start_worker(name="first")
    p = producer(settings)
    cut = _cut_at_minute(records, 0.3)
    _send(p, settings, records[:cut])
    _wait_for_finals(settings, 3)
    flowing = _produce_in_background(settings, records[cut:], seconds=8.0)
    time.sleep(3.0)
    first.kill()  # SIGKILL mid-stream: no commit, no changelog flush, no goodbye to the group
    start_worker(name="second")
    flowing.join(timeout=60)
    snaps = collect_snapshots(settings, truth.minutes, FINALS_TIMEOUT_S)
    extra = assert_exact_despite_republish(snaps, truth.minutes)
    print(f"kill -9: {len(truth.minutes)} minutes exact, {extra} finals published again")


def test_broker_restart_mid_stream_is_exact(
    settings: Settings, start_worker: WorkerFactory, tmp_path: Path
) -> None:
    broker = LocalKafka(data_dir=tmp_path / "own-kafka")
    broker.start()
    try:
        broker.wait_ready(timeout_s=120)
        own = settings.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap})
        ensure_topics(own)
        records = _events(8_000, seed=22)
        truth = ground_truth(records)
        start_worker(own)
        p = producer(own)
        cut = _cut_at_minute(records, 0.5)
        _send(p, own, records[:cut])
        _wait_for_finals(own, 3)
        p.close()
        broker.stop()
        time.sleep(2.0)
        broker.start()
        broker.wait_ready(timeout_s=120)
        p = producer(own)
        _send(p, own, records[cut:])
        p.close()
        snaps = collect_snapshots(own, truth.minutes, FINALS_TIMEOUT_S)
        extra = assert_exact_despite_republish(snaps, truth.minutes)
        print(f"broker restart: {len(truth.minutes)} minutes exact, {extra} finals again")
    finally:
        broker.stop()


def test_a_replayed_batch_counts_once(settings: Settings, start_worker: WorkerFactory) -> None:
    records = _events(6_000, seed=23)
    truth = ground_truth(records)
    start_worker()
    p = producer(settings)
    _send(p, settings, records[:4_000])
    _send(p, settings, records[1_000:4_000])  # a client re-sends what it was unsure of
    _send(p, settings, records[4_000:])
    snaps = collect_snapshots(settings, truth.minutes, FINALS_TIMEOUT_S)
    assert assert_exact_despite_republish(snaps, truth.minutes) == 0
    # The re-sent events of minutes already closed are dead-lettered as late, never counted.
    dead = poll_until(settings, topics.DEADLETTER, lambda d: False, 5.0)
    assert {d["reason"] for d in dead} <= {"late"}
