"""The alert dispatcher's Prometheus metrics, registered on an injected registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class DispatcherMetrics:
    notifications: Counter
    attempts: Counter
    suppressed: Counter
    invalid: Counter
    queued: Gauge
    delivery_seconds: Histogram
    alertmanager_resends: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> DispatcherMetrics:
        return cls(
            notifications=Counter(
                "shoppulse_notifications_total",
                "Alert notifications finished, by receiver and outcome (delivered or failed:"
                " retries exhausted, recorded on shoppulse.undeliverable).",
                ["receiver", "outcome"],
                registry=registry,
            ),
            attempts=Counter(
                "shoppulse_notification_attempts_total",
                "Delivery attempts (first tries and retries), by receiver.",
                ["receiver"],
                registry=registry,
            ),
            suppressed=Counter(
                "shoppulse_notifications_suppressed_total",
                "Alert state changes not notified, by reason (silenced, acknowledged, unrouted).",
                ["reason"],
                registry=registry,
            ),
            invalid=Counter(
                "shoppulse_alert_records_invalid_total",
                "shoppulse.alerts records that are not alerts (recorded as undeliverable).",
                registry=registry,
            ),
            queued=Gauge(
                "shoppulse_notifications_queued",
                "Notifications waiting for or in delivery, by receiver.",
                ["receiver"],
                registry=registry,
            ),
            delivery_seconds=Histogram(
                "shoppulse_notification_delivery_seconds",
                "Time from dequeue to the end of delivery (retries included), by receiver.",
                ["receiver"],
                buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
                registry=registry,
            ),
            alertmanager_resends=Counter(
                "shoppulse_alertmanager_resends_total",
                "Periodic re-sends of firing alerts to Alertmanager, by receiver and outcome.",
                ["receiver", "outcome"],
                registry=registry,
            ),
        )
