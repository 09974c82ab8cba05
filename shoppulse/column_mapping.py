"""Column mappings: how rows of a CSV export become ShopPulse events (pure).

A mapping is a YAML document (documented field by field in ``docs/replay.md``; examples in
``docs/mappings/``) that says which column holds each event field, how to parse it, and for
each topic which rows become which events. This module parses and checks the mapping text;
:mod:`shoppulse.row_conversion` converts rows with it. Neither opens a file or talks to a
broker (``cli/replay.py`` does that).

>>> doc = '''
... fields:
...   time: {column: when, format: "%Y-%m-%d %H:%M:%S", timezone: "+02:00"}
...   store: {constant: store-001}
...   session: {column: session}
...   visitor: {column: session}
... events:
...   - topic: shop.clicks
...     set: {kind: page_view}
... '''
>>> mapping = load_mapping(doc)
>>> [r.topic for r in mapping.rules], mapping.fields["time"].column
(['shop.clicks'], 'when')
>>> load_mapping(doc.replace("visitor: {column: session}", ""))
Traceback (most recent call last):
...
shoppulse.column_mapping.MappingError: mapping: events[0]: shop.clicks needs fields ['visitor'] ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from shoppulse import topics

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
