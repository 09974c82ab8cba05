"""End to end through the real broker and the real Faust worker, checked against ground truth
computed independently from the produced events (tests/groundtruth.py)."""

from __future__ import annotations

import argparse
import base64
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from cli import simulate
from cli.broker import free_port
from shoppulse import topics
from shoppulse.settings import Settings
from shoppulse.timeutil import wall_clock_ms
from tests.conftest import WorkerFactory
from tests.groundtruth import GroundTruth, ground_truth, read_jsonl
from tests.kafka_helpers import collect_snapshots, finals_by_minute, poll_until, producer

pytestmark = pytest.mark.integration

FINALS_TIMEOUT_S = 180.0


def simulate_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    simulate.add_arguments(parser)
    return parser.parse_args(list(argv))


def assert_agents_equal_truth(snaps: list[Any], truth: GroundTruth) -> None:
    finals = finals_by_minute(snaps)
    for key, (final,) in finals.items():
        assert final.agents == truth.agents.get(key, {}), f"agents of minute {key} differ"
    assert any(truth.agents.values()), "the traffic credited no agent"


def assert_finals_equal_truth(
    snaps: list[Any], truth: dict[tuple[str, int], dict[str, int]]
) -> None:
    finals = finals_by_minute(snaps)
    missing = set(truth) - set(finals)
    assert not missing, f"{len(missing)} minutes never closed, e.g. {sorted(missing)[:3]}"
    assert set(finals) == set(truth), "the worker closed minutes that have no events"
    for key, expected in truth.items():
        (final,) = finals[key]  # exactly one final snapshot per store-minute
        got = {name: final.components.get(name) for name in expected}
        assert got == expected, f"minute {key} differs"
        revisions = [s.revision for s in snaps if (s.store_id, s.window_start_ms) == key]
        assert revisions == sorted(revisions)
        assert final.revision == max(revisions)


def test_simulated_traffic_every_closed_minute_equals_ground_truth(
    settings: Settings, start_worker: WorkerFactory, tmp_path: Path
) -> None:
    start_worker()
    jsonl = tmp_path / "events.jsonl"
    code = simulate.run(
        simulate_args(
            "--stores",
            "4",
            "--seed",
            "11",
            "--events",
            "24000",
            "--start=-2h",
            "--event-rate",
            "60",
            "--jsonl",
            str(jsonl),
            "--no-progress",
        ),
        settings,
    )
    assert code == 0
    records = read_jsonl(jsonl)
    assert len(records) == 24_000
    truth = ground_truth(records)
    stores = {store for store, _ in truth.minutes}
    assert len(stores) == 4
    assert len(truth.minutes) >= 4 * 5
    snaps = collect_snapshots(settings, truth.minutes, FINALS_TIMEOUT_S)
    assert_finals_equal_truth(snaps, truth.minutes)
    assert_agents_equal_truth(snaps, truth)
    assert sum(s.components["events"] for s in snaps if s.final) == 24_000


def test_long_horizon_covers_memory_kpis_exactly(
    settings: Settings, start_worker: WorkerFactory, tmp_path: Path
) -> None:
    """Almost two hours of event time at a low rate: orders ship, conversations get answered
    and resolved, so the store-memory components (first response, first-contact resolution,
    fulfilment time, new and repeat customers) are checked against ground truth too."""
    start_worker()
    jsonl = tmp_path / "events.jsonl"
    args = (
        "--stores",
        "2",
        "--seed",
        "5",
        "--events",
        "8000",
        "--start",
        "1700000000000",
        "--event-rate",
        "1.5",
        "--jsonl",
        str(jsonl),
        "--no-progress",
    )
    assert simulate.run(simulate_args(*args), settings) == 0
    truth = ground_truth(read_jsonl(jsonl))
    assert truth.total("fulfilment_h_sum_ticks") > 0
    assert truth.total("first_response_s_sum_ticks") > 0
    assert truth.total("resolutions_first_contact") > 0
    assert truth.total("sessions_bounced") > 0
    snaps = collect_snapshots(settings, truth.minutes, FINALS_TIMEOUT_S)
    assert_finals_equal_truth(snaps, truth.minutes)
    assert_agents_equal_truth(snaps, truth)


def test_duplicates_count_once_and_bad_events_are_dead_lettered(
    settings: Settings, start_worker: WorkerFactory
) -> None:
    from simulator.simulation import Simulator

    start_worker()
    rng = random.Random(5)
    sim = Simulator(stores=3, seed=3, start_ms=1_700_000_000_000, events_per_s=80.0)
    events = sim.take(4_000)
    p = producer(settings)
    sent: list[dict[str, Any]] = []
    bad = 0
    for ev in events:
        record = {"topic": ev.topic_family, "key": ev.key, "value": ev.value}
        copies = 2 if rng.random() < 0.1 else 1  # a producer retry: the same event again
        for _ in range(copies):
            p.send(
                settings.topic(ev.topic_family), key=ev.key.encode(), value=orjson.dumps(ev.value)
            )
        sent.append(record)
        if rng.random() < 0.01:
            p.send(
                settings.topic(topics.ORDERS),
                key=ev.key.encode(),
                value=b'{"event_id": "x", "amount_minor": -1',
            )
            bad += 1
    p.flush()
    truth = ground_truth(sent)
    snaps = collect_snapshots(settings, truth.minutes, FINALS_TIMEOUT_S)
    assert_finals_equal_truth(snaps, truth.minutes)
    dead = poll_until(settings, topics.DEADLETTER, lambda d: len(d) >= bad, 30.0)
    assert len(dead) == bad
    assert Counter(d["reason"] for d in dead) == {"invalid_json": bad}
    assert all(d["source"]["topic"] == settings.topic(topics.ORDERS) for d in dead)


def test_late_events_revise_inside_grace_and_are_dead_lettered_beyond(
    settings: Settings, start_worker: WorkerFactory
) -> None:
    """grace_s is 2 in the test settings. A click 1.5 s late still counts in its minute; one
    whose minute already closed goes to the dead letter with reason `late`, and the worker's
    metrics count it."""
    metrics_port = free_port()
    start_worker(settings.model_copy(update={"worker_metrics_port": metrics_port}))
    t0 = 1_700_000_040_000  # a minute boundary, long ago: no idle or future effects
    p = producer(settings)

    def click(eid: str, ts: int) -> None:
        value = {
            "event_id": eid,
            "store_id": "s-late",
            "ts": ts,
            "session_id": "x",
            "visitor_id": "v",
            "kind": "impression",
        }
        p.send(settings.topic(topics.CLICKS), key=b"s-late", value=orjson.dumps(value))
        p.flush()

    click("a", t0 + 10_000)
    click("b", t0 + 61_000)  # minute 2 opens; stream time t0 + 61 s < close of minute 1 (62 s)
    click("c", t0 + 30_000)  # late but inside grace: revises minute 1
    click("d", t0 + 65_000)  # stream time passes t0 + 62 s: minute 1 closes
    poll_until(settings, topics.KPIS, lambda s: any(x["final"] for x in s), 60.0)
    click("e", t0 + 20_000)  # minute 1 is closed: late
    dead = poll_until(settings, topics.DEADLETTER, lambda d: len(d) >= 1, 30.0)
    assert [d["reason"] for d in dead] == ["late"]
    assert orjson.loads(base64.b64decode(dead[0]["raw_base64"]))["event_id"] == "e"
    snaps = collect_snapshots(settings, [("s-late", t0), ("s-late", t0 + 60_000)], 60.0)
    finals = finals_by_minute(snaps)
    (first,) = finals[("s-late", t0)]
    assert first.components["impressions"] == 2  # a and the late-but-in-grace c
    (second,) = finals[("s-late", t0 + 60_000)]
    assert second.components["impressions"] == 2
    revisions = [s.revision for s in snaps if s.window_start_ms == t0]
    assert revisions == sorted(revisions)
    assert first.revision == max(revisions)
    metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    assert 'shoppulse_dead_letters_total{reason="late"} 1.0' in metrics
    assert 'shoppulse_events_total{topic="shop.clicks"} 4.0' in metrics
    assert 'shoppulse_late_events_total{topic="shop.clicks"} 1.0' in metrics
    assert 'shoppulse_late_events_total{topic="shop.orders"} 0.0' in metrics
    assert "shoppulse_event_to_snapshot_seconds_count" in metrics
    assert 'shoppulse_consumer_lag_records{topic="shop.clicks"}' in metrics


def test_a_quiet_live_store_keeps_every_on_time_order_of_its_minute(
    settings: Settings, start_worker: WorkerFactory
) -> None:
    """Three orders stamped as they are sent, 6 s apart within one minute, from a store with no
    other traffic: each silence is longer than idle_close_s (3 s in the test settings), yet the
    minute stays open until its end plus grace and all three count (ADR 17)."""
    start_worker()
    p = producer(settings)
    now_ms = wall_clock_ms()
    if now_ms % 60_000 > 30_000:  # room for the three orders in one minute
        time.sleep((60_000 - now_ms % 60_000 + 500) / 1000)
    minute = wall_clock_ms() // 60_000 * 60_000
    for i in range(3):
        if i:
            time.sleep(6.0)
        value = {
            "event_id": f"quiet-{i}",
            "store_id": "s-quiet",
            "ts": wall_clock_ms(),
            "order_id": f"order-{i}",
            "customer_id": f"c{i}",
            "status": "paid",
            "amount_minor": 1_000 + i,
            "currency": "EUR",
        }
        p.send(settings.topic(topics.ORDERS), key=b"s-quiet", value=orjson.dumps(value))
        p.flush()
    snaps = collect_snapshots(settings, [("s-quiet", minute)], FINALS_TIMEOUT_S)
    (final,) = finals_by_minute(snaps)[("s-quiet", minute)]
    assert final.components["orders_paid"] == 3
    assert final.components["gmv_minor"] == 3_003
    assert poll_until(settings, topics.DEADLETTER, bool, 3.0) == []


def test_a_store_back_after_17_hours_ends_all_its_sessions_without_crashing_the_worker(
    settings: Settings, start_worker: WorkerFactory
) -> None:
    """12,000 sessions, then 17 hours of silence: the first click after the gap ends every
    session, and those 12,000 memory changes travel with that click's minute. They once made
    one changelog record of about 1.4 MB, over the broker's limit, and the worker died with
    MessageSizeTooLargeError; now the minute's records are bounded (ADR 13)."""
    worker = start_worker()
    t0 = 1_700_000_040_000
    gap_ms = 17 * 3_600_000
    sessions = 12_000
    p = producer(settings)

    def click(i: int, ts: int, session: str) -> None:
        value = {
            "event_id": f"gap-{i}",
            "store_id": "s-gap",
            "ts": ts,
            "session_id": session,
            "visitor_id": f"v{i}",
            "kind": "page_view",
        }
        p.send(settings.topic(topics.CLICKS), key=b"s-gap", value=orjson.dumps(value))

    for i in range(sessions):
        click(i, t0 + i * 10, f"session-{i:06d}-{'x' * 60}")
    click(sessions, t0 + gap_ms, "after-the-gap")
    p.flush()
    gap_minute = t0 + gap_ms
    snaps = collect_snapshots(settings, [("s-gap", gap_minute)], FINALS_TIMEOUT_S)
    finals = finals_by_minute(snaps).get(("s-gap", gap_minute))
    assert finals, f"the gap minute never closed; worker log: {worker.tail(40)}"
    (final,) = finals
    assert final.components["sessions_ended"] == sessions
    assert final.components["sessions_bounced"] == sessions
    log = worker.log_path.read_text()
    assert "MessageSizeTooLargeError" not in log
    assert "Crashed" not in log, worker.tail(40)
