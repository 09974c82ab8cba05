"""Fan-out of applied snapshots to websocket clients, without letting a slow client block.

Each subscriber owns a bounded, coalescing buffer: a newer message for the same
(store, window) replaces the pending one in place (the client only ever needs
the latest revision of a minute), and when the buffer is full the oldest
pending message (the oldest minute) is dropped. Coalescing alone bounds a
buffer by the number of (store, window) pairs updated since the client last
read; the bound protects memory from a client that stalls for a long time.
:meth:`Broadcaster.publish` never awaits, so the Kafka feed and the other
clients are never slowed down by a slow client.

>>> import asyncio
>>> b = Broadcaster(max_pending=2)
>>> sub = b.subscribe("s1")
>>> b.publish("s1", 0, "a"); b.publish("s1", 0, "a2"); b.publish("s2", 0, "x")
>>> b.publish("s1", 60_000, "b"); b.publish("s1", 120_000, "c")
>>> sub.pending(), sub.dropped
(['b', 'c'], 1)
>>> asyncio.run(sub.get())
'b'
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Final

from api.view import ALL_STORES

DEFAULT_MAX_PENDING: Final = 4096


class Subscription:
    """One client's pending messages, keyed by (store, window start)."""

    def __init__(self, store_id: str, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.store_id = store_id
        self.max_pending = max_pending
        self.dropped = 0
        self.coalesced = 0
        self._pending: OrderedDict[tuple[str, int], str] = OrderedDict()
        self._ready = asyncio.Event()

    def wants(self, store_id: str) -> bool:
        """Whether this subscriber follows ``store_id``."""
        return self.store_id in (ALL_STORES, store_id)

    def offer(self, store_id: str, window_start_ms: int, message: str) -> None:
        """Queue ``message``, coalescing per (store, window) and dropping the oldest when full."""
        key = (store_id, window_start_ms)
        if key in self._pending:
            self._pending[key] = message
            self.coalesced += 1
        else:
            self._pending[key] = message
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
                self.dropped += 1
        self._ready.set()

    def pending(self) -> list[str]:
        """The pending messages, oldest first (for inspection and tests)."""
        return list(self._pending.values())

    async def get(self) -> str:
        """Wait for and return the oldest pending message."""
        while not self._pending:
            self._ready.clear()
            await self._ready.wait()
        _, message = self._pending.popitem(last=False)
        return message


class Broadcaster:
    """Registry of subscriptions; :meth:`publish` offers a message to every interested one."""

    def __init__(self, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.max_pending = max_pending
        self._subs: set[Subscription] = set()

    @property
    def subscriber_count(self) -> int:
        """How many clients are subscribed."""
        return len(self._subs)

    def subscribe(self, store_id: str) -> Subscription:
        """Follow one store, or every store with ``"all"``."""
        sub = Subscription(store_id, self.max_pending)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop delivering to ``sub`` (idempotent)."""
        self._subs.discard(sub)

    def publish(self, store_id: str, window_start_ms: int, message: str) -> None:
        """Offer an encoded message about (store, window) to every interested subscriber."""
        for sub in self._subs:
            if sub.wants(store_id):
                sub.offer(store_id, window_start_ms, message)
