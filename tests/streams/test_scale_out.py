"""Scale-out, bounded: workers joining and leaving one consumer group mid-stream cause no
KPI errors. Two workers share 8 partitions; one joins while traffic flows, then the first
one stops cleanly while traffic still flows. Every closed minute must equal the ground
truth (a minute may be published final again by the worker that takes its partition over,
with the same contents)."""

from __future__ import annotations

import time
import uuid

import pytest

from kafka_io.admin import ensure_topics
from shoppulse.settings import Settings
from tests.conftest import WorkerFactory
from tests.groundtruth import ground_truth
from tests.kafka_helpers import collect_snapshots, producer
from tests.streams.fault_helpers import (
    FINALS_TIMEOUT_S,
    assert_exact_despite_republish,
    cut_at_minute,
    produce_in_background,
    send,
    simulated,
    wait_for_finals,
)

pytestmark = pytest.mark.integration

PARTITIONS = 8


def test_workers_joining_and_leaving_mid_stream_keep_every_minute_exact(
    settings: Settings, start_worker: WorkerFactory
) -> None:
    wide = settings.model_copy(
        update={"topic_partitions": PARTITIONS, "topic_namespace": f"t{uuid.uuid4().hex[:10]}."}
    )
    ensure_topics(wide)
    records = simulated(16_000, seed=33, stores=8, events_per_s=120.0)
    truth = ground_truth(records)
    data = wide.worker_data_dir
    first = start_worker(wide.model_copy(update={"worker_data_dir": data / "a"}), name="first")
    p = producer(wide)
    cut = cut_at_minute(records, 0.25)
    send(p, wide, records[:cut])
    wait_for_finals(wide, 3)
    flowing = produce_in_background(wide, records[cut:], seconds=12.0)
    time.sleep(2.0)
    start_worker(wide.model_copy(update={"worker_data_dir": data / "b"}), name="joining")
    time.sleep(3.0)
    first.stop()  # SIGTERM: leaves the group cleanly while traffic flows
    flowing.join(timeout=60)
    snaps = collect_snapshots(wide, truth.minutes, FINALS_TIMEOUT_S)
    extra = assert_exact_despite_republish(snaps, truth.minutes, wide)
    print(f"join and leave: {len(truth.minutes)} minutes exact, {extra} finals published again")
