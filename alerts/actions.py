"""Acknowledgements and silences: the records on ``shoppulse.alert-actions`` and their fold.

Operators act on alerts through the API; every action is one Kafka record, so a restart of
the API or the dispatcher rebuilds the same state by reading the topic from the start. The
topic is compacted and every record is keyed by what it is about, so the latest record of
each key is kept for ever and the topic stays small.

Records (JSON objects; times are RFC 3339 UTC):

* ``{"type": "silence", "id", "matchers": [{"name", "value", "op"}], "startsAt", "endsAt",
  "createdBy", "comment", "updatedAt"}`` keyed ``silence:<id>``. Expiring a silence
  (``DELETE /api/v1/silences/{id}``) publishes the same silence again with ``endsAt`` set to
  the time of expiry, as Alertmanager does; the latest record of an id wins.
* ``{"type": "ack", "fingerprint", "startsAt", "by", "comment", "at"}`` keyed
  ``ack:<fingerprint>:<startsAt>``. An acknowledgement belongs to one occurrence of an
  alert (its fingerprint and ``startsAt``): when the alert resolves and fires again later,
  the new occurrence is not acknowledged.

Matchers follow Alertmanager: ``op`` is ``=``, ``!=``, ``=~`` or ``!~``; regular expressions
are anchored (they must match the whole label value); a missing label is the empty string.

>>> book, t = ActionBook(), 1_700_000_000_000
>>> s = Silence(id="s-1", matchers=(Matcher("store_id", "store-00[12]", "=~"),),
...     starts_at_ms=t, ends_at_ms=t + 3_600_000, created_by="ana", comment="maintenance",
...     updated_at_ms=t)
>>> book.apply(s.to_record())
True
>>> [x.id for x in book.silencing({"store_id": "store-001", "alertname": "roas_low"}, t + 1)]
['s-1']
>>> book.silencing({"store_id": "store-003"}, t + 1), book.silencing({"store_id": "store-001"},
...     t + 3_600_000)
((), ())
>>> book.apply(Ack("f1", "2023-11-14T22:14:00.000Z", "ana", "on it", t).to_record())
True
>>> book.ack_for("f1", "2023-11-14T22:14:00.000Z").by
'ana'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal, cast

from shoppulse.timeutil import TimestampError, format_ts_ms, parse_ts_ms

MatchOp = Literal["=", "!=", "=~", "!~"]
MATCH_OPS: Final[tuple[MatchOp, ...]] = ("=", "!=", "=~", "!~")
MAX_MATCHERS: Final = 32
MAX_TEXT: Final = 1_000


class ActionError(ValueError):
    """A record or request that is not a valid acknowledgement or silence."""


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label condition of a silence.

    >>> Matcher("severity", "warning|info", "=~").matches({"severity": "info"})
    True
    >>> Matcher("team", "", "=").matches({})
    True
    >>> Matcher("store_id", "s1", "x")
    Traceback (most recent call last):
    ...
    alerts.actions.ActionError: matcher op 'x' is not one of =, !=, =~, !~
    """

    name: str
    value: str
    op: MatchOp = "="

    def __post_init__(self) -> None:
        if self.op not in MATCH_OPS:
            raise ActionError(f"matcher op {self.op!r} is not one of {', '.join(MATCH_OPS)}")
        if not self.name:
            raise ActionError("matcher name must not be empty")
        if len(self.name) > MAX_TEXT or len(self.value) > MAX_TEXT:
            raise ActionError(f"matcher name and value are limited to {MAX_TEXT} characters")
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ActionError(f"matcher {self.name}: bad regular expression: {exc}") from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = str(labels.get(self.name, ""))
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        hit = re.fullmatch(self.value, actual) is not None
        return hit if self.op == "=~" else not hit

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "value": self.value, "op": self.op}

    @classmethod
    def from_json(cls, data: object) -> Matcher:
        if not isinstance(data, Mapping):
            raise ActionError("a matcher is an object with name, value and op")
        name, value, op = data.get("name"), data.get("value"), data.get("op", "=")
        if not isinstance(name, str) or not isinstance(value, str) or not isinstance(op, str):
            raise ActionError("matcher name, value and op must be strings")
        return cls(name, value, cast(MatchOp, op))


@dataclass(frozen=True, slots=True)
class Silence:
    """Suppresses notifications of the alerts all its matchers match, from start to end."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at_ms: int
    ends_at_ms: int
    created_by: str
    comment: str
    updated_at_ms: int

    def __post_init__(self) -> None:
        if not self.matchers:
            raise ActionError("a silence needs at least one matcher")
        if len(self.matchers) > MAX_MATCHERS:
            raise ActionError(f"a silence has at most {MAX_MATCHERS} matchers")
        if self.ends_at_ms < self.starts_at_ms:
            raise ActionError("a silence must not end before it starts")
        if len(self.created_by) > MAX_TEXT or len(self.comment) > MAX_TEXT:
            raise ActionError(f"createdBy and comment are limited to {MAX_TEXT} characters")

    @property
    def key(self) -> str:
        return f"silence:{self.id}"

    def state(self, now_ms: int) -> Literal["pending", "active", "expired"]:
        """Alertmanager's silence states."""
        if now_ms >= self.ends_at_ms:
            return "expired"
        return "active" if now_ms >= self.starts_at_ms else "pending"

    def silences(self, labels: Mapping[str, str], now_ms: int) -> bool:
        """True if the silence is active at ``now_ms`` and every matcher matches ``labels``."""
        return self.state(now_ms) == "active" and all(m.matches(labels) for m in self.matchers)

    def expired_at(self, now_ms: int) -> Silence:
        """This silence ended at ``now_ms`` (or as it was, if it ended before).

        A pending silence starts and ends at ``now_ms``, as in Alertmanager, so it is
        expired at once rather than pending until its start.

        >>> s = Silence("s", (Matcher("a", "b"),), 2_000, 9_000, "ana", "", 1_000)
        >>> s.expired_at(5_000).state(5_000), s.expired_at(1_500).state(1_500)
        ('expired', 'expired')
        >>> e = s.expired_at(1_500)
        >>> (e.starts_at_ms, e.ends_at_ms, e.updated_at_ms)
        (1500, 1500, 1500)
        """
        end = min(self.ends_at_ms, now_ms)
        return replace(
            self,
            starts_at_ms=min(self.starts_at_ms, end),
            ends_at_ms=end,
            updated_at_ms=now_ms,
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "type": "silence",
            "id": self.id,
            "matchers": [m.to_json() for m in self.matchers],
            "startsAt": format_ts_ms(self.starts_at_ms),
            "endsAt": format_ts_ms(self.ends_at_ms),
            "createdBy": self.created_by,
            "comment": self.comment,
            "updatedAt": format_ts_ms(self.updated_at_ms),
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Silence:
        matchers = data.get("matchers")
        if not isinstance(matchers, list):
            raise ActionError("silence matchers must be a list")
        return cls(
            id=_text(data, "id"),
            matchers=tuple(Matcher.from_json(m) for m in matchers),
            starts_at_ms=_ts(data, "startsAt"),
            ends_at_ms=_ts(data, "endsAt"),
            created_by=_text(data, "createdBy"),
            comment=_text(data, "comment"),
            updated_at_ms=_ts(data, "updatedAt"),
        )


@dataclass(frozen=True, slots=True)
class Ack:
    """An operator has seen one occurrence of an alert (``fingerprint`` + ``startsAt``)."""

    fingerprint: str
    starts_at: str
    by: str
    comment: str
    at_ms: int

    @property
    def key(self) -> str:
        return f"ack:{self.fingerprint}:{self.starts_at}"

    def to_record(self) -> dict[str, Any]:
        return {
            "type": "ack",
            "fingerprint": self.fingerprint,
            "startsAt": self.starts_at,
            "by": self.by,
            "comment": self.comment,
            "at": format_ts_ms(self.at_ms),
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Ack:
        return cls(
            fingerprint=_text(data, "fingerprint"),
            starts_at=_text(data, "startsAt"),
            by=_text(data, "by"),
            comment=_text(data, "comment"),
            at_ms=_ts(data, "at"),
        )


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ActionError(f"{key} must be a string")
    return value


def _ts(data: Mapping[str, Any], key: str) -> int:
    try:
        return parse_ts_ms(data.get(key))
    except TimestampError as exc:
        raise ActionError(f"{key}: {exc}") from None


def parse_action(data: object) -> Silence | Ack:
    """A decoded ``shoppulse.alert-actions`` record, or :class:`ActionError`.

    >>> parse_action({"type": "mute"})
    Traceback (most recent call last):
    ...
    alerts.actions.ActionError: unknown action type 'mute'
    """
    if not isinstance(data, Mapping):
        raise ActionError("an action record is a JSON object")
    kind = data.get("type")
    if kind == "silence":
        return Silence.from_record(data)
    if kind == "ack":
        return Ack.from_record(data)
    raise ActionError(f"unknown action type {kind!r}")


class ActionBook:
    """The current silences and acknowledgements, folded from ``shoppulse.alert-actions``.

    Applying the same records again gives the same state (a replay is harmless). For a
    silence the record with the latest ``updatedAt`` wins, whatever the order of arrival.
    """

    def __init__(self) -> None:
        self._silences: dict[str, Silence] = {}
        self._acks: dict[tuple[str, str], Ack] = {}

    def apply(self, data: object) -> bool:
        """Fold one decoded record; False (and nothing changes) if it is not valid."""
        try:
            action = parse_action(data)
        except ActionError:
            return False
        self.add(action)
        return True

    def add(self, action: Silence | Ack) -> None:
        if isinstance(action, Silence):
            old = self._silences.get(action.id)
            if old is None or action.updated_at_ms >= old.updated_at_ms:
                self._silences[action.id] = action
        else:
            self._acks.setdefault((action.fingerprint, action.starts_at), action)

    def silence(self, silence_id: str) -> Silence | None:
        return self._silences.get(silence_id)

    def silences(self) -> tuple[Silence, ...]:
        """Every silence ever seen, newest start first."""
        return tuple(sorted(self._silences.values(), key=lambda s: (-s.starts_at_ms, s.id)))

    def silencing(self, labels: Mapping[str, str], now_ms: int) -> tuple[Silence, ...]:
        """The silences active at ``now_ms`` that match ``labels``."""
        return tuple(s for s in self.silences() if s.silences(labels, now_ms))

    def ack_for(self, fingerprint: str, starts_at: str) -> Ack | None:
        """The first acknowledgement of this occurrence of an alert, if any."""
        return self._acks.get((fingerprint, starts_at))
