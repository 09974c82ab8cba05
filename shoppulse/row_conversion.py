"""Recorded rows to validated events: CSV lines through a column mapping, or JSONL (pure).

Every event returned has been encoded and run through :func:`shoppulse.events.decode_event`,
the worker's own validation, so nothing the worker would dead-letter as invalid comes out. A
row that cannot become a valid event is a :class:`RowError` naming the source, the line and
the field. The mapping itself is :mod:`shoppulse.column_mapping`.

>>> from shoppulse.column_mapping import load_mapping
>>> mapping = load_mapping('''
... fields:
...   time: {column: when, format: "%Y-%m-%d %H:%M:%S", timezone: "+02:00"}
...   store: {constant: store-001}
...   session: {column: session}
...   visitor: {column: session}
... events:
...   - topic: shop.clicks
...     set: {kind: page_view}
... ''')
>>> result = convert_csv(mapping, ["when,session", "2023-11-15 00:13:20,abc"], source="x.csv")
>>> [(e.family, e.store_id, e.ts_ms, e.line) for e in result.events]
[('shop.clicks', 'store-001', 1700000000000, 2)]
>>> convert_csv(mapping, ["when,session", "soon,abc"], source="x.csv").errors[0].text()
"x.csv:2: time (column 'when'): 'soon' does not match format '%Y-%m-%d %H:%M:%S'"
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from shoppulse import topics
from shoppulse.column_mapping import (
    FIELDS,
    OPTIONAL,
    REQUIRED,
    SKIP,
    FieldSpec,
    Mapping,
    Rule,
)
from shoppulse.events import Rejection, decode_event
from shoppulse.money import minor_exponent
from shoppulse.timeutil import TimestampError, epoch_ms, parse_ts_ms

_DECIMAL = re.compile(r"^\d+(\.\d+)?$")


@dataclass(frozen=True)
class RowError:
    """A row (or JSONL line) that made no event: where, which field, why."""

    source: str
    line: int
    field: str
    message: str
    reason: str
    """A short category for the summary: ``time: bad format``, ``schema``, ..."""

    def text(self) -> str:
        return f"{self.source}:{self.line}: {self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class ReplayEvent:
    """One validated event ready to produce: ``value`` is the exact bytes to send."""

    family: str
    store_id: str
    ts_ms: int
    event_id: str
    value: bytes
    source: str
    line: int


@dataclass
class Conversion:
    events: list[ReplayEvent] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    skipped: int = 0
    """Rows that matched no rule, or whose value was mapped to ``skip``."""


class _RowProblemError(Exception):
    def __init__(self, spec_label: str, message: str, reason: str) -> None:
        super().__init__(message)
        self.field, self.message, self.reason = spec_label, message, reason


class _SkipRowError(Exception):
    """A value the mapping says to skip (``values: {x: skip}``): the row is not an event."""


# --- converting -------------------------------------------------------------------------


def convert_csv(mapping: Mapping, lines: Iterable[str], source: str) -> Conversion:
    """Every event the rows of a CSV (header first) make, and every row that failed."""
    out = Conversion()
    reader = csv.reader(iter(lines), delimiter=mapping.delimiter)
    header = next(reader, [])
    needed = {s.column for s in mapping.fields.values() if s.column}
    needed |= {c for r in mapping.rules for c in r.when}
    needed |= set(mapping.id_columns or ())
    missing = sorted(needed - set(header))
    if missing:
        out.errors.append(
            RowError(source, 1, "header", f"missing columns {missing}", "header: missing column")
        )
        return out
    id_columns = mapping.id_columns or tuple(header)
    seen: Counter[str] = Counter()
    converter = _RowConverter(mapping)
    line = reader.line_num
    for cells in reader:
        start, line = line + 1, reader.line_num  # a quoted cell may span lines
        if not cells:  # a blank line
            continue
        out.rows += 1
        if len(cells) > len(header):
            out.errors.append(
                RowError(source, start, "row", "more cells than the header", "row: extra cells")
            )
            continue
        row = dict(zip(header, cells, strict=False))  # missing trailing cells are empty
        key = "\x1f".join(row.get(c) or "" for c in id_columns)
        seen[key] += 1
        occurrence = seen[key] if mapping.repeated_rows == "count" else 1
        produced, errors_before = 0, len(out.errors)
        for rule in mapping.rules:
            if not rule.matches(row):
                continue
            try:
                out.events.append(converter.event(rule, row, key, occurrence, source, start))
                produced += 1
            except _SkipRowError:
                continue
            except _RowProblemError as p:
                out.errors.append(RowError(source, start, p.field, p.message, p.reason))
        if produced == 0 and len(out.errors) == errors_before:
            out.skipped += 1
    return out


class _RowConverter:
    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        self._ts_cache: tuple[str, int] | None = None

    def value(self, rule: Rule, row: dict[str, str], name: str) -> str | None:
        if name in rule.set:
            return rule.set[name]
        spec = self.mapping.fields.get(name)
        if spec is None:
            return None
        if spec.constant is not None:
            text: str | None = spec.constant
        else:
            text = (row.get(spec.column or "") or "").strip() or spec.default
        if text is None or spec.values is None:
            return text
        if text in spec.values:
            mapped = spec.values[text]
        elif "*" in spec.values:
            mapped = spec.values["*"]
        else:
            known = sorted(spec.values)
            raise _RowProblemError(
                spec.label(), f"{text!r} is not one of {known}", f"{name}: unknown value"
            )
        if mapped == SKIP:
            raise _SkipRowError
        return mapped

    def required(self, rule: Rule, row: dict[str, str], name: str) -> str:
        text = self.value(rule, row, name)
        if text is None:
            spec = self.mapping.fields.get(name)
            raise _RowProblemError(
                spec.label() if spec else name, "is empty and has no default", f"{name}: empty"
            )
        return text

    def ts_ms(self, rule: Rule, row: dict[str, str]) -> int:
        text = self.required(rule, row, "time")
        if self._ts_cache is not None and self._ts_cache[0] == text:
            return self._ts_cache[1]
        spec = self.mapping.fields["time"]
        fmt = spec.time_format
        try:
            if fmt == "iso8601":
                ts = parse_ts_ms(text, naive_tz=spec.tz)
            elif fmt in ("epoch_ms", "epoch_s"):
                number = Decimal(text)
                if not number.is_finite():
                    raise TimestampError(f"{text!r} is not a number")
                ts = parse_ts_ms(int(number * (1 if fmt == "epoch_ms" else 1000)))
            else:
                try:
                    parsed = datetime.strptime(text, fmt)
                except ValueError:
                    raise _RowProblemError(
                        spec.label(),
                        f"{text!r} does not match format {fmt!r}",
                        "time: bad format",
                    ) from None
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=spec.tz)
                ts = parse_ts_ms(epoch_ms(parsed))
        except (TimestampError, InvalidOperation) as exc:
            message = str(exc) if isinstance(exc, TimestampError) else f"{text!r} is not a number"
            raise _RowProblemError(spec.label(), message, "time: not a timestamp") from None
        self._ts_cache = (text, ts)
        return ts

    def amount_minor(self, rule: Rule, row: dict[str, str], currency: str) -> int:
        text = self.required(rule, row, "amount")
        spec = self.mapping.fields.get("amount")
        label = spec.label() if spec else "amount"
        unit = spec.unit if spec else "minor"
        if unit == "minor":
            if not text.isdigit():
                raise _RowProblemError(
                    label, f"{text!r} is not a whole number of minor units", "amount: not minor"
                )
            return int(text)
        if not _DECIMAL.match(text):
            reason = "amount: negative" if text.startswith("-") else "amount: not a decimal"
            raise _RowProblemError(label, f"{text!r} is not a decimal amount >= 0", reason)
        decimals = spec.decimals if spec and spec.decimals is not None else None
        if decimals is None:
            decimals = minor_exponent(currency)
        minor = Decimal(text).scaleb(decimals)
        if minor != minor.to_integral_value():
            raise _RowProblemError(
                label,
                f"{text!r} has more than {decimals} decimals ({currency})",
                "amount: too many decimals",
            )
        return int(minor)

    def event(
        self, rule: Rule, row: dict[str, str], key: str, occurrence: int, source: str, line: int
    ) -> ReplayEvent:
        topic = rule.topic
        event_id = self.value(rule, row, "event_id")
        if event_id is None:
            digest = hashlib.sha256(f"{rule.name}\x1e{key}\x1e{occurrence}".encode()).hexdigest()
            event_id = f"rp-{digest[:32]}"
        elif sum(1 for r in self.mapping.rules if r.matches(row)) > 1:
            event_id = f"{event_id}:{rule.name}"
        store = self.required(rule, row, "store")
        payload: dict[str, Any] = {
            "event_id": event_id,
            "store_id": store,
            "ts": self.ts_ms(rule, row),
        }
        for name in REQUIRED[topic]:
            if name == "amount":
                continue
            payload[FIELDS[name]] = self.required(rule, row, name)
        optional = {n: self.value(rule, row, n) for n in OPTIONAL[topic]}
        if topic == topics.ORDERS:
            payload["currency"] = payload["currency"].upper()
            amount = self.amount_minor(rule, row, payload["currency"])
            payload["amount_minor"] = amount
            payload["order_id"] = optional["order"] or event_id
            qty = _whole(optional["qty"] or "1", self.mapping.fields.get("qty"), "qty")
            if optional["sku"]:
                unit_price = amount // qty if qty else amount
                payload["items"] = [
                    {"sku": optional["sku"], "qty": qty, "unit_price_minor": unit_price}
                ]
            for name in ("channel", "session", "visitor"):
                if optional[name]:
                    payload[FIELDS[name]] = optional[name]
        elif topic == topics.INVENTORY:
            payload["on_hand"] = _whole(
                payload["on_hand"], self.mapping.fields.get("on_hand"), "on_hand"
            )
            if optional["reorder_point"]:
                payload["reorder_point"] = _whole(
                    optional["reorder_point"],
                    self.mapping.fields.get("reorder_point"),
                    "reorder_point",
                )
        else:
            for name, value in optional.items():
                if value:
                    payload[FIELDS[name]] = value
        return validated(topic, payload, source, line)


def _whole(text: str, spec: FieldSpec | None, name: str) -> int:
    if not text.isdigit():
        label = spec.label() if spec else name
        raise _RowProblemError(
            label, f"{text!r} is not a whole number >= 0", f"{name}: not a number"
        )
    return int(text)


def validated(family: str, payload: dict[str, Any], source: str, line: int) -> ReplayEvent:
    """Encode an event and validate the bytes exactly as the worker will."""
    raw = orjson.dumps(payload)
    decoded = decode_event(family, raw)
    if isinstance(decoded, Rejection):
        raise _RowProblemError(f"event ({decoded.reason})", decoded.detail, decoded.reason)
    return ReplayEvent(
        family=family,
        store_id=decoded.store_id,
        ts_ms=decoded.ts_ms,
        event_id=decoded.event_id,
        value=bytes(memoryview(raw)),  # orjson's buffer is over-allocated: keep a tight copy
        source=source,
        line=line,
    )


# --- JSONL ------------------------------------------------------------------------------


def convert_jsonl(lines: Iterable[str], source: str, topic: str | None = None) -> Conversion:
    """Events from JSONL: one event a line on ``topic``, or (no ``topic``) one
    ``{"topic", "key", "value"}`` envelope a line, as ``shoppulse simulate --jsonl`` writes.

    >>> line = '{"event_id":"e1","store_id":"s1","ts":1700000000000,"session_id":"x",'
    >>> line += '"visitor_id":"v","kind":"impression"}'
    >>> [e.event_id for e in convert_jsonl([line], "c.jsonl", topic="shop.clicks").events]
    ['e1']
    >>> convert_jsonl(['{"topic": "shop.clicks", "value": 1}'], "c.jsonl").errors[0].text()
    'c.jsonl:1: value: expected a JSON object'
    """
    out = Conversion()
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        out.rows += 1
        try:
            out.events.append(_jsonl_event(text, topic, source, number))
        except _RowProblemError as p:
            out.errors.append(RowError(source, number, p.field, p.message, p.reason))
    return out


def _jsonl_event(text: str, topic: str | None, source: str, line: int) -> ReplayEvent:
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise _RowProblemError("line", f"not JSON: {exc}", "invalid_json") from None
    if topic is None:
        if not isinstance(doc, dict) or "topic" not in doc or "value" not in doc:
            raise _RowProblemError(
                "line",
                'expected {"topic", "key", "value"} (or give --topic for bare events)',
                "not_an_envelope",
            )
        family, value = doc["topic"], doc["value"]
        if family not in topics.SOURCE_TOPICS:
            raise _RowProblemError(
                "topic", f"{family!r} is not one of {list(topics.SOURCE_TOPICS)}", "unknown_topic"
            )
        key = doc.get("key")
    else:
        family, value, key = topic, doc, None
    if not isinstance(value, dict):
        raise _RowProblemError("value", "expected a JSON object", "not_an_object")
    event = validated(family, value, source, line)
    if key is not None and key != event.store_id:
        raise _RowProblemError(
            "key", f"{key!r} is not the event's store_id {event.store_id!r}", "key_mismatch"
        )
    return event


def sort_for_replay(events: list[ReplayEvent]) -> list[ReplayEvent]:
    """Oldest first (stable: ties keep file order), so every store's history is in order."""
    return sorted(events, key=lambda e: e.ts_ms)
