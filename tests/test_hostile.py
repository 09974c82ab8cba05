"""The hostile payloads get the reasons they claim from the worker's edge validation."""

from __future__ import annotations

from collections import Counter

from shoppulse.events import Rejection, decode_event
from tests.hostile import hostile_payloads

NOW_MS = 1_700_000_000_000


def test_every_hostile_payload_is_rejected_for_its_reason() -> None:
    reasons: Counter[str] = Counter()
    for topic, raw, expected in hostile_payloads(2_400, seed=3, now_ms=NOW_MS):
        result = decode_event(topic, raw)
        if expected == "future_ts":  # valid as a contract; the worker's clock rejects it
            assert not isinstance(result, Rejection), raw[:200]
        else:
            assert isinstance(result, Rejection), raw[:200]
            assert result.reason == expected, (expected, result, raw[:200])
        reasons[expected] += 1
    assert set(reasons) == {
        "schema",
        "invalid_json",
        "invalid_utf8",
        "not_an_object",
        "too_large",
        "future_ts",
    }
