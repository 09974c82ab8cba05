"""The console receiver: the plain-text message in the dispatcher's (structured) log.

Useful on its own in the demo and as the catch-all of a fresh install, where no chat, mail
or webhook is configured yet.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from alerts.notifiers.message import render_text

log = logging.getLogger("shoppulse.alerts.console")


class LogNotifier:
    """Logs each alert's message at WARNING (firing) or INFO (resolved)."""

    def __init__(self, dashboard_url: str, logger: logging.Logger = log) -> None:
        self.dashboard_url = dashboard_url
        self._log = logger

    async def send(self, alert: Mapping[str, Any]) -> None:
        level = logging.INFO if alert.get("status") == "resolved" else logging.WARNING
        self._log.log(
            level,
            render_text(alert, self.dashboard_url),
            extra={"fingerprint": alert.get("fingerprint"), "status": alert.get("status")},
        )
