"""The worker's Prometheus metrics, registered on an injected registry.

Names and labels are documented in ``docs/metrics.md``. Labels stay low-cardinality:
``topic`` is the logical source topic (``shop.orders``, ...; the namespace is left out),
``reason`` a dead-letter reason, ``kind`` provisional or final. Counters are created
with every known label value at 0, so ``rate()`` and alert rules see them from the
worker's first scrape.

>>> from prometheus_client import generate_latest
>>> m = WorkerMetrics.create(CollectorRegistry())
>>> 'shoppulse_late_events_total{topic="shop.chats"} 0.0' in generate_latest(m.registry).decode()
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shoppulse import topics
from shoppulse.events import RejectReason

LATENCY_BUCKETS_S: Final[tuple[float, ...]] = (
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    3600.0,
)
"""Event time to publication: around a second for live traffic, hours for a replay."""
BATCH_BUCKETS_S: Final[tuple[float, ...]] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)


@dataclass(frozen=True)
class WorkerMetrics:
    registry: CollectorRegistry
    events: Counter
    duplicates: Counter
    dead_letters: Counter
    late_events: Counter
    redelivered: Counter
    rewinds: Counter
    snapshots: Counter
    event_to_snapshot: Histogram
    batch_seconds: Histogram
    consumer_lag: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> WorkerMetrics:
        metrics = cls(
            registry=registry,
            events=Counter(
                "shoppulse_events_total",
                "Valid events counted into a store-minute, by topic family.",
                ["topic"],
                registry=registry,
            ),
            duplicates=Counter(
                "shoppulse_duplicate_events_total",
                "Events whose event_id was already counted in their minute (counted once).",
                ["topic"],
                registry=registry,
            ),
            dead_letters=Counter(
                "shoppulse_dead_letters_total",
                "Events sent to the dead-letter topic, by reason.",
                ["reason"],
                registry=registry,
            ),
            late_events=Counter(
                "shoppulse_late_events_total",
                "Events for a minute that had already closed (beyond the grace period), by"
                " topic family; they are dead-lettered with reason late.",
                ["topic"],
                registry=registry,
            ),
            redelivered=Counter(
                "shoppulse_redelivered_records_total",
                "Source records delivered again after they were processed (after a restart,"
                " a rebalance or a rewind), by topic family; skipped by offset.",
                ["topic"],
                registry=registry,
            ),
            rewinds=Counter(
                "shoppulse_consumer_rewinds_total",
                "Seeks back over source records the consumer skipped, by topic family.",
                ["topic"],
                registry=registry,
            ),
            snapshots=Counter(
                "shoppulse_kpi_snapshots_total",
                "KPI snapshots published, by kind (provisional or final).",
                ["kind"],
                registry=registry,
            ),
            event_to_snapshot=Histogram(
                "shoppulse_event_to_snapshot_seconds",
                "From an event's time to the publication of the first snapshot that counts it,"
                " observed once per snapshot for the oldest event it adds.",
                buckets=LATENCY_BUCKETS_S,
                registry=registry,
            ),
            batch_seconds=Histogram(
                "shoppulse_batch_processing_seconds",
                "Time to validate, count and persist one batch of consumed records and publish"
                " what it closes.",
                buckets=BATCH_BUCKETS_S,
                registry=registry,
            ),
            consumer_lag=Gauge(
                "shoppulse_consumer_lag_records",
                "Records of the source topic not yet processed by this worker (high watermark"
                " minus next offset, summed over the partitions it owns).",
                ["topic"],
                registry=registry,
            ),
        )
        for family in topics.SOURCE_TOPICS:
            metrics.events.labels(family)
            metrics.duplicates.labels(family)
            metrics.late_events.labels(family)
            metrics.redelivered.labels(family)
            metrics.rewinds.labels(family)
        for reason in get_args(RejectReason):
            metrics.dead_letters.labels(reason)
        for kind in ("provisional", "final"):
            metrics.snapshots.labels(kind)
        return metrics
