"""The alerts edge of the API: ``shoppulse.alerts`` -> :class:`~alerts.board.AlertBoard`.

:class:`AlertsFeed` reads every partition of the alert topic without a consumer group
(each API process shows every alert), starting at the first record of the last
``replay_ms`` (24 h, found with ``offsets_for_times``): an alert firing for longer is
re-published by the alert engine every ``repeat_interval`` (4 h by default), so it is
found too, unless its rules never repeat (``repeat_interval: 0m``). It is ready once
caught up with the end offsets it saw when it connected
(:class:`~alerts.topic_follower.TopicFollower`, like the KPI feed). A record that does
not decode is logged, counted and skipped; resolved alerts older than the board's
retention are dropped as time passes.
"""

from __future__ import annotations

import logging
from typing import Final

from alerts.board import AlertBoard, AlertRecordError, BoardAlert
from alerts.topic_follower import (
    FeedStats,
    FollowedTopic,
    TopicFollower,
    json_value,
    log_bad_record,
)
from api.clock import Clock, wall_clock_ms
from shoppulse.settings import ApiSettings
from shoppulse.topics import ALERTS

log = logging.getLogger("shoppulse.api.alerts_feed")

ALERTS_REPLAY_MS: Final = 24 * 3_600_000
_PRUNE_EVERY_MS: Final = 60_000


def decode_alert(raw: bytes | None) -> BoardAlert:
    """Decode one ``shoppulse.alerts`` record value, or raise :class:`AlertRecordError`.

    >>> decode_alert(b'{"fingerprint": "f", "status": "paused"}')
    Traceback (most recent call last):
    ...
    alerts.board.AlertRecordError: status must be firing or resolved
    """
    return BoardAlert.from_record(json_value(raw, AlertRecordError))


class AlertsFeed(FollowedTopic):
    """Consume ``shoppulse.alerts`` into an alert board; see the module doc."""

    def __init__(
        self,
        settings: ApiSettings,
        board: AlertBoard,
        *,
        clock: Clock = wall_clock_ms,
        replay_ms: int = ALERTS_REPLAY_MS,
        retry_s: float = 1.0,
    ) -> None:
        self.board = board
        self.clock = clock
        self.replay_ms = replay_ms
        self.stats = FeedStats()
        self._pruned_at_ms = 0
        self._follower = TopicFollower(
            settings,
            settings.topic(ALERTS),
            self.handle,
            name="alerts feed",
            client_id="shoppulse-api-alerts",
            stats=self.stats,
            start_ms=lambda: self.clock() - self.replay_ms,
            retry_s=retry_s,
            logger=log,
        )

    def start(self) -> None:
        """Start consuming in a background task (returns at once)."""
        self._follower.start()

    def handle(self, raw: bytes | None, where: str = "") -> bool:
        """Decode one record value and apply it; True when it changed the board."""
        self.stats.records += 1
        try:
            changed = self.board.apply(decode_alert(raw))
        except AlertRecordError as exc:
            log_bad_record(log, self.stats, "alert", where, str(exc))
            return False
        self.stats.applied += int(changed)
        now = self.clock()
        if now - self._pruned_at_ms >= _PRUNE_EVERY_MS:
            self._pruned_at_ms = now
            self.board.prune(now)
        return changed
