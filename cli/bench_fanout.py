"""The websocket fan-out benchmark of ``shoppulse bench --fanout N``.

A real ``shoppulse api`` process follows ``shoppulse.kpis``; this process produces
provisional KPI snapshots for ``stores`` stores, ``updates_per_s`` per store, each stamped with
its wall-clock ``emitted_at_ms``, while N websocket clients follow ``all``. The push lag of a
message is its arrival time at a client minus ``emitted_at_ms`` (one host, one clock): it
covers Kafka, the API's feed, the fan-out and the client's own event loop.

The baseline, measured in the same run against the same API process, is one client alone;
the report gives both and their ratio. Clients are coalesced, never blocking, so a client
that falls behind gets fewer, fresher messages (see ``docs/websocket.md``): the report also
gives the share of updates each client received.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from rich.progress import Progress
from websockets.asyncio.client import connect

from cli.processes import Child, local_api_settings, shoppulse_command
from shoppulse import topics
from shoppulse.kafka_config import kafka_python_config
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot


@dataclass(frozen=True)
class FanoutResult:
    clients: int
    connected: int
    updates_sent: int
    messages: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    delivered_share: float

    def to_json(self) -> dict[str, Any]:
        return {
            "clients": self.clients,
            "connected": self.connected,
            "updates_sent": self.updates_sent,
            "messages": self.messages,
            "p50_lag_ms": round(self.p50_ms, 1),
            "p99_lag_ms": round(self.p99_ms, 1),
            "max_lag_ms": round(self.max_ms, 1),
            "delivered_share": round(self.delivered_share, 4),
        }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile.

    >>> percentile([5, 1, 4, 2, 3], 0.5), percentile(list(range(1, 101)), 0.99)
    (3, 99)
    """
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-int(q * len(ordered) * 1000) // 1000))  # ceil without float drift
    return ordered[min(rank, len(ordered)) - 1]


def raise_fd_limit(needed: int) -> None:
    """Allow ``needed`` open files (sockets) in this process and the children it starts."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


async def _client(url: str, lags: list[float], counts: list[int], stop: asyncio.Event) -> bool:
    try:
        async with connect(url, max_size=2**24, open_timeout=30) as ws:
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                now_ms = time.time() * 1000
                msg = orjson.loads(raw)
                if msg.get("type") == "update":
                    lags.append(now_ms - msg["snapshot"]["emitted_at_ms"])
                    counts[0] += 1
        return True
    except OSError:
        return False


def _produce(
    settings: Settings,
    seconds: float,
    stores: int,
    per_s: float,
    on_progress: Callable[[float], object],
) -> int:
    """Produce snapshots at a steady rate from a thread (the clients' event loop may be busy)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(**kafka_python_config(settings), linger_ms=0, acks=1)
    topic = settings.topic(topics.KPIS)
    minute = int(time.time() // 60 * 60_000)
    interval = 1.0 / (stores * per_s)
    started = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - started) < seconds:
        store = f"store-{sent % stores:03d}"
        snap = KpiSnapshot(
            store_id=store,
            window_start_ms=minute,
            window_end_ms=minute + 60_000,
            final=False,
            revision=time.time_ns() // 1000,  # grows across rounds: the view keeps the latest
            currency="EUR",
            components={"orders_paid": sent, "gmv_minor": 1_000 * sent, "sessions": 10},
            emitted_at_ms=int(time.time() * 1000),
        )
        producer.send(topic, key=store.encode(), value=snap.to_json())
        sent += 1
        on_progress(elapsed)
        time.sleep(max(0.0, started + sent * interval - time.monotonic()))
    producer.flush()
    producer.close()
    return sent


async def _run_round(
    settings: Settings, url: str, clients: int, seconds: float, stores: int, per_s: float
) -> FanoutResult:
    lags: list[float] = []
    counts = [0]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_client(url, lags, counts, stop)) for _ in range(clients)]
    await asyncio.sleep(min(10.0, 1.0 + clients / 200))  # let the connections open
    with Progress(transient=True) as progress:
        task = progress.add_task(f"{clients} clients", total=seconds)
        sent = await asyncio.to_thread(
            _produce,
            settings,
            seconds,
            stores,
            per_s,
            lambda done: progress.update(task, completed=done),
        )
    await asyncio.sleep(2.0)  # the last pushes arrive
    stop.set()
    connected = sum(await asyncio.gather(*tasks))
    return FanoutResult(
        clients=clients,
        connected=connected,
        updates_sent=sent,
        messages=counts[0],
        p50_ms=percentile(lags, 0.5),
        p99_ms=percentile(lags, 0.99),
        max_ms=max(lags, default=float("nan")),
        delivered_share=counts[0] / (sent * clients) if sent and clients else 0.0,
    )


def measure_fanout(
    settings: Settings,
    workdir: Path,
    *,
    clients: int,
    seconds: float = 20.0,
    stores: int = 20,
    updates_per_s: float = 1.0,
) -> dict[str, Any]:
    """Run the baseline (1 client) and then ``clients`` clients against one API process."""
    raise_fd_limit(2 * clients + 256)
    api_settings = local_api_settings(settings)
    port = api_settings.api_port
    api = Child("api", shoppulse_command("api"), workdir / "api.log", env=api_settings.to_env())
    api.start()
    try:
        api.wait_for("Application startup complete", 60)
        url = f"ws://127.0.0.1:{port}/ws/live?store=all"
        baseline = asyncio.run(_run_round(settings, url, 1, seconds, stores, updates_per_s))
        loaded = asyncio.run(_run_round(settings, url, clients, seconds, stores, updates_per_s))
    finally:
        with contextlib.suppress(Exception):
            api.stop()
    return {
        "fanout": loaded.to_json(),
        "baseline_one_client": baseline.to_json(),
        "p99_ratio_to_baseline": round(loaded.p99_ms / baseline.p99_ms, 2)
        if baseline.p99_ms
        else None,
        "stores": stores,
        "updates_per_s": stores * updates_per_s,
        "seconds": seconds,
    }
