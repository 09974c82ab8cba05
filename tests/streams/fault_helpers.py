"""Helpers of the bounded fault and scale-out tests: producing in parts split at minute
boundaries, producing in the background, and checking finals against the ground truth."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import orjson
from kafka import KafkaProducer

from shoppulse import topics
from shoppulse.settings import Settings
from shoppulse.timeutil import parse_ts_ms
from simulator.simulation import Simulator
from tests.kafka_helpers import finals_by_minute, group_progress, poll_until, producer

FINALS_TIMEOUT_S = 180.0
START_MS = 1_700_000_000_000


def simulated(n: int, seed: int, *, stores: int, events_per_s: float) -> list[dict[str, Any]]:
    """``n`` simulator events from ``START_MS`` as (logical topic, key, value) records."""
    sim = Simulator(stores=stores, seed=seed, start_ms=START_MS, events_per_s=events_per_s)
    return [{"topic": e.topic_family, "key": e.key, "value": e.value} for e in sim.take(n)]


def send(p: KafkaProducer, settings: Settings, records: Sequence[dict[str, Any]]) -> None:
    for r in records:
        p.send(settings.topic(r["topic"]), key=r["key"].encode(), value=orjson.dumps(r["value"]))
    p.flush()


def cut_at_minute(records: Sequence[dict[str, Any]], fraction: float) -> int:
    """The index of the first event of the minute in which ``fraction`` of the events lie:
    producing in two parts split there never leaves a minute half-sent while the producer
    pauses (a backfill silent for ``idle_close_s`` has its newest minute closed, ADR 17)."""
    ts = parse_ts_ms(records[int(len(records) * fraction)]["value"]["ts"])
    boundary = ts - ts % 60_000
    return next(i for i, r in enumerate(records) if parse_ts_ms(r["value"]["ts"]) >= boundary)


def produce_in_background(
    settings: Settings, records: Sequence[dict[str, Any]], seconds: float
) -> threading.Thread:
    """Produce ``records`` spread over ``seconds`` from a thread (traffic keeps flowing)."""

    def run() -> None:
        p = producer(settings)
        step = max(1, len(records) // 50)
        for i in range(0, len(records), step):
            send(p, settings, records[i : i + step])
            time.sleep(seconds / 50)
        p.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_for_finals(settings: Settings, n: int) -> None:
    poll_until(settings, topics.KPIS, lambda s: sum(1 for x in s if x["final"]) >= n, 90.0)


def assert_exact_despite_republish(
    snaps: list[Any], truth: dict[Any, dict[str, int]], settings: Settings | None = None
) -> int:
    """Every minute closed, each final equal to the truth; returns the extra finals."""
    finals = finals_by_minute(snaps)
    missing = set(truth) - set(finals)
    if missing and settings is not None:
        print(f"group progress (committed, log end): {group_progress(settings)}")
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
