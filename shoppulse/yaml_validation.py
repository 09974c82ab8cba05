"""Reading a YAML configuration document, and naming its validation errors by field path.

Shared by the targets, scorecards, alert-rules and receivers files.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class StrictSpec(BaseModel):
    """The base of a configuration file's models: exact types, no unknown fields, frozen."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def check_timezone(value: str | None) -> str | None:
    """An IANA time zone name (or None), as a field validator; a clear error otherwise.

    >>> check_timezone("Europe/Berlin")
    'Europe/Berlin'
    >>> check_timezone("Mars/Olympus")
    Traceback (most recent call last):
    ...
    ValueError: unknown IANA time zone 'Mars/Olympus', e.g. Europe/Berlin
    """
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}, e.g. Europe/Berlin") from None
    return value


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One line per error: ``field.path: message``, the path joined with dots."""
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if loc and loc[-1] == "[key]":  # a bad mapping key: name the key, not a field
            loc.pop()
            msg = f"key {loc.pop()!r}: {msg}"
        path = prefix
        for part in loc:
            path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
        if err["type"] == "missing":
            msg = "required"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field"
        lines.append(f"{path or '(top level)'}: {msg}")
    return "; ".join(lines)


def parse_yaml_mapping(text: str, what: str) -> dict[str, Any]:
    """``yaml.safe_load`` a document that must be a mapping; errors as :class:`ValueError`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{what}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{what}: expected a YAML mapping at the top level")
    return data
