"""The worker's pipeline metrics, measured by the processor with a pinned clock, and the
exposition accepted by ``promtool check metrics`` (the running worker is scraped in
tests/deploy/test_stack_integration.py)."""

from __future__ import annotations

from prometheus_client import generate_latest

from tests.promtool import check_metrics
from tests.streams.test_processor import T0, Clock, click, make, rec


def sample(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{series} not exported")


async def test_event_to_snapshot_latency_is_observed_once_per_publication() -> None:
    clock = Clock()
    proc, _, _ = make(clock)
    clock.now = T0 + 900
    await proc.process([rec(0, click(0, 100)), rec(1, click(1, 400))])
    clock.now = T0 + 1_600
    await proc.tick()  # provisional: the oldest new event is from T0 + 100
    await proc.tick()  # nothing new: no observation
    clock.now = T0 + 2_000
    await proc.process([rec(2, click(2, 1_700))])
    clock.now = T0 + 70_000  # idle: the final snapshot carries the event of T0 + 1700
    await proc.tick()
    text = generate_latest(proc.metrics.registry).decode()
    assert sample(text, "shoppulse_event_to_snapshot_seconds_count") == 2
    assert sample(text, "shoppulse_event_to_snapshot_seconds_sum") == (1.5 + 68.3)
    assert sample(text, 'shoppulse_event_to_snapshot_seconds_bucket{le="1.5"}') == 1


async def test_late_events_are_counted_by_topic_and_batches_are_timed() -> None:
    clock = Clock()
    proc, _, pub = make(clock)
    await proc.process([rec(0, click(0, 10))])
    clock.now = T0 + 60_000 + 6_000  # idle past the minute: it closes on the tick
    await proc.tick()
    await proc.process([rec(1, click(1, 20))])  # its minute is closed: late
    assert [d["reason"] for d in pub.dead] == ["late"]
    text = generate_latest(proc.metrics.registry).decode()
    assert sample(text, 'shoppulse_late_events_total{topic="shop.clicks"}') == 1
    assert sample(text, 'shoppulse_late_events_total{topic="shop.orders"}') == 0
    assert sample(text, 'shoppulse_dead_letters_total{reason="late"}') == 1
    assert sample(text, 'shoppulse_dead_letters_total{reason="invalid_json"}') == 0
    assert sample(text, "shoppulse_batch_processing_seconds_count") == 2


async def test_consumer_lag_is_the_unread_records_of_each_source_topic() -> None:
    clock = Clock()
    proc, _, _ = make(clock)
    high = {("ns.shop.clicks", 3): 100, ("ns.shop.clicks", 4): 7, ("ns.shop.orders", 3): 50}
    proc.high_watermark = lambda topic, partition: high.get((topic, partition))
    proc.restore(
        {3, 4},
        starts={("ns.shop.clicks", 3): 0, ("ns.shop.clicks", 4): 5, ("ns.shop.orders", 3): 50},
    )
    await proc.process([rec(i, click(i, 10 * i)) for i in range(40)])
    await proc.tick()
    text = generate_latest(proc.metrics.registry).decode()
    assert sample(text, 'shoppulse_consumer_lag_records{topic="shop.clicks"}') == 60 + 2
    assert sample(text, 'shoppulse_consumer_lag_records{topic="shop.orders"}') == 0
    check_metrics(text.encode())
