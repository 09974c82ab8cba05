"""Event-time parsing: RFC 3339 with an offset, or epoch milliseconds.

>>> parse_ts_ms(1700000000123)
1700000000123
>>> parse_ts_ms("2023-11-14T22:13:20.123+00:00")
1700000000123
>>> parse_ts_ms("2023-11-14T22:13:20Z")
1700000000000

Text without an offset is refused unless the caller says which offset it is at:

>>> parse_ts_ms("2023-11-14 22:13:20")
Traceback (most recent call last):
...
shoppulse.timeutil.TimestampError: ts '2023-11-14 22:13:20' has no UTC offset
>>> parse_ts_ms("2023-11-14 22:13:20.123", naive_tz=UTC)
1700000000123
>>> from datetime import timezone
>>> parse_ts_ms("2023-11-15T06:13:20", naive_tz=timezone(timedelta(hours=8)))
1700000000000
>>> parse_ts_ms("2023-11-14T22:13:20+00:00", naive_tz=timezone(timedelta(hours=8)))
1700000000000
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, tzinfo

# Sanity bounds: 2000-01-01 .. 2100-01-01, in epoch milliseconds.
MIN_TS_MS = 946_684_800_000
MAX_TS_MS = 4_102_444_800_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


class TimestampError(ValueError):
    """A ``ts`` that is not RFC 3339 with an offset nor epoch milliseconds."""


def parse_ts_ms(value: object, *, naive_tz: tzinfo | None = None) -> int:
    """Return the event time in epoch milliseconds, or raise :class:`TimestampError`.

    ``naive_tz``: the time zone of text without an offset (ISO 8601 such as
    ``2023-11-14 22:13:20``); by default such text is refused. Text with an offset
    keeps its own.
    """
    if isinstance(value, bool):
        raise TimestampError("ts must be RFC 3339 text or epoch milliseconds, not a boolean")
    if isinstance(value, int):
        ts_ms = value
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise TimestampError("ts must be finite")
        if not value.is_integer():
            raise TimestampError("epoch milliseconds must be a whole number")
        ts_ms = int(value)
    elif isinstance(value, str):
        ts_ms = _parse_rfc3339_ms(value, naive_tz)
    else:
        raise TimestampError("ts must be RFC 3339 text or epoch milliseconds")
    if not MIN_TS_MS <= ts_ms < MAX_TS_MS:
        raise TimestampError(f"ts {ts_ms} is outside 2000-01-01..2100-01-01")
    return ts_ms


def _parse_rfc3339_ms(text: str, naive_tz: tzinfo | None = None) -> int:
    if len(text) > 40:
        raise TimestampError("ts text is too long for RFC 3339")
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise TimestampError(f"ts {text!r} is not RFC 3339") from exc
    if parsed.tzinfo is None and naive_tz is not None:
        parsed = parsed.replace(tzinfo=naive_tz)
    if parsed.tzinfo is None:
        raise TimestampError(f"ts {text!r} has no UTC offset")
    return (parsed - _EPOCH) // _ONE_MS


def format_ts_ms(ts_ms: int) -> str:
    """Format epoch milliseconds as RFC 3339 UTC with milliseconds.

    >>> format_ts_ms(1700000000123)
    '2023-11-14T22:13:20.123Z'
    """
    dt = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"


def wall_clock_ms() -> int:
    """The current wall-clock time in epoch milliseconds (the default clock of every
    component that takes one)."""
    return time.time_ns() // 1_000_000


def epoch_ms(instant: datetime) -> int:
    """Epoch milliseconds of an aware datetime.

    >>> epoch_ms(datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC))
    1700000000123
    """
    return (instant - _EPOCH) // _ONE_MS
