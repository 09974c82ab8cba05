"""Memory figures of ``shoppulse bench``: the worker's resident set and its state's size.

* RSS of the worker process from ``/proc/PID/status``: when it is ready (tables empty, the
  baseline of the same run), at the end of the run, and its peak (``VmHWM``).
* State size: every table's changelog read back to its latest value per key (what a
  recovering worker loads), in bytes of key and value; the store-memory table split by
  kind (``store|kind|id`` keys), so SKU levels can be given per SKU and the rest per store.
* Changelog writes: the records each table's changelog holds (its log end offsets; the
  bench's changelogs are younger than a compaction), per event produced.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path
from typing import Any

from kafka_io.config import aiokafka_config
from shoppulse.settings import Settings

#: The worker's tables (streams.app, streams.detection, streams.alerting).
TABLES = ("open-minutes", "store-clocks", "store-memory", "store-detectors", "alert-engines")


def rss_mb(pid: int) -> dict[str, float]:
    """Resident set now and at its peak, in MiB, from ``/proc/PID/status``."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = round(int(value.split()[0]) / 1024, 1)
    return out


def live_bytes(latest: dict[bytes, bytes | None]) -> int:
    """Bytes of the live entries (key and value) of a changelog read to its end.

    >>> live_bytes({b"k1": b"abc", b"k2": None})
    5
    """
    return sum(len(k) + len(v) for k, v in latest.items() if v is not None)


async def _read_changelog(settings: Settings, topic: str) -> tuple[dict[bytes, bytes | None], int]:
    """The latest value per key of a changelog, and how many records it was written."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(**aiokafka_config(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        if not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        if not tps:
            return {}, 0
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        latest: dict[bytes, bytes | None] = {}

        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in tps])

        while await behind():
            for records in (await consumer.getmany(timeout_ms=1000, max_records=50_000)).values():
                for r in records:
                    if r.key is not None:
                        latest[r.key] = r.value
        return latest, sum(ends.values())
    finally:
        await consumer.stop()


def state_sizes(settings: Settings, *, stores: int, skus: int, events: int) -> dict[str, Any]:
    """Live bytes per table, and per store and per SKU, of the worker group's state; and the
    changelog records written per event."""
    app_id = f"{settings.topic_namespace}{settings.worker_app_id}"

    async def read_all() -> dict[str, tuple[dict[bytes, bytes | None], int]]:
        return {t: await _read_changelog(settings, f"{app_id}-{t}-changelog") for t in TABLES}

    read = asyncio.run(read_all())
    tables = {t: latest for t, (latest, _) in read.items()}
    writes = {t: written for t, (_, written) in read.items()}
    by_kind: dict[str, int] = defaultdict(int)
    for key, value in tables["store-memory"].items():
        if value is not None:
            parts = key.decode(errors="replace").split("|")
            by_kind[parts[1] if len(parts) > 2 else "other"] += len(key) + len(value)
    per_table = {t: live_bytes(latest) for t, latest in tables.items()}
    sku_bytes = by_kind.get("sku", 0)
    return {
        "bytes_by_table": per_table,
        "store_memory_bytes_by_kind": dict(by_kind),
        "bytes_per_sku": round(sku_bytes / (stores * skus), 1) if stores and skus else None,
        "bytes_per_store_without_skus": round((sum(per_table.values()) - sku_bytes) / stores, 1)
        if stores
        else None,
        "changelog_records_by_table": writes,
        "changelog_records_per_event": round(sum(writes.values()) / events, 4) if events else None,
    }
