"""Column mappings: turn rows of a CSV export into ShopPulse events (pure).

A mapping is a YAML document (documented field by field in ``docs/replay.md``; examples in
``docs/mappings/``) that says which column holds each event field, how to parse it, and for
each topic which rows become which events. This module parses the mapping text and converts
CSV lines it is given; it opens no file and talks to no broker (``cli/replay.py`` does that).

Every event it returns has been encoded and run through :func:`shoppulse.events.decode_event`,
the worker's own validation, so nothing the worker would dead-letter as invalid comes out. A
row that cannot become a valid event is a :class:`RowError` naming the source, the line and
the field.

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
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import yaml

from shoppulse import topics
from shoppulse.events import Rejection, decode_event
from shoppulse.money import minor_exponent
from shoppulse.timeutil import TimestampError, epoch_ms, parse_ts_ms

#: Every field a mapping may name, and the event field it fills.
FIELDS: Final[dict[str, str]] = {
    "event_id": "event_id",
    "time": "ts",
    "store": "store_id",
    "order": "order_id",
    "customer": "customer_id",
    "status": "status",
    "amount": "amount_minor",
    "currency": "currency",
    "session": "session_id",
    "visitor": "visitor_id",
    "sku": "sku",
    "qty": "qty",
    "kind": "kind",
    "channel": "channel",
    "conversation": "conversation_id",
    "agent": "agent_id",
    "on_hand": "on_hand",
    "reorder_point": "reorder_point",
}
#: Fields each topic needs (besides event_id, time and store, which every topic needs).
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    topics.ORDERS: ("customer", "status", "amount", "currency"),
    topics.CLICKS: ("session", "visitor", "kind"),
    topics.CHATS: ("conversation", "customer", "kind"),
    topics.INVENTORY: ("sku", "on_hand"),
}
#: Optional fields each topic uses when they are mapped (others are ignored for it).
OPTIONAL: Final[dict[str, tuple[str, ...]]] = {
    topics.ORDERS: ("order", "sku", "qty", "channel", "session", "visitor"),
    topics.CLICKS: ("sku", "channel"),
    topics.CHATS: ("agent",),
    topics.INVENTORY: ("reorder_point",),
}
SKIP: Final = "skip"
"""A ``values`` entry mapped to ``skip``: the row makes no event of that rule (not an error)."""

TIME_FORMATS: Final = ("iso8601", "epoch_ms", "epoch_s")
_DECIMAL = re.compile(r"^\d+(\.\d+)?$")
_OFFSET = re.compile(r"^([+-])(\d\d):?(\d\d)$")
_SPEC_KEYS: Final = frozenset(
    {"column", "constant", "default", "values", "format", "timezone", "unit", "decimals"}
)


class MappingError(ValueError):
    """The mapping document itself is wrong; the message names the key."""


def parse_timezone(text: str) -> tzinfo:
    """``UTC``, an offset ``+02:00`` / ``-0530``, or an IANA name ``Europe/Berlin``.

    >>> parse_timezone("+02:00").utcoffset(None)
    datetime.timedelta(seconds=7200)
    >>> parse_timezone("UTC") is UTC
    True
    """
    text = text.strip()
    if text.upper() in ("UTC", "Z"):
        return UTC
    m = _OFFSET.match(text)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        hours, minutes = int(m.group(2)), int(m.group(3))
        if hours > 23 or minutes > 59:
            raise MappingError(f"timezone {text!r}: offset out of range")
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(
            f"timezone {text!r} is not UTC, an offset like +02:00, or a known IANA name"
        ) from None


@dataclass(frozen=True)
class FieldSpec:
    """Where a field's value comes from: a column or a constant, and how to read it."""

    name: str
    column: str | None = None
    constant: str | None = None
    default: str | None = None
    values: dict[str, str] | None = None
    time_format: str = "iso8601"
    tz: tzinfo = UTC
    unit: str = "minor"
    decimals: int | None = None

    def label(self) -> str:
        return f"{self.name} (column {self.column!r})" if self.column else self.name


@dataclass(frozen=True)
class Rule:
    """Rows matching ``when`` (column → accepted values) become one event on ``topic``."""

    name: str
    topic: str
    when: dict[str, frozenset[str]]
    set: dict[str, str]

    def matches(self, row: dict[str, str]) -> bool:
        return all(row.get(col, "").strip() in ok for col, ok in self.when.items())


@dataclass(frozen=True)
class Mapping:
    fields: dict[str, FieldSpec]
    rules: tuple[Rule, ...]
    id_columns: tuple[str, ...] | None = None
    repeated_rows: str = "count"
    delimiter: str = ","
    description: str = ""


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


# --- loading ----------------------------------------------------------------------------


def load_mapping(text: str, source: str = "mapping") -> Mapping:
    """Parse and check a mapping document; :class:`MappingError` names what is wrong."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(f"{source}: not YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise MappingError(f"{source}: expected a mapping with 'fields' and 'events'")
    unknown = set(doc) - {"description", "format", "csv", "fields", "events"}
    if unknown:
        raise MappingError(f"{source}: unknown keys {sorted(unknown)}")
    if doc.get("format", "csv") != "csv":
        raise MappingError(f"{source}: format: only 'csv' is supported")
    csv_opts = doc.get("csv") or {}
    if not isinstance(csv_opts, dict) or set(csv_opts) - {"delimiter"}:
        raise MappingError(f"{source}: csv: only 'delimiter' may be set")
    delimiter = str(csv_opts.get("delimiter", ","))
    if len(delimiter) != 1:
        raise MappingError(f"{source}: csv.delimiter must be one character")
    raw_fields = doc.get("fields")
    if not isinstance(raw_fields, dict):
        raise MappingError(f"{source}: 'fields' must be a mapping of field name to spec")
    fields: dict[str, FieldSpec] = {}
    id_columns: tuple[str, ...] | None = None
    repeated_rows = "count"
    for name, spec in raw_fields.items():
        if name not in FIELDS:
            raise MappingError(f"{source}: fields.{name}: unknown field; known: {sorted(FIELDS)}")
        if name == "event_id" and isinstance(spec, dict) and "column" not in spec:
            id_columns, repeated_rows = _derived_id(source, spec)
            continue
        fields[name] = _field_spec(source, name, spec)
    for name in ("time", "store"):
        if name not in fields:
            raise MappingError(f"{source}: fields.{name} is required")
    raw_rules = doc.get("events")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise MappingError(f"{source}: 'events' must be a non-empty list of rules")
    rules = tuple(_rule(source, i, r, fields) for i, r in enumerate(raw_rules))
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise MappingError(f"{source}: events: rule names must be unique")
    return Mapping(
        fields=fields,
        rules=rules,
        id_columns=id_columns,
        repeated_rows=repeated_rows,
        delimiter=delimiter,
        description=str(doc.get("description", "")),
    )


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _derived_id(source: str, spec: dict[str, Any]) -> tuple[tuple[str, ...] | None, str]:
    where = f"{source}: fields.event_id"
    if set(spec) - {"derive_from", "repeated_rows"}:
        raise MappingError(f"{where}: use 'column', or 'derive_from' and 'repeated_rows'")
    cols = spec.get("derive_from")
    if cols is not None and (not isinstance(cols, list) or not cols):
        raise MappingError(f"{where}.derive_from: a non-empty list of columns")
    repeated = spec.get("repeated_rows", "count")
    if repeated not in ("count", "once"):
        raise MappingError(f"{where}.repeated_rows: 'count' or 'once'")
    return (tuple(str(c) for c in cols) if cols else None), repeated


def _field_spec(source: str, name: str, spec: object) -> FieldSpec:
    where = f"{source}: fields.{name}"
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: expected {{column: NAME}} or {{constant: VALUE}}")
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise MappingError(f"{where}: unknown keys {sorted(unknown)}")
    if ("column" in spec) == ("constant" in spec):
        raise MappingError(f"{where}: give exactly one of 'column' and 'constant'")
    values = spec.get("values")
    if values is not None:
        if not isinstance(values, dict):
            raise MappingError(f"{where}.values: a mapping of column value to event value")
        values = {_text(k): _text(v) for k, v in values.items()}
    kwargs: dict[str, Any] = {}
    if "format" in spec:
        if name != "time":
            raise MappingError(f"{where}: 'format' is for the time field")
        fmt = str(spec["format"])
        if fmt not in TIME_FORMATS and "%" not in fmt:
            raise MappingError(f"{where}.format: one of {TIME_FORMATS} or a strptime pattern")
        kwargs["time_format"] = fmt
    if "timezone" in spec:
        if name != "time":
            raise MappingError(f"{where}: 'timezone' is for the time field")
        try:
            kwargs["tz"] = parse_timezone(str(spec["timezone"]))
        except MappingError as exc:
            raise MappingError(f"{where}: {exc}") from None
    if "unit" in spec or "decimals" in spec:
        if name != "amount":
            raise MappingError(f"{where}: 'unit' and 'decimals' are for the amount field")
        unit = str(spec.get("unit", "minor"))
        if unit not in ("minor", "decimal"):
            raise MappingError(f"{where}.unit: 'minor' or 'decimal'")
        kwargs["unit"] = unit
        if "decimals" in spec:
            decimals = spec["decimals"]
            if not isinstance(decimals, int) or isinstance(decimals, bool) or decimals < 0:
                raise MappingError(f"{where}.decimals: a whole number >= 0")
            kwargs["decimals"] = decimals
    return FieldSpec(
        name=name,
        column=str(spec["column"]) if "column" in spec else None,
        constant=_text(spec["constant"]) if "constant" in spec else None,
        default=_text(spec["default"]) if spec.get("default") is not None else None,
        values=values,
        **kwargs,
    )


def _rule(source: str, index: int, raw: object, fields: dict[str, FieldSpec]) -> Rule:
    where = f"{source}: events[{index}]"
    if not isinstance(raw, dict):
        raise MappingError(f"{where}: expected {{topic, when, set}}")
    unknown = set(raw) - {"name", "topic", "when", "set"}
    if unknown:
        raise MappingError(f"{where}: unknown keys {sorted(unknown)}")
    topic = raw.get("topic")
    if topic not in topics.SOURCE_TOPICS:
        raise MappingError(f"{where}.topic: one of {list(topics.SOURCE_TOPICS)}")
    when_raw = raw.get("when") or {}
    if not isinstance(when_raw, dict):
        raise MappingError(f"{where}.when: a mapping of column to value or list of values")
    when = {
        str(col): frozenset(_text(v) for v in (val if isinstance(val, list) else [val]))
        for col, val in when_raw.items()
    }
    set_raw = raw.get("set") or {}
    if not isinstance(set_raw, dict):
        raise MappingError(f"{where}.set: a mapping of field to constant value")
    for name in set_raw:
        if name not in FIELDS or name in ("time", "event_id"):
            raise MappingError(f"{where}.set.{name}: not a field that can be set per rule")
    sets = {str(k): _text(v) for k, v in set_raw.items()}
    missing = [n for n in REQUIRED[topic] if n not in sets and n not in fields]
    if missing:
        raise MappingError(f"{where}: {topic} needs fields {missing} (in 'fields' or 'set')")
    name = str(raw.get("name") or f"{topic}#{index}")
    return Rule(name=name, topic=str(topic), when=when, set=sets)


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
