"""The notifier contract, retry policy and shared HTTP delivery.

>>> Backoff(initial_s=1, factor=2, max_s=5, max_attempts=5).delays()
(1.0, 2.0, 4.0, 5.0)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

Sleep = Callable[[float], Awaitable[None]]


class DeliveryError(Exception):
    """A failed delivery; ``retryable`` says whether trying again may succeed."""

    def __init__(self, retryable: bool, reason: str) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.reason = reason

    def __repr__(self) -> str:
        return f"DeliveryError(retryable={self.retryable}, reason={self.reason!r})"


class Notifier(Protocol):
    """Delivers one alert; raises :class:`DeliveryError` on failure."""

    async def send(self, alert: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``max_attempts`` tries, so ``max_attempts - 1`` waits."""

    initial_s: float = 1.0
    factor: float = 2.0
    max_s: float = 60.0
    max_attempts: int = 5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_s < 0 or self.max_s < 0:
            raise ValueError("delays must not be negative")
        if self.factor < 1:
            raise ValueError("factor must be at least 1")

    def delays(self) -> tuple[float, ...]:
        """The wait before each retry (after attempt 1, 2, ...)."""
        return tuple(
            float(min(self.max_s, self.initial_s * self.factor**i))
            for i in range(self.max_attempts - 1)
        )


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    attempts: int
    error: DeliveryError | None = None


async def deliver_with_retries(
    notifier: Notifier,
    alert: Mapping[str, Any],
    backoff: Backoff,
    sleep: Sleep = asyncio.sleep,
) -> DeliveryResult:
    """Send, retrying retryable :class:`DeliveryError` per ``backoff``.

    Stops at the first non-retryable error or when attempts run out. Any other exception
    is a bug in the notifier and propagates.
    """
    delays = backoff.delays()
    attempt = 0
    while True:
        attempt += 1
        try:
            await notifier.send(alert)
        except DeliveryError as exc:
            if not exc.retryable or attempt > len(delays):
                return DeliveryResult(ok=False, attempts=attempt, error=exc)
            await sleep(delays[attempt - 1])
        else:
            return DeliveryResult(ok=True, attempts=attempt)


def is_retryable_status(status_code: int) -> bool:
    """5xx, 429 and 408 may succeed later; other 4xx will not."""
    return status_code >= 500 or status_code in (408, 429)


async def post(
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    timeout_s: float,
    client: httpx.AsyncClient | None = None,
) -> httpx.Response:
    """POST ``content``; map transport errors and non-2xx answers to :class:`DeliveryError`."""
    try:
        if client is None:
            async with httpx.AsyncClient(timeout=timeout_s) as own:
                response = await own.post(url, content=content, headers=dict(headers))
        else:
            response = await client.post(
                url, content=content, headers=dict(headers), timeout=timeout_s
            )
    except httpx.TransportError as exc:  # connect/read timeouts, refused, protocol errors
        raise DeliveryError(True, f"{type(exc).__name__}: {exc}") from exc
    if not response.is_success:
        snippet = response.text[:200]
        raise DeliveryError(
            is_retryable_status(response.status_code),
            f"HTTP {response.status_code} from {url}: {snippet}",
        )
    return response
