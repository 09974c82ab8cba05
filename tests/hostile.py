"""Malformed and hostile event payloads, generated reproducibly (for the worker's edge).

Each payload comes with the dead-letter reason the worker must give it. Kinds: wrong types,
missing fields, huge strings and huge events, NaN and Infinity (not JSON), negative amounts,
future and ancient timestamps, invalid UTF-8, deep nesting, not an object, and garbage bytes.

>>> payloads = list(hostile_payloads(1_000, seed=1, now_ms=1_700_000_000_000))
>>> len(payloads), {reason for _, _, reason in payloads} <= set(REASONS)
(1000, True)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Final

import orjson

from shoppulse import topics

REASONS: Final = (
    "schema",
    "invalid_json",
    "invalid_utf8",
    "not_an_object",
    "too_large",
    "future_ts",
)
Hostile = tuple[str, bytes, str]  # (logical topic, raw value, expected dead-letter reason)


def _order(rng: random.Random, i: int, now_ms: int) -> dict[str, object]:
    return {
        "event_id": f"h{i}",
        "store_id": "hostile-0",  # also the record key the test sends them with
        "ts": now_ms - rng.randrange(3_600_000),
        "order_id": f"ho{i}",
        "customer_id": f"hc{i}",
        "status": "paid",
        "amount_minor": 1_000,
        "currency": "EUR",
    }


def hostile_payloads(n: int, *, seed: int, now_ms: int) -> Iterator[Hostile]:
    """``n`` hostile payloads, cycling through every kind."""
    rng = random.Random(seed)

    def wrong_type(i: int) -> Hostile:
        ev = _order(rng, i, now_ms)
        field = rng.choice(["amount_minor", "store_id", "ts", "status", "event_id"])
        ev[field] = rng.choice([[1, 2], {"x": 1}, True, None, 3.5])
        return topics.ORDERS, orjson.dumps(ev), "schema"

    def missing(i: int) -> Hostile:
        ev = _order(rng, i, now_ms)
        del ev[rng.choice(["event_id", "store_id", "ts", "order_id", "status", "currency"])]
        return topics.ORDERS, orjson.dumps(ev), "schema"

    def huge_string(i: int) -> Hostile:
        ev = _order(rng, i, now_ms)
        ev["store_id"] = "s" * rng.randrange(200, 5_000)
        return topics.ORDERS, orjson.dumps(ev), "schema"

    def huge_event(i: int) -> Hostile:
        ev = _order(rng, i, now_ms)
        if (i // len(makers)) % 40:  # 66 KB a time: only one cycle in 40 (volume)
            ev["store_id"] = None
            return topics.ORDERS, orjson.dumps(ev), "schema"
        ev["note"] = "x" * 66_000
        return topics.ORDERS, orjson.dumps(ev), "too_large"

    def nan(i: int) -> Hostile:
        raw = orjson.dumps(_order(rng, i, now_ms)).replace(
            b'"amount_minor":1000',
            b'"amount_minor":' + rng.choice([b"NaN", b"Infinity", b"-Infinity"]),
        )
        return topics.ORDERS, raw, "invalid_json"

    def negative(i: int) -> Hostile:
        ev = _order(rng, i, now_ms)
        ev["amount_minor"] = -rng.randrange(1, 10**6)
        return topics.ORDERS, orjson.dumps(ev), "schema"

    def future(i: int) -> Hostile:
        ev = _order(rng, i, now_ms)
        ev["ts"] = now_ms + rng.randrange(3_600_000, 30 * 86_400_000)
        return topics.ORDERS, orjson.dumps(ev), "future_ts"

    def ancient(i: int) -> Hostile:
        ev = _order(rng, i, now_ms)
        ev["ts"] = rng.choice([0, 86_400_000, "1970-01-02T00:00:00Z", "1899-12-31T00:00:00+00:00"])
        return topics.ORDERS, orjson.dumps(ev), "schema"

    def bad_utf8(i: int) -> Hostile:
        raw = orjson.dumps(_order(rng, i, now_ms)).replace(b"EUR", b"E\xff\xfe")
        return topics.ORDERS, raw, "invalid_utf8"

    def deep(i: int) -> Hostile:
        # orjson refuses nesting deeper than 1024 (invalid JSON); shallower nesting parses
        # and fails the contract (items are objects).
        depth = rng.choice([rng.randrange(2, 1_000), rng.randrange(1_100, 3_000)])
        ev = _order(rng, i, now_ms)
        body = orjson.dumps(ev)[:-1] + b',"items":' + b"[" * depth + b"]" * depth + b"}"
        return topics.ORDERS, body, "schema" if depth < 1_000 else "invalid_json"

    def not_object(i: int) -> Hostile:
        return (
            topics.CLICKS,
            rng.choice([b"[1,2,3]", b'"text"', b"42", b"null", b"true"]),
            ("not_an_object"),
        )

    def garbage(i: int) -> Hostile:
        noise = bytes(rng.randrange(0, 256) for _ in range(rng.randrange(0, 64)))
        return topics.CHATS, b"\xff" + noise, "invalid_utf8"  # 0xff is never UTF-8

    makers: list[Callable[[int], Hostile]] = [
        wrong_type,
        missing,
        huge_string,
        huge_event,
        nan,
        negative,
        future,
        ancient,
        bad_utf8,
        deep,
        not_object,
        garbage,
    ]
    for i in range(n):
        yield makers[i % len(makers)](i)
