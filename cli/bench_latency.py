"""The event-to-websocket latency benchmark of ``shoppulse bench --latency RATE``.

A real worker and a real API process run against the broker; this process sends
simulator events live, evenly at ``rate`` events/s over all stores, each stamped with its
send time as its event time, and follows ``/ws/live?store=all`` with one client.

Latency of an event: the arrival time of the first websocket update whose ``events`` count
for the event's store-minute includes it, minus the wall-clock time the event was sent. The
k-th event sent for a store-minute counts as included once the minute's count reaches k
(the worker reads four topics side by side, so it may count them in a slightly different
order; the count is exact, the attribution to single events approximate).

The baseline, measured in the same run and under the same load, is Kafka's own delivery: an
aiokafka consumer tailing the source topics, arrival time minus each record's producer
timestamp. The report also gives the share of sent events visible on the websocket by the
end: below 1, the worker did not keep up with the rate and latencies include its backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.progress import Progress
from websockets.asyncio.client import connect

from cli.bench_fanout import percentile
from cli.processes import Child, local_api_settings, shoppulse_command
from kafka_io.config import aiokafka_config, kafka_python_config
from shoppulse.settings import Settings
from simulator.simulation import Simulator

MinuteKey = tuple[str, int]


@dataclass
class SentLog:
    """Wall-clock send times of the events of each store-minute, in sending order."""

    times_ms: dict[MinuteKey, list[float]] = field(default_factory=lambda: defaultdict(list))
    count: int = 0

    def add(self, store_id: str, ts_ms: int, sent_ms: float) -> None:
        self.times_ms[(store_id, ts_ms - ts_ms % 60_000)].append(sent_ms)
        self.count += 1


@dataclass
class Visibility:
    """Per event, when it became visible: from websocket updates' per-minute event counts.

    >>> sent = SentLog()
    >>> for t in (0.0, 10.0, 20.0):
    ...     sent.add("s", 60_000, t)
    >>> v = Visibility(sent)
    >>> v.update("s", 60_000, 2, arrived_ms=100.0)
    >>> v.update("s", 60_000, 3, arrived_ms=150.0)
    >>> v.update("s", 60_000, 3, arrived_ms=999.0)  # nothing new
    >>> v.latencies_ms
    [100.0, 90.0, 130.0]
    """

    sent: SentLog
    latencies_ms: list[float] = field(default_factory=list)
    seen: dict[MinuteKey, int] = field(default_factory=dict)

    def update(self, store_id: str, window_start_ms: int, events: int, arrived_ms: float) -> None:
        key = (store_id, window_start_ms)
        times = self.sent.times_ms.get(key, [])
        start = self.seen.get(key, 0)
        stop = min(events, len(times))
        self.latencies_ms.extend(arrived_ms - t for t in times[start:stop])
        if stop > start:
            self.seen[key] = stop

    @property
    def visible(self) -> int:
        return sum(self.seen.values())


def _produce_live(
    settings: Settings,
    events: list[tuple[str, str, dict[str, Any]]],
    *,
    rate: float,
    sent: SentLog,
    stop: threading.Event,
    on_progress: Callable[[float], object],
) -> None:
    """Send ``events`` (topic, key, value) evenly at ``rate``, each stamped with its send
    time as event time (``ts`` in epoch milliseconds)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(**kafka_python_config(settings), linger_ms=5, acks=1)
    started = time.time()
    for i, (topic, key, value) in enumerate(events):
        if stop.is_set():
            break
        due = started + i / rate
        delay_s = due - time.time()
        if delay_s > 0.001:
            time.sleep(delay_s)
        sent_ms = time.time() * 1000
        value["ts"] = int(sent_ms)
        producer.send(topic, key=key.encode(), value=orjson.dumps(value))
        sent.add(value["store_id"], int(sent_ms), sent_ms)
        if i % 1000 == 0:
            on_progress(time.time() - started)
    producer.flush()
    producer.close()


async def _follow(url: str, visibility: Visibility, stop: asyncio.Event) -> None:
    async with connect(url, max_size=2**24, open_timeout=30) as ws:
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            arrived_ms = time.time() * 1000
            msg = orjson.loads(raw)
            if msg.get("type") != "update":
                continue
            snap = msg["snapshot"]
            visibility.update(
                snap["store_id"],
                snap["window_start_ms"],
                int(snap["components"].get("events", 0)),
                arrived_ms,
            )


async def _tail_sources(settings: Settings, lags_ms: list[float], stop: asyncio.Event) -> None:
    """Kafka's own delivery latency: arrival minus producer timestamp, from the log end on."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(**aiokafka_config(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t, p in settings.source_topic_partitions()]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            arrived_ms = time.time() * 1000
            for records in batches.values():
                lags_ms.extend(arrived_ms - r.timestamp for r in records)
    finally:
        await consumer.stop()


async def _run(
    settings: Settings, url: str, *, rate: float, seconds: float, stores: int, seed: int
) -> dict[str, Any]:
    sent = SentLog()
    visibility = Visibility(sent)
    kafka_lags: list[float] = []
    stop = asyncio.Event()
    follower = asyncio.create_task(_follow(url, visibility, stop))
    tail = asyncio.create_task(_tail_sources(settings, kafka_lags, stop))
    sim = Simulator(stores=stores, seed=seed, start_ms=int(time.time() * 1000), diurnal=False)
    events = [
        (settings.topic(ev.topic_family), ev.key, dict(ev.value))
        for ev in sim.take(int(rate * seconds))
    ]
    await asyncio.sleep(2.0)  # connected, and the tail at the log end
    halt = threading.Event()
    with Progress() as progress:
        task = progress.add_task(f"live traffic at {rate:g} events/s", total=seconds)
        try:
            await asyncio.to_thread(
                _produce_live,
                settings,
                events,
                rate=rate,
                sent=sent,
                stop=halt,
                on_progress=lambda done: progress.update(task, completed=done),
            )
        finally:
            halt.set()
    for _ in range(60):  # up to 15 s for the last events to show
        if visibility.visible >= sent.count:
            break
        await asyncio.sleep(0.25)
    stop.set()
    await asyncio.gather(follower, tail)
    lat, base = visibility.latencies_ms, kafka_lags
    return {
        "rate_events_per_s": rate,
        "seconds": seconds,
        "stores": stores,
        "events_sent": sent.count,
        "sent_events_per_s": round(sent.count / seconds, 1),
        "visible_share": round(visibility.visible / sent.count, 4) if sent.count else 0.0,
        "event_to_websocket_ms": {
            "p50": round(percentile(lat, 0.5), 1),
            "p99": round(percentile(lat, 0.99), 1),
            "max": round(max(lat, default=float("nan")), 1),
        },
        "baseline_kafka_delivery_ms": {
            "p50": round(percentile(base, 0.5), 1),
            "p99": round(percentile(base, 0.99), 1),
        },
        "p99_ratio_to_baseline": round(percentile(lat, 0.99) / percentile(base, 0.99), 1)
        if base and lat
        else None,
    }


def measure_latency(
    settings: Settings,
    workdir: Path,
    *,
    rate: float,
    seconds: float = 60.0,
    stores: int = 20,
    seed: int = 7,
) -> dict[str, Any]:
    """Start a worker and an API, send live traffic, report event-to-websocket latency."""
    api_settings = local_api_settings(settings)
    port = api_settings.api_port
    env = api_settings.to_env()
    worker = Child("worker", shoppulse_command("worker"), workdir / "worker.log", env=env)
    api = Child("api", shoppulse_command("api"), workdir / "api.log", env=env)
    worker.start()
    api.start()
    try:
        worker.wait_for("Worker]: Ready", 120)
        api.wait_for("Application startup complete", 60)
        url = f"ws://127.0.0.1:{port}/ws/live?store=all"
        result = asyncio.run(
            _run(settings, url, rate=rate, seconds=seconds, stores=stores, seed=seed)
        )
        if not worker.alive():
            raise RuntimeError(f"worker died; its last lines:\n{worker.tail(60)}")
        return result
    finally:
        for child in (api, worker):
            with contextlib.suppress(Exception):
                child.stop()
