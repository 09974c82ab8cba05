"""The alerts as they stand now, folded from ``shoppulse.alerts`` (pure, no IO).

Each record on ``shoppulse.alerts`` is one state change of an alert (the shape of
:func:`shoppulse.alert_shape.alert`). :class:`AlertBoard` keeps the latest state of each
alert, by ``fingerprint``. A record replaces the one held when it is newer:

* a later ``startsAt`` (a new occurrence) is newer;
* for the same ``startsAt``, ``resolved`` is newer than ``firing``;
* a ``firing`` record with the same ``startsAt`` (the engine's repeat of a firing alert)
  replaces the held firing one, so its ``value`` is the latest.

Anything older (a replayed or late record) changes nothing, so applying the same records
again, or in another order, gives the same board. Memory is bounded: every firing alert
is kept, resolved ones only ``retention_ms`` (24 h) past their ``endsAt`` (see
:meth:`AlertBoard.prune`; :meth:`AlertBoard.alerts` never shows them after that) and at
most ``max_resolved`` (1000) of them, the most recently ended.

A fingerprint's records all carry the same store, and the alert topic is keyed by store,
so they arrive in order; a firing record older than a resolved one that was already
dropped would show the alert firing again, which in-order delivery rules out.

>>> from shoppulse.alert_shape import alert
>>> t = 1_700_000_040_000
>>> def roas(status, value, ends=None):
...     return alert(name="roas_low", store_id="s1", kpi="roas", severity="warning",
...         status=status, starts_at_ms=t, ends_at_ms=ends, value=value, expected=4.0,
...         summary="ROAS below 4", description="")
>>> board = AlertBoard()
>>> board.apply(roas("firing", 3.2)), board.apply(roas("firing", 2.9))
(True, True)
>>> [(a.status, a.value) for a in board.firing()]
[('firing', 2.9)]
>>> board.apply(roas("resolved", 4.5, ends=t + 300_000))
True
>>> board.apply(roas("firing", 3.0))  # older than the resolution: ignored
False
>>> a = board.get(roas("firing", 0)["fingerprint"])
>>> a.status, a.ends_at
('resolved', '2023-11-14T22:19:00.000Z')
>>> [x.status for x in board.alerts(t + 600_000, status="all")]
['resolved']
>>> board.alerts(t + 300_000 + 86_400_000, status="resolved")  # a day after it ended
[]
>>> board.apply({"labels": {}, "status": "firing"})
Traceback (most recent call last):
...
alerts.board.AlertRecordError: fingerprint must be a non-empty string
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from shoppulse.alert_shape import Status
from shoppulse.timeutil import TimestampError, parse_ts_ms

StatusFilter = Literal["firing", "resolved", "all"]

DEFAULT_RETENTION_MS: Final = 24 * 3_600_000
DEFAULT_MAX_RESOLVED: Final = 1000
MAX_FINGERPRINT_LEN: Final = 256


class AlertRecordError(ValueError):
    """A ``shoppulse.alerts`` record that is not a valid alert state change."""


@dataclass(frozen=True, slots=True)
class BoardAlert:
    """One alert's latest state. ``starts_at`` is the record's text (an occurrence's key)."""

    fingerprint: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    status: Status
    starts_at: str
    starts_at_ms: int
    ends_at: str | None
    ends_at_ms: int | None
    value: float | None
    expected: float | None

    @property
    def rank(self) -> tuple[int, int]:
        """Newer records rank higher: by ``startsAt``, then resolved after firing."""
        return (self.starts_at_ms, 1 if self.status == "resolved" else 0)

    @property
    def store_id(self) -> str:
        return self.labels.get("store_id", "")

    @classmethod
    def from_record(cls, data: object) -> BoardAlert:
        """Validate a decoded record, or raise :class:`AlertRecordError`."""
        if not isinstance(data, Mapping):
            raise AlertRecordError("an alert record is a JSON object")
        fingerprint = data.get("fingerprint")
        if not isinstance(fingerprint, str) or not fingerprint:
            raise AlertRecordError("fingerprint must be a non-empty string")
        if len(fingerprint) > MAX_FINGERPRINT_LEN:
            raise AlertRecordError(f"fingerprint is longer than {MAX_FINGERPRINT_LEN}")
        status = data.get("status")
        if status not in ("firing", "resolved"):
            raise AlertRecordError("status must be firing or resolved")
        starts_at = data.get("startsAt")
        if not isinstance(starts_at, str):
            raise AlertRecordError("startsAt must be RFC 3339 text")
        ends_at = data.get("endsAt")
        if ends_at is not None and not isinstance(ends_at, str):
            raise AlertRecordError("endsAt must be RFC 3339 text or null")
        return cls(
            fingerprint=fingerprint,
            labels=_strings(data, "labels"),
            annotations=_strings(data, "annotations", required=False),
            status=status,
            starts_at=starts_at,
            starts_at_ms=_ts(starts_at, "startsAt"),
            ends_at=ends_at,
            ends_at_ms=None if ends_at is None else _ts(ends_at, "endsAt"),
            value=_number(data, "value"),
            expected=_number(data, "expected"),
        )


def _strings(data: Mapping[str, Any], key: str, *, required: bool = True) -> dict[str, str]:
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise AlertRecordError(f"{key} must be an object")
    return {str(k): str(v) for k, v in value.items()}


def _ts(text: str, key: str) -> int:
    try:
        return parse_ts_ms(text)
    except TimestampError as exc:
        raise AlertRecordError(f"{key}: {exc}") from None


def _number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AlertRecordError(f"{key} must be a number or null")
    return float(value)


class AlertBoard:
    """The latest state of each alert by fingerprint; see the module docstring."""

    def __init__(
        self,
        *,
        retention_ms: int = DEFAULT_RETENTION_MS,
        max_resolved: int = DEFAULT_MAX_RESOLVED,
    ) -> None:
        self.retention_ms = retention_ms
        self.max_resolved = max_resolved
        self._alerts: dict[str, BoardAlert] = {}
        self._resolved = 0

    def __len__(self) -> int:
        return len(self._alerts)

    def apply(self, record: object) -> bool:
        """Fold one decoded record; True when it changed the board.

        Raises :class:`AlertRecordError` for a record that is not an alert state change.
        """
        new = record if isinstance(record, BoardAlert) else BoardAlert.from_record(record)
        old = self._alerts.get(new.fingerprint)
        if old is not None:
            if new == old or new.rank < old.rank:
                return False
            if new.rank == old.rank and new.status == "resolved":
                return False  # a repeated resolution: the first one stands
            if old.status == "resolved":
                self._resolved -= 1
        self._alerts[new.fingerprint] = new
        if new.status == "resolved":
            self._resolved += 1
            if self._resolved > self.max_resolved:
                self._drop_resolved(self._resolved - self.max_resolved)
        return True

    def get(self, fingerprint: str) -> BoardAlert | None:
        return self._alerts.get(fingerprint)

    def firing(self) -> list[BoardAlert]:
        """Every firing alert, newest ``startsAt`` first."""
        return _newest_first(a for a in self._alerts.values() if a.status == "firing")

    def alerts(
        self, now_ms: int, *, status: StatusFilter = "firing", store_id: str | None = None
    ) -> list[BoardAlert]:
        """The alerts with ``status`` (of ``store_id``, or every store), newest first.

        Resolved alerts that ended ``retention_ms`` or more before ``now_ms`` are left out.
        """
        horizon = now_ms - self.retention_ms
        return _newest_first(
            a
            for a in self._alerts.values()
            if (status == "all" or a.status == status)
            and (store_id is None or a.store_id == store_id)
            and not _ended_before(a, horizon)
        )

    def prune(self, now_ms: int) -> int:
        """Drop resolved alerts that ended ``retention_ms`` or more ago; return how many."""
        horizon = now_ms - self.retention_ms
        old = [f for f, a in self._alerts.items() if _ended_before(a, horizon)]
        for fingerprint in old:
            del self._alerts[fingerprint]
        self._resolved -= len(old)
        return len(old)

    def _drop_resolved(self, n: int) -> None:
        resolved = (a for a in self._alerts.values() if a.status == "resolved")
        for a in heapq.nsmallest(n, resolved, key=_end_key):
            del self._alerts[a.fingerprint]
        self._resolved -= n


def _ended_before(a: BoardAlert, horizon_ms: int) -> bool:
    return a.status == "resolved" and _end_key(a)[0] <= horizon_ms


def _end_key(a: BoardAlert) -> tuple[int, str]:
    """When a resolved alert ended (its ``startsAt`` if it carries no ``endsAt``)."""
    end = a.ends_at_ms if a.ends_at_ms is not None else a.starts_at_ms
    return (end, a.fingerprint)


def _newest_first(alerts: Iterable[BoardAlert]) -> list[BoardAlert]:
    return sorted(alerts, key=lambda a: (-a.starts_at_ms, a.fingerprint))
