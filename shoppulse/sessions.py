"""Sessions with a 30-minute inactivity timeout: starts, ends, bounces, organic starts.

A session is a ``session_id`` whose clicks are less than ``timeout_ms`` apart; a
longer gap starts a new session under the same id. A session *ends* at its last
click plus the timeout. Outcomes must land in an open minute and be
reproducible, so the end is observed by the store's own click stream: the first
click of the store (in the producer's order) whose event time reaches a
session's end counts that session as ended (and bounced, if it viewed at most
one page and never added to cart or checked out) in *that click's* minute.
A session counts as started, and as organic when its first click's channel is
``organic``, in the minute of its first click.

>>> from shoppulse.events import ClickEvent
>>> t = SessionTracker()
>>> def click(i, sid, minute, kind="page_view", channel="organic"):
...     return ClickEvent(event_id=f"e{i}", store_id="s", ts=1_700_000_040_000 + minute * 60_000,
...                       session_id=sid, visitor_id="v", kind=kind, channel=channel)
>>> t.observe(click(1, "a", 0))
{'sessions_started': 1, 'organic_sessions_started': 1}
>>> t.observe(click(2, "b", 31, channel="paid"))  # "a" ended at minute 30: a bounce
{'sessions_ended': 1, 'sessions_bounced': 1, 'sessions_started': 1}
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Final

from shoppulse.events import ClickEvent

SESSION_TIMEOUT_MS: Final = 30 * 60_000
_PAGES: Final = frozenset({"page_view", "product_view"})
_INTERACTIONS: Final = frozenset({"add_to_cart", "checkout"})


@dataclass(slots=True)
class Session:
    last_ms: int
    pages: int = 0
    interactions: int = 0

    def bounced(self) -> bool:
        return self.pages <= 1 and self.interactions == 0

    def to_list(self) -> list[int]:
        return [self.last_ms, self.pages, self.interactions]

    @classmethod
    def from_list(cls, data: list[int]) -> Session:
        last, pages, interactions = data
        return cls(int(last), int(pages), int(interactions))


@dataclass(slots=True)
class SessionTracker:
    """Open sessions of one store; :meth:`observe` returns component deltas of a click."""

    timeout_ms: int = SESSION_TIMEOUT_MS
    sessions: dict[str, Session] = field(default_factory=dict)
    changed: dict[str, Session | None] = field(default_factory=dict)
    _deadlines: list[tuple[int, str]] = field(default_factory=list)

    def observe(self, click: ClickEvent) -> dict[str, int]:
        out: dict[str, int] = {}
        ts_ms = click.ts_ms
        sid = click.session_id
        deadlines = self._deadlines
        if deadlines and deadlines[0][0] <= ts_ms:
            self._end_due(ts_ms, out)
        session = self.sessions.get(sid)
        if session is None:
            session = self.sessions[sid] = Session(last_ms=ts_ms)
            out["sessions_started"] = 1
            if click.channel == "organic":
                out["organic_sessions_started"] = 1
            heapq.heappush(deadlines, (ts_ms + self.timeout_ms, sid))
        elif ts_ms > session.last_ms:
            session.last_ms = ts_ms
            heapq.heappush(deadlines, (ts_ms + self.timeout_ms, sid))
        # (otherwise the session's deadline is unchanged and already in the heap)
        kind = click.kind
        if kind in _PAGES:
            session.pages += 1
        elif kind in _INTERACTIONS:
            session.interactions += 1
        self.changed[sid] = session
        return out

    def _end_due(self, now_ms: int, out: dict[str, int]) -> None:
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now_ms:
            deadline, sid = heapq.heappop(deadlines)
            session = self.sessions.get(sid)
            if session is None or session.last_ms + self.timeout_ms != deadline:
                continue  # a stale entry: the session went on, or ended already
            del self.sessions[sid]
            self.changed[sid] = None
            out["sessions_ended"] = out.get("sessions_ended", 0) + 1
            if session.bounced():
                out["sessions_bounced"] = out.get("sessions_bounced", 0) + 1

    def restore(self, sid: str, data: list[int]) -> None:
        session = self.sessions[sid] = Session.from_list(data)
        heapq.heappush(self._deadlines, (session.last_ms + self.timeout_ms, sid))
