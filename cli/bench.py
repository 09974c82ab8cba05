"""``shoppulse bench``: pipeline throughput and the raw consume-and-decode limit, one run.

1. Produce N mixed simulator events to fresh topics (on the embedded broker, or
   the configured cluster with ``--external``).
2. The limit: an aiokafka consumer (Faust's own client) reads every source
   partition from the start and decodes each value with orjson.
3. The pipeline: a real ``shoppulse worker`` process consumes the same topics;
   its progress is its consumer group's committed offsets.
4. The worker's RSS (when ready, at the end, at its peak) and the size of its state, every
   table's changelog read back to its latest value per key (:mod:`cli.bench_memory`).
   Then a worker restarted on the same group and data directory: seconds until it is ready
   and has its state back (:mod:`cli.bench_recovery`).
5. With ``--workers N``: the pipeline again with N workers in one group, and the ratio.
6. One JSON line: events, seconds, events_per_s, limit_events_per_s, ratio, and the above.

With ``--fanout N`` it measures the websocket fan-out instead (:mod:`cli.bench_fanout`):
N clients following every store of a real API process, against one client as the baseline.
With ``--api-memory`` it measures the API view's bytes per store-week on history cloned
from real worker minutes, before and after packing (:mod:`cli.bench_api_memory`).
With ``--latency RATE`` it measures event-to-websocket latency under live traffic
(:mod:`cli.bench_latency`), against Kafka's own delivery latency in the same run.
With ``--api-restart`` it measures how long a restarted API takes to be ready
(:mod:`cli.bench_restart`): reading the closed minutes from ``shoppulse.kpis.final`` first,
against reading ``shoppulse.kpis`` from the cutoff, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from rich.progress import Progress

from cli import bench_api_memory, bench_fanout
from cli.bench_memory import rss_mb, state_sizes
from cli.bench_recovery import measure_recovery
from cli.broker import LocalKafka, kafka_version
from cli.processes import worker_child, worker_data_dir
from kafka_io.config import aiokafka_config, kafka_python_config
from shoppulse import topics
from shoppulse.settings import Settings
from simulator.simulation import Simulator

#: Event time of the produced traffic starts this long before now (the worker refuses the future).
_PAST_MS = 3 * 3600 * 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=200_000, help="events to produce")
    parser.add_argument("--stores", type=int, default=20, help="simulated stores")
    parser.add_argument("--seed", type=int, default=7, help="simulator seed")
    parser.add_argument(
        "--skus",
        type=int,
        default=40,
        help="SKUs per store (the simulator sends every SKU's level at the start)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=500.0,
        help="simulated event-time rate, events/s over all stores (default: 25/s per store of "
        "the default 20, the simulator's store size)",
    )
    parser.add_argument(
        "--external",
        action="store_true",
        help="use SHOPPULSE_KAFKA_BOOTSTRAP_SERVERS instead of an embedded broker",
    )
    parser.add_argument(
        "--fanout",
        type=int,
        default=0,
        metavar="CLIENTS",
        help="instead: the websocket fan-out benchmark with this many clients (and 1 as baseline)",
    )
    parser.add_argument(
        "--fanout-seconds", type=float, default=20.0, help="length of each fan-out round"
    )
    bench_fanout.add_arguments(parser)
    bench_api_memory.add_arguments(parser)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="also run the pipeline with this many workers in one group (a new group on the "
        "same topics) and report the throughput ratio against one worker",
    )
    parser.add_argument(
        "--partitions", type=int, default=0, help="partitions per topic (default: settings)"
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="RATE",
        help="instead: event-to-websocket latency with live traffic at RATE events/s "
        "(real worker and API; Kafka's own delivery latency as baseline)",
    )
    parser.add_argument(
        "--latency-seconds", type=float, default=60.0, help="length of the live traffic"
    )
    parser.add_argument(
        "--api-restart",
        action="store_true",
        help="instead: seconds until a restarted API is ready and has answered its first "
        "all-stores request, finals first (ADR 24) against the whole shoppulse.kpis",
    )
    parser.add_argument(
        "--restart-stores", type=int, default=2, help="--api-restart: stores of history"
    )
    parser.add_argument(
        "--restart-days", type=float, default=0.25, help="--api-restart: days of history (<= 8)"
    )
    parser.add_argument(
        "--restart-provisional",
        type=int,
        default=60,
        help="--api-restart: provisional snapshots per store-minute (the worker's: one a second)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="give up on the pipeline after this many seconds",
    )


def produce(settings: Settings, sim: Simulator, n: int) -> dict[str, int]:
    """Produce ``n`` events as fast as the producer allows; return counts per physical topic."""
    from kafka import KafkaProducer

    producer = KafkaProducer(
        **kafka_python_config(settings),
        acks="all",
        linger_ms=20,
        batch_size=512 * 1024,
        max_in_flight_requests_per_connection=5,
    )
    counts: dict[str, int] = {}
    with Progress() as progress:
        task = progress.add_task("produce", total=n)
        for i, ev in enumerate(sim.events()):
            if i >= n:
                break
            topic = settings.topic(ev.topic_family)
            producer.send(topic, key=ev.key.encode(), value=orjson.dumps(ev.value))
            counts[topic] = counts.get(topic, 0) + 1
            if i % 5000 == 0:
                progress.update(task, completed=i)
        producer.flush()
        progress.update(task, completed=n)
    producer.close()
    return counts


async def measure_limit(settings: Settings, total: int) -> float:
    """Events/s of raw consume + orjson decode over the source topics (aiokafka, one process)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        **aiokafka_config(settings),
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t, p in settings.source_topic_partitions()]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen = 0
        loads = orjson.loads
        t0 = time.perf_counter()
        while seen < total:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for records in batches.values():
                for rec in records:
                    loads(rec.value)
                seen += len(records)
        return total / (time.perf_counter() - t0)
    finally:
        await consumer.stop()


def committed(admin: Any, settings: Settings, group: str) -> int:
    """Records the worker's group has committed on the source topics (its progress)."""
    offsets = admin.list_group_offsets({group: None}).get(group, {})
    sources = {settings.topic(t) for t in topics.SOURCE_TOPICS}
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic in sources)


def measure_pipeline(
    settings: Settings, total: int, workdir: Path, timeout_s: float, workers: int = 1
) -> tuple[float, float, dict[str, float]]:
    """Seconds from process start to the first worker being joined and ready, and from then
    until the group (``workers`` processes) has committed every source record; and the first
    worker's RSS when ready, at the end, and at its peak (MiB)."""
    group = f"{settings.topic_namespace}{settings.worker_app_id}"
    children = [worker_child(settings, workdir, str(i)) for i in range(workers)]
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**kafka_python_config(settings))
    started = time.perf_counter()
    for child in children:
        child.start()
    try:
        children[0].wait_for("Worker]: Ready", 120)
        t0 = time.perf_counter()
        pid = children[0].pid
        rss_ready = rss_mb(pid)["VmRSS"]
        done = 0
        with Progress() as progress:
            task = progress.add_task(f"pipeline, {workers} worker(s)", total=total)
            while done < total:
                if time.perf_counter() - t0 > timeout_s:
                    offsets = admin.list_group_offsets({group: None}).get(group, {})
                    behind = sorted(
                        f"{tp.topic}:{tp.partition}@{m.offset}" for tp, m in offsets.items()
                    )
                    raise TimeoutError(
                        f"pipeline committed {done}/{total} in {timeout_s} s; {behind}"
                    )
                for child in children:
                    if not child.alive():
                        raise RuntimeError(f"worker died; its last lines:\n{child.tail(60)}")
                time.sleep(0.1)
                done = committed(admin, settings, group)
                progress.update(task, completed=done)
        elapsed = time.perf_counter() - t0
        end = rss_mb(pid)
        memory = {
            "rss_ready_mib": rss_ready,
            "rss_end_mib": end["VmRSS"],
            "rss_peak_mib": end["VmHWM"],
        }
        return t0 - started, elapsed, memory
    finally:
        for child in children:
            child.stop()
        admin.close()


def run(args: argparse.Namespace, settings: Settings) -> int:
    from kafka_io.admin import ensure_topics

    if args.api_memory:  # no broker: the worker's processor runs in process
        print(json.dumps(bench_api_memory.run(args)), flush=True)
        return 0

    with tempfile.TemporaryDirectory(prefix="shoppulse-bench-") as tmp:
        workdir = Path(tmp)
        if args.partitions:
            settings = settings.model_copy(update={"topic_partitions": args.partitions})
        broker: LocalKafka | None = None
        if not args.external:
            broker = LocalKafka(data_dir=workdir / "kafka", partitions=settings.topic_partitions)
            broker.start()
        try:
            if broker is not None:
                broker.wait_ready()
                settings = settings.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap})
            settings = settings.model_copy(
                update={
                    "topic_namespace": f"bench{uuid.uuid4().hex[:8]}.",
                    "worker_data_dir": workdir / "worker",
                    "idle_close_s": 5.0,
                }
            )
            ensure_topics(settings)
            if args.fanout:
                fanout = bench_fanout.measure_fanout(
                    settings,
                    workdir,
                    clients=args.fanout,
                    seconds=args.fanout_seconds,
                    **bench_fanout.options(args),
                )
                fanout["kafka"] = kafka_version() if broker is not None else "external"
                print(json.dumps(fanout), flush=True)
                return 0
            if args.api_restart:
                from cli.bench_restart import measure_api_restart

                restart = measure_api_restart(
                    settings,
                    stores=args.restart_stores,
                    days=args.restart_days,
                    provisional=args.restart_provisional,
                    seed=args.seed,
                    timeout_s=args.timeout,
                )
                restart["kafka"] = kafka_version() if broker is not None else "external"
                print(json.dumps(restart), flush=True)
                return 0
            if args.latency:
                from cli.bench_latency import measure_latency

                latency = measure_latency(
                    settings,
                    workdir,
                    rate=args.latency,
                    seconds=args.latency_seconds,
                    stores=args.stores,
                    seed=args.seed,
                )
                latency["kafka"] = kafka_version() if broker is not None else "external"
                print(json.dumps(latency), flush=True)
                return 0
            start_ms = int(time.time() * 1000) - _PAST_MS
            sim = Simulator(
                stores=args.stores,
                seed=args.seed,
                start_ms=start_ms,
                events_per_s=args.rate,
                skus_per_store=args.skus,
            )
            counts = produce(settings, sim, args.events)
            limit = asyncio.run(measure_limit(settings, args.events))
            ready_s, seconds, memory = measure_pipeline(
                settings, args.events, workdir, args.timeout
            )
            state = state_sizes(settings, stores=args.stores, skus=args.skus, events=args.events)
            recovery = measure_recovery(settings, worker_data_dir(settings, workdir, "0"), workdir)
            scale_out: dict[str, Any] | None = None
            if args.workers > 1:
                many = settings.model_copy(
                    update={"worker_app_id": f"{settings.worker_app_id}-{args.workers}w"}
                )
                many_ready_s, many_s, _ = measure_pipeline(
                    many, args.events, workdir, args.timeout, workers=args.workers
                )
                scale_out = {
                    "workers": args.workers,
                    "seconds": round(many_s, 3),
                    "events_per_s": round(args.events / many_s, 1),
                    "ratio_to_one_worker": round(seconds / many_s, 3),
                    "first_worker_ready_s": round(many_ready_s, 2),
                }
        finally:
            if broker is not None:
                broker.stop()
    rate = args.events / seconds
    result: dict[str, Any] = {
        "events": args.events,
        "seconds": round(seconds, 3),
        "events_per_s": round(rate, 1),
        "limit_events_per_s": round(limit, 1),
        "ratio": round(rate / limit, 6),
        "worker_ready_s": round(ready_s, 2),
        "stores": args.stores,
        "partitions": settings.topic_partitions,
        "topics": counts,
        "kafka": kafka_version() if broker is not None else "external",
        "batch_max": settings.worker_batch_max,
        "skus_per_store": args.skus,
        "worker_memory": memory,
        "state": state,
        "recovery": recovery,
    }
    if scale_out is not None:
        result["scale_out"] = scale_out
    print(json.dumps(result), flush=True)
    return 0
