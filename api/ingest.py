"""HTTP ingest: validate a request body of events before anything is produced to Kafka.

The body of ``POST /api/v1/events`` is one envelope or a JSON array of up to
:data:`MAX_BATCH` envelopes; an envelope is ``{"topic": "shop.orders", "event": {...}}`` with
the event exactly as it would be produced to that topic (``docs/architecture.md``: Source events).
A batch is all or nothing: if any envelope is bad, nothing is produced and the answer lists
every bad envelope by index with the same reasons the worker's dead letter uses. The route
also refuses, the same way, events the worker would dead-letter as ``late``
(:mod:`api.ingest_check`), so :func:`parse_batch` returns the valid records with the bad
envelopes instead of raising for them.

>>> ok = b'{"topic": "shop.inventory", "event": {"event_id": "e1", "store_id": "s1",'
>>> ok += b' "ts": 1700000000000, "sku": "A", "on_hand": 3}}'
>>> [(r.topic, r.key) for r in parse_ingest(ok)]
[('shop.inventory', b's1')]
>>> parse_ingest(b'[{"topic": "shop.orders", "event": {"event_id": "e2"}}]')
Traceback (most recent call last):
...
api.ingest.IngestError: 1 of 1 events rejected; nothing was produced
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from shoppulse.events import EVENT_MODELS, MAX_EVENT_BYTES, Rejection, decode_event

MAX_BATCH: Final = 1_000


@dataclass(frozen=True, slots=True)
class IngestRecord:
    """One validated event, ready to produce: logical topic, key (store id), value bytes,
    and the event's time (epoch ms)."""

    topic: str
    key: bytes
    value: bytes
    ts_ms: int

    @property
    def store_id(self) -> str:
        return self.key.decode()


@dataclass(frozen=True, slots=True)
class BadEnvelope:
    index: int
    reason: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "reason": self.reason, "detail": self.detail}


class IngestError(ValueError):
    """The body (or some of its envelopes) cannot be ingested; ``errors`` say which and why."""

    def __init__(self, message: str, errors: Sequence[BadEnvelope] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors = tuple(errors)


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """A body's envelopes: the valid ones by index, and the bad ones."""

    size: int
    records: tuple[tuple[int, IngestRecord], ...]
    bad: tuple[BadEnvelope, ...]


def rejected(errors: Sequence[BadEnvelope], size: int) -> IngestError:
    """The error of a batch with bad envelopes (of ``size``): nothing is produced."""
    ordered = sorted(errors, key=lambda e: e.index)
    return IngestError(f"{len(ordered)} of {size} events rejected; nothing was produced", ordered)


def parse_ingest(body: bytes, max_body_bytes: int | None = None) -> list[IngestRecord]:
    """The records to produce, or :class:`IngestError` (nothing to produce).

    ``max_body_bytes`` is ``settings.api_max_body_bytes`` (the API's middleware refuses a
    larger body with a 413 before this runs; None: no limit here).
    """
    batch = parse_batch(body, max_body_bytes)
    if batch.bad:
        raise rejected(batch.bad, batch.size)
    return [record for _, record in batch.records]


def parse_batch(body: bytes, max_body_bytes: int | None = None) -> ParsedBatch:
    """Every envelope of the body checked against its topic's contract; :class:`IngestError`
    when the body itself is not a batch (not JSON, empty, too large, too many events)."""
    if max_body_bytes is not None and len(body) > max_body_bytes:
        raise IngestError(f"the body is {len(body)} bytes; the limit is {max_body_bytes}")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise IngestError(f"the body is not valid JSON: {exc}") from None
    envelopes = data if isinstance(data, list) else [data]
    if not envelopes:
        raise IngestError("the batch is empty")
    if len(envelopes) > MAX_BATCH:
        raise IngestError(f"a batch holds at most {MAX_BATCH} events, not {len(envelopes)}")
    records: list[tuple[int, IngestRecord]] = []
    bad: list[BadEnvelope] = []
    for i, envelope in enumerate(envelopes):
        result = _one(envelope)
        if isinstance(result, BadEnvelope):
            bad.append(BadEnvelope(i, result.reason, result.detail))
        else:
            records.append((i, result))
    return ParsedBatch(len(envelopes), tuple(records), tuple(bad))


def _one(envelope: object) -> IngestRecord | BadEnvelope:
    if not isinstance(envelope, dict):
        return BadEnvelope(0, "not_an_object", 'an envelope is {"topic": ..., "event": {...}}')
    extra = set(envelope) - {"topic", "event"}
    if extra:
        return BadEnvelope(0, "schema", f"unknown envelope fields: {', '.join(sorted(extra))}")
    topic = envelope.get("topic")
    if not isinstance(topic, str) or topic not in EVENT_MODELS:
        return BadEnvelope(
            0, "unknown_topic", f"topic must be one of {', '.join(sorted(EVENT_MODELS))}"
        )
    event = envelope.get("event")
    if not isinstance(event, dict):
        return BadEnvelope(0, "not_an_object", "event must be a JSON object")
    value = orjson.dumps(event)
    checked = decode_event(topic, value, MAX_EVENT_BYTES)
    if isinstance(checked, Rejection):
        return BadEnvelope(0, checked.reason, checked.detail)
    return IngestRecord(topic, checked.store_id.encode(), value, checked.ts_ms)
