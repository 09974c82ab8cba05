"""Streamed NDJSON ingest: ``POST /api/v1/events`` with ``Content-Type: application/x-ndjson``.

Large loads (a history, an export of a shop's orders) are one envelope
``{"topic", "event"}`` per line, read from the request stream line by line, never as one
body: a line is at most :data:`MAX_LINE_BYTES`, a request at most :data:`MAX_LINES` lines,
and valid lines are checked and produced in chunks of :data:`CHUNK_LINES`, so memory stays
bounded whatever the body's size. Unlike a JSON batch, a stream is not all or nothing: each
bad line (not JSON, a broken contract, late) is refused by its line number with the same
reasons, and the others are produced. The answer sums up every line.

Every ``POST`` of the API passes the JSON-only and whole-body limits of :mod:`api.limits`
first; :class:`NdjsonIngest` is an ASGI middleware outside them that answers exactly these
requests itself (after the same ingest-key check as the route) and passes every other
request on. ``docs/connectors.md`` documents the limits and the answer.

>>> import asyncio
>>> async def lines(chunks):
...     async def gen():
...         for c in chunks:
...             yield c
...     return [x async for x in split_lines(gen(), max_line_bytes=5)]
>>> asyncio.run(lines([b'ab\\ncd', b'e\\n\\n123456789\\nxy']))
[(1, b'ab'), (2, b'cde'), (3, b''), (4, None), (5, b'xy')]
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final

from fastapi import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import require
from api.feed import KpiFeed
from api.ingest import BadEnvelope, IngestError, IngestRecord, parse_batch
from api.ingest_check import CATCHING_UP_NOTE, LAG_NOTE, check_batch
from api.ingest_metrics import IngestStats
from api.producer import EventProducer, ProducerUnavailableError
from api.view import KpiView
from shoppulse.events import MAX_EVENT_BYTES
from shoppulse.settings import ApiSettings

PATH: Final = "/api/v1/events"
MEDIA_TYPES: Final = frozenset({"application/x-ndjson", "application/ndjson"})
MAX_LINE_BYTES: Final = MAX_EVENT_BYTES + 1024
"""A line: an event of at most 64 KiB (the contract's limit) and its envelope."""
MAX_LINES: Final = 1_000_000
CHUNK_LINES: Final = 500
MAX_LISTED: Final = 1_000
"""Refused lines and warnings listed one by one; all are counted in ``*_by_reason``."""


def is_ndjson(scope: Scope) -> bool:
    """Whether the request is a streamed NDJSON ingest."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
        return False
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return media in MEDIA_TYPES
    return False


async def split_lines(
    chunks: AsyncIterator[bytes], max_line_bytes: int = MAX_LINE_BYTES
) -> AsyncIterator[tuple[int, bytes | None]]:
    """(line number from 1, line without its newline) of a byte stream; None for a line
    longer than ``max_line_bytes`` (skipped to its newline, never held whole)."""
    buffer = bytearray()
    too_long = False
    number = 0
    async for chunk in chunks:
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if not too_long:
                buffer += piece
                if len(buffer) > max_line_bytes:
                    too_long = True
                    buffer.clear()
            if end < 0:
                break
            number += 1
            yield number, None if too_long else bytes(buffer).rstrip(b"\r")
            buffer.clear()
            too_long = False
            start = end + 1
    if buffer or too_long:
        number += 1
        yield number, None if too_long else bytes(buffer).rstrip(b"\r")


@dataclass
class StreamResult:
    """What became of a stream's lines."""

    lines: int = 0
    accepted: int = 0
    refused: list[BadEnvelope] = field(default_factory=list)
    refused_count: int = 0
    warnings: list[BadEnvelope] = field(default_factory=list)
    refused_by_reason: dict[str, int] = field(default_factory=dict)
    warnings_by_reason: dict[str, int] = field(default_factory=dict)

    def refuse(self, issues: list[BadEnvelope]) -> None:
        self.refused_count += len(issues)
        _note(self.refused, self.refused_by_reason, issues)

    def warn(self, issues: list[BadEnvelope]) -> None:
        _note(self.warnings, self.warnings_by_reason, issues)

    def to_json(self, feed: KpiFeed | None) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "accepted": self.accepted,
            "refused": self.refused_count,
            "refused_by_reason": self.refused_by_reason,
            "errors": [_line(e) for e in self.refused],
            "warnings_by_reason": self.warnings_by_reason,
            "warnings": [_line(w) for w in self.warnings],
            "notes": [LAG_NOTE]
            + ([CATCHING_UP_NOTE] if feed is not None and not feed.caught_up else []),
        }


def _note(listed: list[BadEnvelope], counts: dict[str, int], issues: list[BadEnvelope]) -> None:
    for issue in issues:
        counts[issue.reason] = counts.get(issue.reason, 0) + 1
        if len(listed) < MAX_LISTED:
            listed.append(issue)


def _line(issue: BadEnvelope) -> dict[str, Any]:
    return {"line": issue.index, "reason": issue.reason, "detail": issue.detail}


def parse_line(number: int, line: bytes | None) -> IngestRecord | BadEnvelope | None:
    """One line as a record to produce, a refusal (by line number), or None (blank)."""
    if line is None:
        return BadEnvelope(number, "too_large", f"the line is over {MAX_LINE_BYTES} bytes")
    if not line.strip():
        return None
    if line.lstrip().startswith(b"["):
        return BadEnvelope(number, "not_an_object", 'a line is one {"topic", "event"} envelope')
    try:
        batch = parse_batch(line)
    except IngestError as exc:
        return BadEnvelope(number, "invalid_json", exc.message)
    if batch.bad:
        [bad] = batch.bad
        return BadEnvelope(number, bad.reason, bad.detail)
    [(_, record)] = batch.records
    return record


class NdjsonIngest:
    """Answers streamed NDJSON ingest (:func:`is_ndjson`); passes every other request on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_ndjson(scope):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            require("ingest")(request)
        except HTTPException as exc:
            await JSONResponse({"detail": exc.detail}, exc.status_code, exc.headers)(
                scope, receive, send
            )
            return
        state = request.app.state
        stream = _Stream(
            state.event_producer, state.settings, state.view, state.ingest_stats, StreamResult()
        )
        try:
            await stream.run(split_lines(request.stream()))
        except ClientDisconnect:  # the sender is gone: what was produced stays produced
            return
        except ProducerUnavailableError as exc:
            detail = {
                "message": f"{exc}; lines up to {stream.produced_through} were produced"
                " (their events count once if sent again), later lines were not",
                "produced_through_line": stream.produced_through,
                "summary": stream.result.to_json(state.feed),
            }
            await JSONResponse({"detail": detail}, 503)(scope, receive, send)
            return
        await JSONResponse(stream.result.to_json(state.feed), 200)(scope, receive, send)


@dataclass
class _Stream:
    producer: EventProducer
    settings: ApiSettings
    view: KpiView
    stats: IngestStats
    result: StreamResult
    chunk: list[tuple[int, IngestRecord]] = field(default_factory=list)
    produced_through: int = 0

    async def run(self, lines: AsyncIterator[tuple[int, bytes | None]]) -> None:
        last = 0
        async for number, line in lines:
            last = number
            self.result.lines = number
            parsed = (
                BadEnvelope(number, "too_many_lines", f"a request holds at most {MAX_LINES} lines")
                if number > MAX_LINES
                else parse_line(number, line)
            )
            if isinstance(parsed, BadEnvelope):
                self.stats.refused(1, [parsed])
                self.result.refuse([parsed])
            elif parsed is not None:
                self.chunk.append((number, parsed))
                if len(self.chunk) >= CHUNK_LINES:
                    await self.flush(number)
        await self.flush(last)

    async def flush(self, through: int) -> None:
        verdict = check_batch(
            self.chunk,
            self.view.mark,
            cutoff_ms=self.view.cutoff_ms(),
            window_ms=self.settings.window_ms,
            grace_ms=self.settings.grace_ms,
        )
        late = {e.index for e in verdict.rejected}
        if verdict.rejected:
            self.stats.refused(len(verdict.rejected), verdict.rejected)
            self.result.refuse(list(verdict.rejected))
        records = [record for number, record in self.chunk if number not in late]
        self.chunk.clear()
        if records:
            try:
                await self.producer.send_all(records)
            except ProducerUnavailableError:
                self.stats.unacknowledged(len(records))
                raise
        self.stats.accepted(len(records), verdict.warnings)
        self.result.accepted += len(records)
        self.result.warn(list(verdict.warnings))
        self.produced_through = through
