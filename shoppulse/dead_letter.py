"""The dead-letter record: the raw bytes, where they came from, and why they were refused.

>>> rec = dead_letter_record(raw=b"{oops", key=b"s1", topic="shop.orders", partition=2,
...     offset=41, timestamp_ms=1_700_000_000_000, reason="invalid_json", detail="bad",
...     failed_at_ms=1_700_000_000_500)
>>> rec["reason"], rec["source"]["offset"], rec["raw_base64"], rec["raw_text"]
('invalid_json', 41, 'e29vcHM=', '{oops')
"""

from __future__ import annotations

import base64
from typing import Any

#: Raw text is copied for reading convenience only up to this size; base64 always holds all.
RAW_TEXT_LIMIT = 4096


def dead_letter_record(
    *,
    raw: bytes | None,
    key: bytes | None,
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int | None,
    reason: str,
    detail: str,
    failed_at_ms: int,
) -> dict[str, Any]:
    """A JSON-ready dead-letter record; nothing of the input is lost."""
    raw_text: str | None = None
    if raw is not None and len(raw) <= RAW_TEXT_LIMIT:
        try:
            raw_text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raw_text = None
    return {
        "reason": reason,
        "detail": detail,
        "source": {
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "timestamp_ms": timestamp_ms,
            "key_base64": None if key is None else base64.b64encode(key).decode(),
        },
        "raw_base64": None if raw is None else base64.b64encode(raw).decode(),
        "raw_text": raw_text,
        "failed_at_ms": failed_at_ms,
    }
