"""The demo's traffic: a backfilled history, then the same stores live, with one scripted incident.

:func:`plan` decides what history to produce (the detectors learn from every final minute, ADR
19, and the API compares with yesterday and last week), :class:`DemoTraffic` produces it oldest
first as fast as the producer goes, then, once event time has caught up with the wall clock,
paces the same :class:`~simulator.simulation.Simulator` in real time and switches on a checkout
outage (``conversion_drop`` with factor 0: checkouts go on, no order is paid) in the busy
store a minute into the live run.

History budget: the worker counts about 15-25k events/s on two cores, and a checkout outage is
seen within minutes only in a store with a few paid orders a minute (about one event in a
hundred is a paid order). A full week at that rate is millions of events, so the history is
the stretches the product reads most: the two hours around this time last week (the
``last_week`` comparisons of the 1m, 5m and 1h windows) and the last 25 hours (the ``yesterday``
comparisons, and a day that warms every hour of the detectors' daily profiles); the stores are
silent in between (a ``gap`` profile; ``straight=True`` fills it: a week is about 6 times
the events). Today-so-far comparisons reach back to midnight and are partial.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from shoppulse.settings import Settings
from simulator.incidents import Incident
from simulator.regions import CURRENCIES, region_offset_min, store_currency
from simulator.simulation import Simulator, diurnal_factor
from simulator.store_profiles import TrafficProfile

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
#: Events/s (daily mean) of every store but the busiest.
QUIET_RATE = 0.4


@dataclass(frozen=True)
class Plan:
    """What the demo produces: history from ``start_ms`` to ``now_ms`` minus ``gaps``."""

    now_ms: int
    start_ms: int
    gaps: tuple[tuple[int, int], ...]
    busy_store: str
    store_rates: dict[str, float]
    currencies: tuple[str, ...] = ()
    """The stores' currencies (and so regions), in store order (``Simulator(currencies=)``)."""

    @property
    def history_ms(self) -> int:
        """Event time with traffic in the history (the gaps left out)."""
        return self.now_ms - self.start_ms - sum(b - a for a, b in self.gaps)

    def covered_ms(self, ts_ms: int) -> int:
        """How much of the history's event time lies before ``ts_ms``."""
        done = min(ts_ms, self.now_ms) - self.start_ms
        for a, b in self.gaps:
            done -= max(0, min(ts_ms, b) - a)
        return max(0, done)

    def profiles(self) -> list[TrafficProfile]:
        out = [TrafficProfile("variance")]
        for a, b in self.gaps:
            spec = f"gap:start=+{(a - self.start_ms) // 1000}s,length={(b - a) // 1000}s"
            out.append(TrafficProfile.parse(spec, origin_ms=self.start_ms))
        for store, rate in self.store_rates.items():
            out.append(TrafficProfile.parse(f"steady:{store}:rate={rate}", origin_ms=self.start_ms))
        return out

    def simulator(self, seed: int, incidents: Sequence[Incident] = ()) -> Simulator:
        """The plan's stores from its start, as the demo produces them."""
        return Simulator(
            stores=len(self.store_rates),
            seed=seed,
            start_ms=self.start_ms,
            profiles=self.profiles(),
            currencies=self.currencies,
            incidents=incidents,
        )

    def checkout_outage(self, start_ms: int, length_ms: int) -> Incident:
        """The scripted incident: the busy store's checkouts stop turning into paid orders."""
        return Incident("conversion_drop", self.busy_store, start_ms, start_ms + length_ms, 0.0)


def plan(
    now_ms: int,
    stores: int,
    seed: int,
    history_days: float,
    busy_rate: float,
    quiet_rate: float,
    *,
    straight: bool = False,
) -> Plan:
    """The history for ``stores`` stores ending ``now_ms``.

    ``history_days`` >= 7: the two hours around this time last week and the last 25 hours;
    shorter, or ``straight``: that many days straight. The busy store (``store-001``) is
    placed in the region where it is day now (:func:`daytime_currency`) and sends
    ``busy_rate`` events/s now: its daily mean is that over the daily curve's factor now, so
    that its checkouts are frequent enough for an outage to be seen within minutes at any
    hour the demo starts. The others send ``quiet_rate`` events/s, a daily mean.

    >>> p = plan(1_765_000_000_000, 3, 1, 8, 5.0, 0.4)  # 05:46 UTC: night in Europe
    >>> p.busy_store, p.currencies, sorted(p.store_rates.values()), len(p.gaps)
    ('store-001', ('INR', 'USD', 'GBP'), [0.4, 0.4, 3.12], 1)
    >>> round(p.history_ms / 3_600_000)
    27
    >>> p.covered_ms(p.now_ms) == p.history_ms
    True
    >>> round(plan(1_765_000_000_000, 3, 1, 8, 5.0, 0.4, straight=True).history_ms / 3_600_000)
    192
    """
    busy = "store-001"
    soon = now_ms + 5 * MINUTE_MS
    first = daytime_currency(soon)
    currencies = tuple(store_currency(i, (first,)) for i in range(1, stores + 1))
    mean_rate = round(busy_rate / local_factor(first, soon), 2)
    rates = {f"store-{i:03d}": (mean_rate if i == 1 else quiet_rate) for i in range(1, stores + 1)}
    if history_days < 7 or straight:
        start = now_ms - round(history_days * DAY_MS)
        return Plan(now_ms, start - start % MINUTE_MS, (), busy, rates, currencies)
    week_ago = now_ms - 7 * DAY_MS
    start = week_ago - HOUR_MS
    start -= start % MINUTE_MS
    gap_from = week_ago + HOUR_MS
    gap_from -= gap_from % MINUTE_MS
    recent = now_ms - DAY_MS - HOUR_MS
    recent -= recent % MINUTE_MS
    return Plan(now_ms, start, ((gap_from, recent),), busy, rates, currencies)


def daytime_currency(at_ms: int) -> str:
    """The simulated currency (region) whose local time at ``at_ms`` has the most traffic
    (:func:`~simulator.simulation.diurnal_factor`); the first such in table order.

    >>> daytime_currency(1_765_000_000_000), daytime_currency(1_765_040_000_000)
    ('INR', 'USD')
    """
    return max(CURRENCIES, key=lambda c: local_factor(c, at_ms))


def local_factor(currency: str, at_ms: int) -> float:
    """The daily curve's factor at ``at_ms`` for a store in the region of ``currency``.

    >>> round(local_factor("INR", 1_765_000_000_000), 2)  # 11:16 in India
    1.59
    """
    return diurnal_factor(at_ms + region_offset_min(currency) * MINUTE_MS)


@dataclass
class DemoTraffic:
    """Produces the plan's history as fast as it goes, then the same stores live, in a thread.

    When the live run starts, a checkout outage of the busy store is scheduled
    ``incident_after_ms`` later (the next minute start) for ``incident_for_ms`` (``incident``).
    """

    settings: Settings
    plan: Plan
    seed: int
    incident_after_ms: int | None
    incident_for_ms: int
    incident: Incident | None = None
    sent: int = 0
    history_sent: int = 0
    last_ts_ms: int = 0
    live_since_ms: int | None = None
    history_wall_s: float | None = None
    error: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="demo-traffic", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._produce()
        except Exception as exc:  # reported by the demo, which then stops
            self.error = repr(exc)

    def _produce(self) -> None:
        from kafka import KafkaProducer

        from kafka_io.config import kafka_python_config

        sim = self.plan.simulator(self.seed)
        producer = KafkaProducer(
            **kafka_python_config(self.settings),
            acks="all",
            linger_ms=20,
            batch_size=256 * 1024,
        )
        topics: dict[str, str] = {}
        wall0 = time.monotonic()
        failures: list[str] = []

        def on_error(exc: BaseException) -> None:
            failures.append(repr(exc))

        try:
            for ev in sim.events():
                if self.stop.is_set():
                    break
                if self.live_since_ms is None and ev.ts_ms >= time.time() * 1000:
                    producer.flush(timeout=60)
                    self.history_sent = self.sent
                    self.history_wall_s = time.monotonic() - wall0
                    self.live_since_ms = ev.ts_ms
                    if self.incident_after_ms is not None:
                        begin = minutes_up(ev.ts_ms + self.incident_after_ms)
                        self.incident = self.plan.checkout_outage(begin, self.incident_for_ms)
                        sim.incidents = (*sim.incidents, self.incident)
                if self.live_since_ms is not None:
                    while not self.stop.is_set():
                        delay = ev.ts_ms / 1000 - time.time()
                        if delay <= 0:
                            break
                        time.sleep(min(delay, 0.25))
                topic = topics.get(ev.topic_family)
                if topic is None:
                    topic = topics[ev.topic_family] = self.settings.topic(ev.topic_family)
                producer.send(topic, key=ev.key.encode(), value=orjson.dumps(ev.value)).add_errback(
                    on_error
                )
                self.sent += 1
                self.last_ts_ms = ev.ts_ms
                if failures:
                    raise RuntimeError(f"events not delivered: {failures[0]}")
        finally:
            producer.close(timeout=10)


def clock(ts_ms: int) -> str:
    """``HH:MM`` local wall time of ``ts_ms``."""
    return time.strftime("%H:%M", time.localtime(ts_ms / 1000))


def minutes_up(ts_ms: int) -> int:
    """``ts_ms`` rounded up to a minute start."""
    return math.ceil(ts_ms / MINUTE_MS) * MINUTE_MS
