"""The Kafka edge of the API: ``shoppulse.kpis`` → :class:`~api.view.KpiView` → websockets.

:class:`KpiFeed` reads every partition of the KPI topic without a consumer
group (each API process needs every store), starting at the retention cutoff
(:meth:`~api.view.KpiView.cutoff_ms`: an hour before the start of the same UTC day last
week, so the topic's retention on the broker must reach back that far for the
last-week comparisons) found with ``offsets_for_times``. It records the
end offsets when it starts and reports itself caught up (ready) once its
positions reach them. A record that does not decode is logged, counted and
skipped; it never stops the feed. Connection failures are retried with backoff.
The Kafka side is :class:`alerts.topic_follower.TopicFollower`, shared with the alerts
feed and the acknowledgements and silences log.
"""

from __future__ import annotations

import logging
from typing import Final

from alerts.topic_follower import FeedStats, FollowedTopic, TopicFollower, log_bad_record
from api.broadcast import Broadcaster
from api.messages import update_message
from api.view import KpiView
from shoppulse.settings import ApiSettings
from shoppulse.snapshot import KpiSnapshot
from shoppulse.topics import KPIS

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
    if not snap.store_id or len(snap.store_id) > MAX_STORE_ID_LEN:
        raise BadSnapshotError("store_id is empty or too long")
    if snap.window_end_ms <= snap.window_start_ms:
        raise BadSnapshotError("window_end_ms must be after window_start_ms")
    if snap.revision < 0:
        raise BadSnapshotError("revision must not be negative")
    return snap


class KpiFeed(FollowedTopic):
    """Consume ``shoppulse.kpis`` into a view and notify a broadcaster; see the module doc."""

    def __init__(
        self,
        settings: ApiSettings,
        view: KpiView,
        broadcaster: Broadcaster,
        *,
        poll_timeout_ms: int = 200,
        max_records: int = 2000,
        retry_s: float = 1.0,
    ) -> None:
        self.settings = settings
        self.view = view
        self.broadcaster = broadcaster
        self.topic = settings.topic(KPIS)
        self.stats = FeedStats()
        self._follower = TopicFollower(
            settings,
            self.topic,
            self.handle,
            name="KPI feed",
            client_id="shoppulse-api",
            stats=self.stats,
            start_ms=view.cutoff_ms,
            poll_timeout_ms=poll_timeout_ms,
            max_records=max_records,
            retry_s=retry_s,
            logger=log,
        )

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start consuming in a background task (returns at once)."""
        self._follower.start()

    # -- record handling (no IO) ------------------------------------------------------------

    def handle(self, raw: bytes | None, where: str = "") -> KpiSnapshot | None:
        """Decode one record value, apply it and broadcast it when it changed the view."""
        self.stats.records += 1
        try:
            snap = decode_snapshot(raw)
        except BadSnapshotError as exc:
            log_bad_record(log, self.stats, "KPI", where, str(exc))
            return None
        if not self.view.apply(snap):
            return None
        self.stats.applied += 1
        self.broadcaster.publish(snap.store_id, snap.window_start_ms, update_message(snap))
        return snap
