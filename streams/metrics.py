"""The worker's Prometheus metrics, registered on an injected registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter


@dataclass(frozen=True)
class WorkerMetrics:
    events: Counter
    duplicates: Counter
    dead_letters: Counter
    snapshots: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> WorkerMetrics:
        return cls(
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
            snapshots=Counter(
                "shoppulse_kpi_snapshots_total",
                "KPI snapshots published, by kind (provisional or final).",
                ["kind"],
                registry=registry,
            ),
        )
