"""The alert dispatcher's Prometheus metrics, registered on an injected registry.

Every labelled series the dispatcher can move is created at zero when it starts
(:meth:`DispatcherMetrics.prepare`), so that ``increase()`` sees a receiver's first
failure: a series that first appears at 1 has no increase to Prometheus.

>>> from prometheus_client import generate_latest
>>> registry = CollectorRegistry()
>>> m = DispatcherMetrics.create(registry)
>>> m.prepare(["mail", "am"], alertmanager=["am"])
>>> text = generate_latest(registry).decode()
>>> 'shoppulse_notifications_total{outcome="failed",receiver="mail"} 0.0' in text
True
>>> 'shoppulse_alertmanager_resends_total{outcome="failed",receiver="am"} 0.0' in text
True
>>> 'shoppulse_alertmanager_resends_total{outcome="failed",receiver="mail"}' in text
False
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from alerts.dispatch_policy import SUPPRESSIONS

OUTCOMES: Final = ("delivered", "failed")
RESEND_OUTCOMES: Final = ("sent", "failed")


@dataclass(frozen=True)
class DispatcherMetrics:
    notifications: Counter
    attempts: Counter
    suppressed: Counter
    invalid: Counter
    queued: Gauge
    delivery_seconds: Histogram
    alertmanager_resends: Counter
    silences_active: Gauge

    def prepare(self, receivers: Iterable[str], *, alertmanager: Iterable[str] = ()) -> None:
        """Create every series of these receivers at zero (see the module docstring)."""
        for name in receivers:
            for outcome in OUTCOMES:
                self.notifications.labels(name, outcome)
            self.attempts.labels(name)
            self.queued.labels(name)
            self.delivery_seconds.labels(name)
        for name in alertmanager:
            for outcome in RESEND_OUTCOMES:
                self.alertmanager_resends.labels(name, outcome)
        for reason in SUPPRESSIONS:
            self.suppressed.labels(reason)

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
            silences_active=Gauge(
                "shoppulse_silences_active",
                "Silences in force now, as the dispatcher knows them from shoppulse.alert-actions.",
                registry=registry,
            ),
        )
