"""Simulated shop traffic through the real broker, in event time = wall time.

:class:`LiveTraffic` runs the seeded :class:`~simulator.simulation.Simulator` from
``backlog_s`` ago: the backlog is produced at once, then every event when the wall clock
reaches its ``ts``, in a background thread, until :meth:`LiveTraffic.stop`. With
``yesterday_s`` the same stores' traffic of the same window one day earlier (from
``backlog_s`` before to ``yesterday_s`` after this moment, yesterday) is produced first, so
that the API has yesterday's minutes to compare with.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence

import orjson
from kafka import KafkaProducer

from kafka_io.config import kafka_python_config
from shoppulse.settings import Settings
from simulator.incidents import Incident
from simulator.simulation import DAY_MS, SimEvent, Simulator


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class LiveTraffic:
    """Produce simulated events to the namespaced source topics, keyed by store."""

    def __init__(
        self,
        settings: Settings,
        *,
        stores: int,
        seed: int,
        backlog_s: float,
        events_per_s: float,
        incidents: Sequence[Incident] = (),
        start_ms: int | None = None,
        yesterday_s: float | None = None,
    ) -> None:
        self.settings = settings
        self.start_ms = start_ms if start_ms is not None else wall_ms() - int(backlog_s * 1000)
        self.yesterday: Simulator | None = None
        self.yesterday_end_ms = self.start_ms - DAY_MS + int(backlog_s * 1000)
        if yesterday_s is not None:
            self.yesterday = Simulator(
                stores=stores,
                seed=seed + 1,
                start_ms=self.start_ms - DAY_MS,
                events_per_s=events_per_s,
                diurnal=False,
            )
            self.yesterday_end_ms += int(yesterday_s * 1000)
        self.sim = Simulator(
            stores=stores,
            seed=seed,
            start_ms=self.start_ms,
            events_per_s=events_per_s,
            incidents=incidents,
            diurnal=False,
        )
        self.sent: Counter[str] = Counter()
        self.errors: list[str] = []
        self.backlog_done = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def start(self) -> LiveTraffic:
        self._thread = threading.Thread(target=self._run, name="live-traffic", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop producing and flush; raises if the thread does not end or sends failed."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            assert not self._thread.is_alive(), "the traffic thread did not stop"
        assert not self.errors, f"events were not delivered: {self.errors[:3]}"

    def _run(self) -> None:
        producer = KafkaProducer(**kafka_python_config(self.settings), acks="all", linger_ms=10)
        topics: dict[str, str] = {}

        def send(ev: SimEvent) -> None:
            topic = topics.get(ev.topic_family) or topics.setdefault(
                ev.topic_family, self.settings.topic(ev.topic_family)
            )
            producer.send(topic, key=ev.key.encode(), value=orjson.dumps(ev.value)).add_errback(
                lambda exc: self.errors.append(repr(exc))
            )
            self.sent[ev.key] += 1

        last_flush = time.monotonic()
        try:
            if self.yesterday is not None:  # first, so no store's stream time is past it
                for ev in self.yesterday.until(self.yesterday_end_ms):
                    send(ev)
                producer.flush(timeout=60)
            for ev in self.sim.events():
                if self._stop.is_set():
                    break
                due_in_s = (ev.ts_ms - wall_ms()) / 1000
                if due_in_s > 0:
                    if not self.backlog_done.is_set():
                        producer.flush(timeout=30)
                        self.backlog_done.set()
                    if self._stop.wait(min(due_in_s, 0.5)):
                        break
                    while (due_in_s := (ev.ts_ms - wall_ms()) / 1000) > 0:
                        if self._stop.wait(min(due_in_s, 0.5)):
                            return
                topic = topics.get(ev.topic_family) or topics.setdefault(
                    ev.topic_family, self.settings.topic(ev.topic_family)
                )
                producer.send(topic, key=ev.key.encode(), value=orjson.dumps(ev.value)).add_errback(
                    lambda exc: self.errors.append(repr(exc))
                )
                self.sent[ev.key] += 1
                if time.monotonic() - last_flush > 0.2:
                    producer.flush(timeout=30)
                    last_flush = time.monotonic()
        finally:
            producer.flush(timeout=30)
            producer.close(timeout=10)
            self.backlog_done.set()
