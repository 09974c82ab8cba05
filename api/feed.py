"""The Kafka edge of the API: ``shoppulse.kpis`` → :class:`~api.view.KpiView` → websockets.

:class:`KpiFeed` reads every partition of the KPI topics without a consumer
group (each API process needs every store). At start (ADR 24) it first reads the closed
minutes, one record each, from ``shoppulse.kpis.final``, from the retention cutoff
(:meth:`~api.view.KpiView.cutoff_ms`: an hour before the start of the same UTC day last
week, so the topics' retention on the broker must reach back that far for the
last-week comparisons; less the worker's accepted clock skew, as a minute's snapshots are
published from its first event's arrival) up to the end offsets it saw. With them come the
worker's horizons (:mod:`shoppulse.final_log`): from the earliest of them (never before the
cutoff) it then reads ``shoppulse.kpis``, about 60 provisional snapshots a busy store-minute,
only for the minutes still open or closed since, and follows it. When a source partition has
no horizon (a worker from before ADR 24, or one stopped for longer than the retention) it
reads ``shoppulse.kpis`` from the cutoff, as before. Both are found with
``offsets_for_times``. It records the end offsets of ``shoppulse.kpis`` when it gets there
and reports itself caught up (ready) once its positions reach them. A record that does not
decode is logged, counted and skipped; it never stops the feed. Connection failures are
retried with backoff. The Kafka side is :class:`alerts.topic_follower.TopicFollower`,
shared with the alerts feed and the acknowledgements and silences log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Final

from alerts.topic_follower import FeedStats, FollowedTopic, TopicFollower, log_bad_record
from api.broadcast import Broadcaster
from api.messages import update_message
from api.view import KpiView
from kafka_io.admin import ensure_topics
from shoppulse.final_log import CLOCK_MARGIN_MS, Horizon, decode_final_record, tail_start_ms
from shoppulse.settings import ApiSettings
from shoppulse.snapshot import KpiSnapshot
from shoppulse.topics import KPIS, KPIS_FINAL

log = logging.getLogger("shoppulse.api.feed")

MAX_STORE_ID_LEN: Final = 256


class BadSnapshotError(ValueError):
    """A ``shoppulse.kpis`` record that is not a valid KPI snapshot."""


def decode_snapshot(raw: bytes | None) -> KpiSnapshot:
    """Decode and sanity-check one record value, or raise :class:`BadSnapshotError`.

    >>> decode_snapshot(b'{"store_id": "s1"}')
    Traceback (most recent call last):
    ...
    api.feed.BadSnapshotError: missing field 'window_start_ms'
    >>> decode_snapshot(b"not json")
    Traceback (most recent call last):
    ...
    api.feed.BadSnapshotError: not a KPI snapshot: JSONDecodeError
    """
    if raw is None:
        raise BadSnapshotError("empty record (tombstone)")
    try:
        snap = KpiSnapshot.from_json(raw)
    except KeyError as exc:
        raise BadSnapshotError(f"missing field {exc}") from exc
    except (ValueError, TypeError, AttributeError) as exc:
        raise BadSnapshotError(f"not a KPI snapshot: {type(exc).__name__}") from exc
    return check_snapshot(snap)


def decode_final(raw: bytes | None) -> KpiSnapshot | Horizon:
    """Decode one ``shoppulse.kpis.final`` record value: a final snapshot (sanity-checked)
    or a horizon, or raise :class:`BadSnapshotError`.

    >>> decode_final(b'{"horizon": {"source_partition": 0, "partitions": 1,'
    ...     b' "open_from_ms": 60000, "written_at_ms": 61000}}').open_from_ms
    60000
    >>> decode_final(b'{"store_id": "s1"}')
    Traceback (most recent call last):
    ...
    api.feed.BadSnapshotError: missing field 'window_start_ms'
    """
    if raw is None:
        raise BadSnapshotError("empty record (tombstone)")
    try:
        record = decode_final_record(raw)
    except KeyError as exc:
        raise BadSnapshotError(f"missing field {exc}") from exc
    except (ValueError, TypeError, AttributeError) as exc:
        raise BadSnapshotError(f"not a final snapshot or horizon: {type(exc).__name__}") from exc
    if isinstance(record, Horizon):
        return record
    if not record.final:
        raise BadSnapshotError("a provisional snapshot among the finals")
    return check_snapshot(record)


def check_snapshot(snap: KpiSnapshot) -> KpiSnapshot:
    """``snap`` if it is sane (a store id, a window, a revision), else :class:`BadSnapshotError`."""
    if not snap.store_id or len(snap.store_id) > MAX_STORE_ID_LEN:
        raise BadSnapshotError("store_id is empty or too long")
    if snap.window_end_ms <= snap.window_start_ms:
        raise BadSnapshotError("window_end_ms must be after window_start_ms")
    if snap.revision < 0:
        raise BadSnapshotError("revision must not be negative")
    return snap


class KpiFeed(FollowedTopic):
    """Consume ``shoppulse.kpis`` into a view and notify a broadcaster; see the module doc.

    With ``finals_first=False`` it reads ``shoppulse.kpis`` from the cutoff at once, as
    before ADR 24 (the benchmark's baseline).
    """

    def __init__(
        self,
        settings: ApiSettings,
        view: KpiView,
        broadcaster: Broadcaster,
        *,
        finals_first: bool = True,
        poll_timeout_ms: int = 200,
        max_records: int = 2000,
        retry_s: float = 1.0,
    ) -> None:
        self.settings = settings
        self.view = view
        self.broadcaster = broadcaster
        self.topic = settings.topic(KPIS)
        self.finals_topic = settings.topic(KPIS_FINAL)
        self.stats = FeedStats()
        self.horizons: list[Horizon] = []
        self.tail_from_ms: int | None = None
        """Where ``shoppulse.kpis`` is read from (None: from the cutoff, or not decided yet)."""
        self._finals: TopicFollower | None = None
        if finals_first:
            self._finals = TopicFollower(
                settings,
                self.finals_topic,
                self.handle_final,
                name="KPI finals",
                client_id="shoppulse-api-finals",
                stats=self.stats,
                start_ms=self._finals_start_ms,
                create_topic=self._ensure_finals_topic,
                poll_timeout_ms=poll_timeout_ms,
                max_records=max_records,
                retry_s=retry_s,
                logger=log,
            )
        self._follower = TopicFollower(
            settings,
            self.topic,
            self.handle,
            name="KPI feed",
            client_id="shoppulse-api",
            stats=self.stats,
            start_ms=self._tail_start_ms,
            poll_timeout_ms=poll_timeout_ms,
            max_records=max_records,
            retry_s=retry_s,
            logger=log,
        )
        self._boot: asyncio.Task[None] | None = None
        self._finals_topic_ensured = False

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start consuming in a background task (returns at once)."""
        if self._finals is None:
            self._follower.start()
        elif self._boot is None:
            self._boot = asyncio.create_task(self._read_finals_then_follow(), name="kpi-finals")

    async def _read_finals_then_follow(self) -> None:
        finals = self._finals
        assert finals is not None
        finals.start()
        while not await finals.wait_caught_up(60.0):
            log.info("still reading %s: %s", self.finals_topic, finals.reason)
        await finals.stop()
        self.tail_from_ms = tail_start_ms(self.horizons, self.settings.topic_partitions)
        log.info(
            "KPI finals read; following %s",
            self.topic,
            extra={
                "finals": self.stats.records,
                "horizons": len(self.horizons),
                "tail_from_ms": self.tail_from_ms,
            },
        )
        self._follower.start()

    async def stop(self) -> None:
        """Stop reading and close the consumers."""
        boot, self._boot = self._boot, None
        if boot is not None:
            boot.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await boot
        if self._finals is not None:
            await self._finals.stop()
        await self._follower.stop()

    @property
    def reason(self) -> str:
        """What it is doing (or the last Kafka error), for ``/readyz``."""
        if self._finals is not None and not self._finals.caught_up:
            return self._finals.reason
        return self._follower.reason

    def status(self) -> dict[str, Any]:
        """A JSON-ready summary: readiness, reason, counters and where the tail began."""
        status = self._follower.status()
        status["reason"] = self.reason
        status["finals_topic"] = self.finals_topic if self._finals is not None else None
        status["tail_from_ms"] = self.tail_from_ms
        return status

    def _finals_start_ms(self) -> int:
        """The finals of minutes from the cutoff: a final is published after the minute's
        first event arrived, which the worker accepts up to ``max_future_skew_s`` early."""
        skew_ms = int(self.settings.max_future_skew_s * 1000)
        return self.view.cutoff_ms() - skew_ms - CLOCK_MARGIN_MS

    def _tail_start_ms(self) -> int:
        """``shoppulse.kpis`` from the earliest horizon, never before the cutoff."""
        cutoff = self.view.cutoff_ms()
        return cutoff if self.tail_from_ms is None else max(cutoff, self.tail_from_ms)

    async def _ensure_finals_topic(self) -> None:
        """Create the finals topic (an API started before any new worker) once Kafka answered."""
        if not self._finals_topic_ensured:
            await asyncio.to_thread(ensure_topics, self.settings, (KPIS_FINAL,))
            self._finals_topic_ensured = True

    # -- record handling (no IO) ------------------------------------------------------------

    def handle_final(self, raw: bytes | None, where: str = "") -> KpiSnapshot | None:
        """Apply one ``shoppulse.kpis.final`` record: a final snapshot, or a horizon kept."""
        self.stats.records += 1
        try:
            record = decode_final(raw)
        except BadSnapshotError as exc:
            log_bad_record(log, self.stats, "KPI final", where, str(exc))
            return None
        if isinstance(record, Horizon):
            self.horizons.append(record)
            return None
        return self._apply(record)

    def handle(self, raw: bytes | None, where: str = "") -> KpiSnapshot | None:
        """Decode one record value, apply it and broadcast it when it changed the view."""
        self.stats.records += 1
        try:
            snap = decode_snapshot(raw)
        except BadSnapshotError as exc:
            log_bad_record(log, self.stats, "KPI", where, str(exc))
            return None
        return self._apply(snap)

    def _apply(self, snap: KpiSnapshot) -> KpiSnapshot | None:
        if not self.view.apply(snap):
            return None
        self.stats.applied += 1
        self.broadcaster.publish(snap.store_id, snap.window_start_ms, update_message(snap))
        return snap
