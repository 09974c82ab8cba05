"""The dispatcher's delivery step, without Kafka (its IO is tested in the integration tests)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alerts.dispatcher import _deliver
from alerts.notifiers.base import Backoff
from alerts.receivers import ReceiverConfig


class Broken:
    """A notifier with a bug: it raises something other than ``DeliveryError``."""

    calls = 0

    async def send(self, alert: Mapping[str, Any]) -> None:
        self.calls += 1
        raise KeyError("annotations")


async def test_a_notifier_bug_is_a_failed_delivery_not_a_dead_receiver_task() -> None:
    receiver = ReceiverConfig("hook", "webhook", {}, Backoff(0, 1, 0, 3), 1.0)
    notifier = Broken()
    result = await _deliver(notifier, {"fingerprint": "f"}, receiver)
    assert not result.ok
    assert result.error is not None
    assert not result.error.retryable
    assert result.error.reason == "notifier error: KeyError('annotations')"
    assert notifier.calls == 1  # a bug is not retried
