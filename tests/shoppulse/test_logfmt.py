"""Structured logging: JSON lines on whatever stderr is at the time of each record."""

from __future__ import annotations

import io
import logging

import orjson
import pytest

from shoppulse.logfmt import configure_logging


def test_records_go_to_the_current_stderr_not_the_one_at_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    first = io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    configure_logging("info")
    first.close()  # as pytest closes a test's captured stream
    second = io.StringIO()
    monkeypatch.setattr("sys.stderr", second)
    try:
        logging.getLogger("shoppulse.test").info("after %s", "redirect", extra={"store": "s1"})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    line = orjson.loads(second.getvalue())
    assert (line["msg"], line["store"], line["level"]) == ("after redirect", "s1", "info")
