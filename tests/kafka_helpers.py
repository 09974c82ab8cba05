"""Reading what the pipeline published, with bounded waits (kafka-python)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer

from kafka_io.config import kafka_python_config
from shoppulse import topics
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot

MinuteKey = tuple[str, int]


def producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(**kafka_python_config(settings), acks="all", linger_ms=5)


def consumer(settings: Settings, *logical: str) -> KafkaConsumer:
    return KafkaConsumer(
        *[settings.topic(t) for t in logical],
        **kafka_python_config(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )


def poll_until(
    settings: Settings,
    logical: str,
    done: Callable[[list[Any]], bool],
    timeout_s: float,
    decode: Callable[[bytes], Any] = orjson.loads,
) -> list[Any]:
    """Decode every record of a topic until ``done(records)`` or the timeout (then return)."""
    c = consumer(settings, logical)
    out: list[Any] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not done(out):
            for batch in c.poll(timeout_ms=500).values():
                out.extend(decode(r.value) for r in batch)
    finally:
        c.close()
    return out


def collect_snapshots(
    settings: Settings, expected_finals: Iterable[MinuteKey], timeout_s: float
) -> list[KpiSnapshot]:
    """Every snapshot published, until each expected (store, minute) has a final one."""
    wanted = set(expected_finals)

    def done(snaps: list[KpiSnapshot]) -> bool:
        return wanted <= {(s.store_id, s.window_start_ms) for s in snaps if s.final}

    return poll_until(settings, topics.KPIS, done, timeout_s, decode=KpiSnapshot.from_json)


def finals_by_minute(snaps: Iterable[KpiSnapshot]) -> dict[MinuteKey, list[KpiSnapshot]]:
    out: dict[MinuteKey, list[KpiSnapshot]] = {}
    for s in snaps:
        if s.final:
            out.setdefault((s.store_id, s.window_start_ms), []).append(s)
    return out


def group_progress(settings: Settings) -> dict[str, tuple[int | None, int]]:
    """Per source topic-partition, the worker group's committed offset and the log end
    (for failure messages: which partition a stuck minute waits for)."""
    from kafka import KafkaAdminClient, TopicPartition

    group = f"{settings.topic_namespace}{settings.worker_app_id}"
    admin = KafkaAdminClient(**kafka_python_config(settings))
    reader = KafkaConsumer(**kafka_python_config(settings))
    try:
        committed = admin.list_group_offsets({group: None}).get(group, {})
        tps = [TopicPartition(t, p) for t, p in settings.source_topic_partitions()]
        ends = reader.end_offsets(tps)
        return {
            f"{tp.topic}:{tp.partition}": (
                committed[tp].offset if tp in committed else None,
                ends[tp],
            )
            for tp in tps
            if ends[tp]
        }
    finally:
        admin.close()
        reader.close()
