"""Slack (or Slack-compatible, e.g. Mattermost) incoming-webhook notifier."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from alerts.notifiers.base import post
from alerts.notifiers.message import slack_payload


class SlackNotifier:
    """POSTs :func:`~alerts.notifiers.message.slack_payload` to ``webhook_url``.

    5xx, 429 and connection errors are retryable; other 4xx are not.
    """

    def __init__(
        self,
        webhook_url: str,
        dashboard_url: str,
        *,
        timeout_s: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.webhook_url = webhook_url
        self.dashboard_url = dashboard_url
        self.timeout_s = timeout_s
        self._client = client

    async def send(self, alert: Mapping[str, Any]) -> None:
        body = json.dumps(slack_payload(alert, self.dashboard_url)).encode()
        await post(
            self.webhook_url,
            content=body,
            headers={"Content-Type": "application/json"},
            timeout_s=self.timeout_s,
            client=self._client,
        )
