"""Counters of ``POST /api/v1/events`` outcomes, exported on the API's ``/metrics``.

:class:`IngestStats` is plain counts, kept by the ingest route; :class:`IngestCollector`
reads them when Prometheus scrapes (on the registry :meth:`api.metrics.ApiMetrics.create`
is given, never the global one). Every outcome and reason starts at 0, so a rate or an
alert on one needs no ``absent()``. Names and labels are in ``docs/metrics.md``.

>>> from prometheus_client import CollectorRegistry, generate_latest
>>> stats = IngestStats()
>>> stats.refused(3, [BadEnvelope(0, "late", "closed")])
>>> registry = CollectorRegistry()
>>> registry.register(IngestCollector(stats))
>>> text = generate_latest(registry).decode()
>>> 'shoppulse_ingest_events_total{outcome="refused"} 3.0' in text
True
>>> 'shoppulse_ingest_rejected_events_total{reason="late"} 1.0' in text
True
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from api.ingest import BadEnvelope
from api.ingest_check import WARNING_REASONS

OUTCOMES: Final = ("accepted", "refused", "unacknowledged")
"""Produced (202); in a refused batch (422, nothing produced); not acknowledged by Kafka (503)."""
REJECT_REASONS: Final = (
    "invalid_json",
    "late",
    "not_an_object",
    "schema",
    "too_large",
    "too_many_lines",
    "unknown_topic",
)
"""The reasons an ingested event can be refused for (dead-letter reasons, ``late`` included)."""


def _zeros(names: Iterable[str]) -> dict[str, int]:
    return dict.fromkeys(names, 0)


@dataclass(slots=True)
class IngestStats:
    """Events of ``POST /api/v1/events`` by outcome, refusal reason and warning."""

    events: dict[str, int] = field(default_factory=lambda: _zeros(OUTCOMES))
    rejected: dict[str, int] = field(default_factory=lambda: _zeros(REJECT_REASONS))
    warnings: dict[str, int] = field(default_factory=lambda: _zeros(WARNING_REASONS))

    def accepted(self, count: int, warnings: Iterable[BadEnvelope]) -> None:
        """``count`` events produced, with these warnings."""
        self.events["accepted"] += count
        _count(self.warnings, warnings)

    def refused(self, size: int, errors: Iterable[BadEnvelope]) -> None:
        """A batch of ``size`` events refused (nothing produced) for these ``errors``."""
        self.events["refused"] += size
        _count(self.rejected, errors)

    def unacknowledged(self, count: int) -> None:
        """``count`` events Kafka did not acknowledge (503: the client retries them)."""
        self.events["unacknowledged"] += count


def _count(counts: dict[str, int], issues: Iterable[BadEnvelope]) -> None:
    for issue in issues:
        counts[issue.reason] = counts.get(issue.reason, 0) + 1


class IngestCollector(Collector):
    """The :class:`IngestStats` as three counter families."""

    def __init__(self, stats: IngestStats) -> None:
        self.stats = stats

    def describe(self) -> Iterable[Metric]:
        return list(_families().values())

    def collect(self) -> Iterator[Metric]:
        families = _families()
        for key, counts in (
            ("events", self.stats.events),
            ("rejected", self.stats.rejected),
            ("warnings", self.stats.warnings),
        ):
            _fill(families[key], counts)
        yield from families.values()


def _fill(family: CounterMetricFamily, counts: Mapping[str, int]) -> None:
    for label, value in sorted(counts.items()):
        family.add_metric([label], value)


def _families() -> dict[str, CounterMetricFamily]:
    return {
        "events": CounterMetricFamily(
            "shoppulse_ingest_events",
            "Events posted to /api/v1/events, by outcome: accepted (produced to Kafka), refused"
            " (in a batch answered 422: nothing produced) or unacknowledged (503: Kafka did not"
            " acknowledge them).",
            labels=["outcome"],
        ),
        "rejected": CounterMetricFamily(
            "shoppulse_ingest_rejected_events",
            "Events a 422 of /api/v1/events named, by reason: late (their minute is closed at"
            " the worker as far as the API has read) or a dead-letter reason of the contract.",
            labels=["reason"],
        ),
        "warnings": CounterMetricFamily(
            "shoppulse_ingest_warnings",
            "Accepted events of /api/v1/events with a warning, by reason: likely_late (the"
            " worker has probably closed their minute) or before_history (counted by the"
            " worker, not served by the API).",
            labels=["reason"],
        ),
    }


__all__ = ["OUTCOMES", "REJECT_REASONS", "IngestCollector", "IngestStats"]
