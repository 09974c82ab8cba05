"""Generic JSON webhook with an HMAC-SHA256 signature.

The body is ``{"alert": <alert>, "title": ..., "text": ..., "dashboard": ...}`` (see
:class:`WebhookNotifier`). Headers: ``X-ShopPulse-Timestamp`` (epoch seconds) and
``X-ShopPulse-Signature: sha256=<hex>``, the HMAC-SHA256 with the shared secret over
``f"{timestamp}."`` followed by the raw body bytes.

>>> header = sign("k", 1700000000, b'{"alert": {}}')
>>> header.startswith("sha256="), len(header)
(True, 71)
>>> verify_signature("k", "1700000000", b'{"alert": {}}', header, now_s=1700000100)
True
>>> verify_signature("k", "1700000000", b'{"alert": {}}', header, now_s=1700000301)
False
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from alerts.notifiers.base import post
from alerts.notifiers.message import dashboard_link, render_text, title

TIMESTAMP_HEADER = "X-ShopPulse-Timestamp"
SIGNATURE_HEADER = "X-ShopPulse-Signature"
_PREFIX = "sha256="


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """The ``X-ShopPulse-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(_key(secret), f"{timestamp}.".encode() + body, hashlib.sha256)
    return _PREFIX + mac.hexdigest()


def verify_signature(
    secret: str | bytes,
    timestamp: str | int,
    body: bytes,
    header: str,
    now_s: float,
    tolerance_s: float = 300,
) -> bool:
    """True if ``header`` signs ``body`` at ``timestamp`` and that is within ``tolerance_s``.

    The timestamp must be whole epoch seconds; timestamps too far in the past or the future
    are rejected (replay protection). The comparison is constant-time.
    """
    ts_text = str(timestamp).strip()
    if not ts_text.isascii() or not ts_text.isdigit():
        return False
    if abs(now_s - int(ts_text)) > tolerance_s:
        return False
    if not header.startswith(_PREFIX):
        return False
    expected = sign(secret, ts_text, body)
    return hmac.compare_digest(expected.encode(), header.strip().encode("ascii", "replace"))


class WebhookNotifier:
    """POSTs ``{"alert": ..., "title": ..., "text": ..., "dashboard": ...}`` signed with
    ``secret`` to ``url``: the alert record as it is (with its ``notificationId``, stable
    across re-deliveries, for receivers that drop duplicates), the message a person reads,
    and the link to the store's dashboard."""

    def __init__(
        self,
        url: str,
        secret: str | bytes,
        *,
        dashboard_url: str = "",
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        self.dashboard_url = dashboard_url
        self._secret = secret
        self.timeout_s = timeout_s
        self._clock = clock
        self._client = client

    def request(self, alert: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The exact body and headers :meth:`send` would POST (pure but for the clock)."""
        store_id = str((alert.get("labels") or {}).get("store_id", "unknown"))
        document = {
            "alert": dict(alert),
            "title": title(alert),
            "text": render_text(alert, self.dashboard_url),
            "dashboard": dashboard_link(self.dashboard_url, store_id),
        }
        body = json.dumps(document, separators=(",", ":")).encode()
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        return body, headers

    async def send(self, alert: Mapping[str, Any]) -> None:
        body, headers = self.request(alert)
        await post(
            self.url, content=body, headers=headers, timeout_s=self.timeout_s, client=self._client
        )
