"""The API's Prometheus metrics: every KPI per store and window, and the API's own state.

Everything is read from the application's objects when Prometheus scrapes (custom
collectors on an injected registry, never the global default one), so no gauge is
updated per snapshot and a store or alert that disappears leaves no stale series.
The names and labels are documented in ``docs/metrics.md`` (a test keeps it true).

- **KPIs** (:class:`KpiSampler`, :class:`KpiCollector`): one gauge family per registry KPI
  (:mod:`shoppulse.metric_names`) with ``store_id`` (each store and ``all``), ``window``
  (``1m``, ``5m``, ``1h``, ``today``) and ``period`` (``current``, and ``yesterday``: the
  same window one day earlier, as ``GET /api/v1/kpis`` compares). A KPI that is null
  (no denominator, a distinct count that cannot be merged, money across currencies, or
  a comparison whose minutes are not held) has no sample. ``1m`` comes from
  :meth:`~api.view.KpiView.rollup` and :func:`~api.comparisons.compare`; the longer windows
  from :mod:`api.rollup_cache`, with the same results at a fraction of the cost.
- **State** (:class:`ApiStateCollector`): stores and their currency, the newest minute of
  each store and when it was published, websocket clients, firing alerts by store and
  severity, what the view did with the snapshots it read, and the Kafka feeds.
- **Ingest** (:class:`~api.ingest_metrics.IngestCollector`): events posted to
  ``/api/v1/events`` by outcome, refusal reason (``late`` included) and warning.

:meth:`ApiMetrics.refresh` recomputes the KPI samples: it copies the minutes it needs
from the view on the event loop (the feed mutates the view there), then rolls them up in
a worker thread, so the loop only waits for the copy.

>>> from api.view import KpiView
>>> from shoppulse.snapshot import KpiSnapshot
>>> now = 1_714_564_830_000  # 2024-05-01T12:00:30Z
>>> view = KpiView(clock=lambda: now)
>>> _ = view.apply(KpiSnapshot(store_id="s1", window_start_ms=now - now % 60_000,
...     window_end_ms=now - now % 60_000 + 60_000, final=False, revision=1, currency="EUR",
...     emitted_at_ms=now, components={"orders_paid": 3, "gmv_minor": 4500}))
>>> metrics = ApiMetrics.create(view)
>>> metrics.update()
>>> text = generate_latest(metrics.registry).decode()
>>> 'shoppulse_kpi_aov_minor{period="current",store_id="s1",window="today"} 1500.0' in text
True
>>> 'shoppulse_store_info{currency="EUR",store_id="s1"} 1.0' in text
True
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol, get_args

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from alerts.board import AlertBoard
from alerts.topic_follower import FeedStats
from api.broadcast import Broadcaster
from api.clock import DAY_MS
from api.comparisons import compare
from api.ingest_metrics import IngestCollector, IngestStats
from api.rollup_cache import MinuteIndex, Partial, RollupCache, kpis_of
from api.rollups import ALL_STORES, WINDOWS, Window
from api.view import KpiView
from shoppulse.alert_shape import Severity
from shoppulse.metric_names import KPI_LABELS, KPI_METRIC_BY_NAME, KPI_METRICS
from shoppulse.snapshot import KpiSnapshot

SEVERITIES: Final[tuple[str, ...]] = get_args(Severity)
_YESTERDAY_MS: Final = DAY_MS

KpiLabels = tuple[str, str, str]
"""``(store_id, window, period)``."""
Samples = dict[str, list[tuple[KpiLabels, float]]]
"""Per KPI name (``gmv_minor``), its samples in base units."""


@dataclass(frozen=True, slots=True)
class _Copy:
    """What one refresh needs from the view, copied on the event loop."""

    cutoff_ms: int
    bounds: Mapping[Window, tuple[int, int]]
    currency: Mapping[str, str | None]
    minutes: Mapping[tuple[str, str], Sequence[KpiSnapshot]]
    one_minute: Samples


def _add(out: Samples, labels: KpiLabels, kpis: Mapping[str, float | None]) -> None:
    for name, value in kpis.items():
        metric = KPI_METRIC_BY_NAME.get(name)
        if metric is not None and value is not None:
            out.setdefault(name, []).append((labels, metric.to_metric(value)))


class KpiSampler:
    """Computes every KPI sample from a view; see the module docstring."""

    def __init__(self, view: KpiView) -> None:
        self.view = view
        self.cache = RollupCache(view.window_ms)
        self._cache_lock = threading.Lock()  # a cancelled scrape's thread may still run
        self.samples: Samples = {}
        self.refreshed_at_s: float | None = None
        self.last_duration_s: float | None = None

    def copy(self) -> _Copy:
        """Copy what a refresh reads from the view (call it where the view is updated).

        Windows of one minute (``1m``, and ``today`` in the first minute of the day) are
        rolled up here, by the view itself: a single store-minute is exact, not a sketch
        estimate, now and yesterday.
        """
        view = self.view
        stores = view.stores()
        bounds = {w: view.window_bounds(w) for w in WINDOWS}
        short = [w for w, (start, end) in bounds.items() if end - start <= view.window_ms]
        one_minute: Samples = {}
        for window in short if stores else ():
            for store in [*stores, ALL_STORES]:
                rollup = view.rollup(store, window)
                yesterday = compare(view, rollup).values["yesterday"]
                _add(one_minute, (store, window, "current"), rollup.kpis)
                _add(one_minute, (store, window, "yesterday"), yesterday)
        long = {w: b for w, b in bounds.items() if w not in short}
        minutes = {}
        if long:
            lo = min(start for start, _ in long.values())
            hi = max(end for _, end in long.values())
            for store in stores:
                minutes[(store, "current")] = view.minutes(store, lo, hi)
                minutes[(store, "yesterday")] = view.minutes(
                    store, lo - _YESTERDAY_MS, hi - _YESTERDAY_MS
                )
        return _Copy(
            cutoff_ms=view.cutoff_ms(),
            bounds=long,
            currency={s: view.currency(s) for s in stores},
            minutes=minutes,
            one_minute=one_minute,
        )

    def compute(self, copied: _Copy) -> Samples:
        """Roll the copied minutes up over ``5m``, ``1h`` and ``today``, now and yesterday."""
        with self._cache_lock:
            return self._compute(copied)

    def _compute(self, copied: _Copy) -> Samples:
        out: Samples = {name: list(samples) for name, samples in copied.one_minute.items()}
        stores = sorted({store for store, _ in copied.minutes})
        indexes = {key: MinuteIndex(snaps) for key, snaps in copied.minutes.items()}
        for window, (start, end) in copied.bounds.items():
            for period, shift in (("current", 0), ("yesterday", _YESTERDAY_MS)):
                lo, hi = start - shift, end - shift
                if period == "yesterday" and lo < copied.cutoff_ms:
                    continue  # not held, as in api.comparisons
                parts: dict[str, Partial] = {}
                for store in stores:
                    part = self.cache.partial(store, indexes[(store, period)], lo, hi)
                    parts[store] = part
                    if period == "current" or part.minutes:
                        kpis = kpis_of({store: part}, copied.currency, hi - lo)
                        _add(out, (store, window, period), kpis)
                if stores and (period == "current" or any(p.minutes for p in parts.values())):
                    _add(
                        out, (ALL_STORES, window, period), kpis_of(parts, copied.currency, hi - lo)
                    )
        self.cache.sweep()
        return out

    def update(self) -> None:
        """Copy and compute in this thread (tests, and callers outside an event loop)."""
        started = time.perf_counter()
        self.samples = self.compute(self.copy())
        self._done(started)

    async def refresh(self) -> None:
        """Copy on the event loop, compute in a worker thread."""
        started = time.perf_counter()
        copied = self.copy()
        self.samples = await asyncio.to_thread(self.compute, copied)
        self._done(started)

    def _done(self, started: float) -> None:
        self.refreshed_at_s = time.time()
        self.last_duration_s = time.perf_counter() - started


class KpiCollector(Collector):
    """One gauge family per registry KPI, from the sampler's latest samples."""

    def __init__(self, sampler: KpiSampler) -> None:
        self.sampler = sampler

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(m.name, m.help, labels=KPI_LABELS) for m in KPI_METRICS]

    def collect(self) -> Iterator[Metric]:
        samples = self.sampler.samples
        for metric in KPI_METRICS:
            family = GaugeMetricFamily(metric.name, metric.help, labels=KPI_LABELS)
            for labels, value in samples.get(metric.kpi.name, ()):
                family.add_metric(labels, value)
            yield family
        duration = GaugeMetricFamily(
            "shoppulse_metrics_kpi_refresh_seconds",
            "How long the latest computation of the KPI samples took (copy and rollups).",
        )
        if self.sampler.last_duration_s is not None:
            duration.add_metric([], self.sampler.last_duration_s)
        yield duration


class FollowedFeed(Protocol):
    """A Kafka feed of the API (:class:`alerts.topic_follower.FollowedTopic`)."""

    stats: FeedStats

    @property
    def caught_up(self) -> bool: ...


class ApiStateCollector(Collector):
    """Stores, websocket clients, firing alerts, the view's counters and the feeds."""

    def __init__(
        self,
        view: KpiView,
        broadcaster: Broadcaster | None = None,
        board: AlertBoard | None = None,
        feeds: Mapping[str, FollowedFeed | None] | None = None,
    ) -> None:
        self.view = view
        self.broadcaster = broadcaster
        self.board = board
        self.feeds = dict(feeds or {})

    def describe(self) -> Iterable[Metric]:
        return list(_state_families().values())

    def collect(self) -> Iterator[Metric]:
        f = _state_families()
        latest = self.view.latest_by_store()
        for store, snap in latest.items():
            f["info"].add_metric([store, self.view.currency(store) or ""], 1.0)
            f["minute"].add_metric([store], snap.window_start_ms / 1000)
            f["update"].add_metric([store], snap.emitted_at_ms / 1000)
        if latest:  # store_id="all": the newest over the stores
            newest = max(latest.values(), key=lambda s: (s.window_start_ms, s.emitted_at_ms))
            f["minute"].add_metric([ALL_STORES], newest.window_start_ms / 1000)
            f["update"].add_metric(
                [ALL_STORES], max(s.emitted_at_ms for s in latest.values()) / 1000
            )
        if self.broadcaster is not None:
            f["clients"].add_metric([], self.broadcaster.subscriber_count)
            f["slow_drops"].add_metric([], self.broadcaster.slow_drops)
        if self.board is not None:
            counts = dict.fromkeys(
                ((s, sev) for s in [*latest, ALL_STORES] for sev in SEVERITIES), 0
            )
            for alert in self.board.firing():
                severity = alert.labels.get("severity", "")
                for store in (alert.store_id, ALL_STORES):
                    counts[(store, severity)] = counts.get((store, severity), 0) + 1
            for (store, severity), n in sorted(counts.items()):
                f["firing"].add_metric([store, severity], n)
        stats = self.view.stats
        f["snapshots"].add_metric(["applied"], stats.applied)
        f["snapshots"].add_metric(["stale"], stats.ignored_stale)
        f["snapshots"].add_metric(["too_old"], stats.ignored_too_old)
        f["evicted"].add_metric([], stats.evicted)
        for name, feed in self.feeds.items():
            if feed is not None:
                f["caught_up"].add_metric([name], 1.0 if feed.caught_up else 0.0)
                f["records"].add_metric([name], feed.stats.records)
                f["bad"].add_metric([name], feed.stats.bad_records)
        yield from f.values()


def _state_families() -> dict[str, GaugeMetricFamily | CounterMetricFamily]:
    return {
        "info": GaugeMetricFamily(
            "shoppulse_store_info",
            "1 for every store the API holds minutes of, with its currency (money is in its"
            " minor units).",
            labels=["store_id", "currency"],
        ),
        "minute": GaugeMetricFamily(
            "shoppulse_store_latest_minute_start_timestamp_seconds",
            "Event-time start of the newest minute the API holds for the store (all: the"
            " newest of any store).",
            labels=["store_id"],
        ),
        "update": GaugeMetricFamily(
            "shoppulse_store_last_update_timestamp_seconds",
            "When the worker published the latest revision of the store's newest minute (all:"
            " the latest of any store).",
            labels=["store_id"],
        ),
        "clients": GaugeMetricFamily(
            "shoppulse_websocket_clients", "Websocket clients following /ws/live."
        ),
        "slow_drops": CounterMetricFamily(
            "shoppulse_websocket_slow_drops",
            "Websocket clients closed (1013) for not taking a message within the send timeout.",
        ),
        "firing": GaugeMetricFamily(
            "shoppulse_alerts_firing",
            "Alerts firing now (from shoppulse.alerts), by store and severity; store_id=all"
            " counts every store (leave it out when summing).",
            labels=["store_id", "severity"],
        ),
        "snapshots": CounterMetricFamily(
            "shoppulse_view_snapshots",
            "KPI snapshots read by the API's view, by outcome: applied, stale (a duplicate or"
            " an older revision) or too_old (before the retention cutoff).",
            labels=["outcome"],
        ),
        "evicted": CounterMetricFamily(
            "shoppulse_view_evictions", "Store-minute snapshots dropped by the view's retention."
        ),
        "caught_up": GaugeMetricFamily(
            "shoppulse_feed_caught_up",
            "1 once a Kafka feed of the API has read its topic up to the end offsets it saw at"
            " start (as /readyz), else 0.",
            labels=["feed"],
        ),
        "records": CounterMetricFamily(
            "shoppulse_feed_records", "Records read by a Kafka feed of the API.", labels=["feed"]
        ),
        "bad": CounterMetricFamily(
            "shoppulse_feed_bad_records",
            "Records a Kafka feed of the API could not decode (logged and skipped).",
            labels=["feed"],
        ),
    }


@dataclass
class ApiMetrics:
    """The API's registry and the sampler behind its KPI gauges."""

    registry: CollectorRegistry
    sampler: KpiSampler
    ingest: IngestStats = field(default_factory=IngestStats)
    """What ``POST /api/v1/events`` did (the route counts into it)."""
    min_refresh_interval_s: float = 1.0
    """A scrape within this long of the previous refresh reuses its samples."""
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def create(
        cls,
        view: KpiView,
        *,
        broadcaster: Broadcaster | None = None,
        board: AlertBoard | None = None,
        feeds: Mapping[str, FollowedFeed | None] | None = None,
        registry: CollectorRegistry | None = None,
        ingest: IngestStats | None = None,
    ) -> ApiMetrics:
        """Register the collectors on ``registry`` (a new one by default); ``ingest`` is
        what the ingest route counts into (a new one by default)."""
        reg = registry if registry is not None else CollectorRegistry()
        sampler = KpiSampler(view)
        stats = ingest if ingest is not None else IngestStats()
        reg.register(KpiCollector(sampler))
        reg.register(ApiStateCollector(view, broadcaster, board, feeds))
        reg.register(IngestCollector(stats))
        return cls(reg, sampler, stats)

    def update(self) -> None:
        """Recompute the KPI samples now, in this thread."""
        self.sampler.update()

    async def refresh(self) -> None:
        """Recompute the KPI samples unless a refresh finished within the interval."""
        async with self._lock:
            done = self.sampler.refreshed_at_s
            if done is not None and time.time() - done < self.min_refresh_interval_s:
                return
            await self.sampler.refresh()

    def render(self) -> bytes:
        """The registry in Prometheus' text format (version 0.0.4)."""
        return generate_latest(self.registry)


__all__ = [
    "SEVERITIES",
    "ApiMetrics",
    "ApiStateCollector",
    "KpiCollector",
    "KpiSampler",
]
