"""A stand-in for kafka-python's ``KafkaProducer`` in the CLI's unit tests.

What ``simulate`` and ``replay`` send, in which order, under which topic and key depends only on
their input, so these tests record the sends instead of starting a broker; their integration
tests produce to a real one.
"""

from __future__ import annotations

from typing import Any, ClassVar

import kafka
import pytest


class _Sent:
    """A send's future: calls an errback at once when the send failed."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def add_errback(self, fn: Any) -> _Sent:
        if self.error is not None:
            fn(self.error)
        return self


class FakeProducer:
    """Records ``(topic, key, value)`` of every send, in order; every ``fail_every``-th send
    fails (0: none)."""

    instances: ClassVar[list[FakeProducer]] = []
    fail_every: ClassVar[int] = 0

    def __init__(self, **config: Any) -> None:
        self.config = config
        self.sent: list[tuple[str, bytes, bytes]] = []
        FakeProducer.instances.append(self)

    def send(self, topic: str, *, key: bytes, value: bytes) -> _Sent:
        self.sent.append((topic, key, value))
        if self.fail_every and len(self.sent) % self.fail_every == 0:
            return _Sent(RuntimeError("broker said no"))
        return _Sent()

    def flush(self, timeout: float | None = None) -> None:
        """Nothing is buffered: every send is recorded at once."""

    def close(self, timeout: float | None = None) -> None:
        """Nothing to release."""


def install(monkeypatch: pytest.MonkeyPatch) -> type[FakeProducer]:
    """Replace ``kafka.KafkaProducer`` with a fresh :class:`FakeProducer` for one test."""
    FakeProducer.instances.clear()
    FakeProducer.fail_every = 0
    monkeypatch.setattr(kafka, "KafkaProducer", FakeProducer)
    return FakeProducer
