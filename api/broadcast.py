"""Fan-out of applied snapshots to websocket clients, without letting a slow client block.

Each subscriber owns a bounded, coalescing buffer: a newer message for the same
(store, window) replaces the pending one in place (the client only ever needs
the latest revision of a minute), and when the buffer is full the oldest
pending message (the oldest minute) is dropped. Coalescing alone bounds a
buffer by the number of (store, window) pairs updated since the client last
read; the bound protects memory from a client that stalls for a long time.
:meth:`Broadcaster.publish` never awaits, so the Kafka feed and the other
clients are never slowed down by a slow client.

Besides updates, a subscription carries *control* messages (the snapshot that
answers a ``subscribe``, a ``pong``, an ``error``), which are delivered before
any pending update and never dropped by the update bound; a newer snapshot
replaces a pending one. A *barrier* (the answer to a client's ``sync``) goes
after every pending update, and updates offered after it are not coalesced into
the ones before it: when the client reads the barrier, it has read every update
applied before the ``sync`` arrived. :meth:`Broadcaster.follow` switches a
subscription to another store: its pending updates of stores it no longer
follows are discarded.

>>> import asyncio
>>> b = Broadcaster(max_pending=2)
>>> sub = b.subscribe("s1")
>>> b.publish("s1", 0, "a"); b.publish("s1", 0, "a2"); b.publish("s2", 0, "x")
>>> b.publish("s1", 60_000, "b"); b.publish("s1", 120_000, "c")
>>> sub.pending(), sub.dropped
(['b', 'c'], 1)
>>> asyncio.run(sub.get())
'b'
>>> b.follow(sub, "s2", snapshot="snapshot-of-s2")
>>> b.publish("s2", 0, "y"); sub.offer_barrier("synced"); b.publish("s2", 0, "y2")
True
>>> sub.pending()
['snapshot-of-s2', 'y', 'synced', 'y2']
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from api.clock import Clock, wall_clock_ms
from api.rollups import ALL_STORES

DEFAULT_MAX_PENDING: Final = 4096
MAX_CONTROL: Final = 16
"""Control messages (pongs, errors) a client may leave unread before the oldest are dropped."""
_SNAPSHOT_KEY: Final = "snapshot"


@dataclass(slots=True)
class _Segment:
    """Updates queued between two sync barriers, and the barrier that closes them."""

    updates: OrderedDict[tuple[str, int], str] = field(default_factory=OrderedDict)
    barrier: str | None = None


class Subscription:
    """One client's pending messages: control messages first, then updates keyed by
    (store, window start), in segments closed by sync barriers."""

    def __init__(self, store_id: str, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.store_id = store_id
        self.max_pending = max_pending
        self.dropped = 0
        self.coalesced = 0
        self._segments: deque[_Segment] = deque([_Segment()])
        self._count = 0
        self._barriers = 0
        self._control: OrderedDict[str, str] = OrderedDict()
        self._control_seq = 0
        self._ready = asyncio.Event()

    def wants(self, store_id: str) -> bool:
        """Whether this subscriber follows ``store_id``."""
        return self.store_id in (ALL_STORES, store_id)

    def offer(self, store_id: str, window_start_ms: int, message: str) -> None:
        """Queue ``message``, coalescing per (store, window) since the last barrier and dropping
        the oldest update when full."""
        key = (store_id, window_start_ms)
        updates = self._segments[-1].updates
        if key in updates:
            updates[key] = message
            self.coalesced += 1
        else:
            updates[key] = message
            self._count += 1
            while self._count > self.max_pending:
                oldest = next(seg for seg in self._segments if seg.updates)
                oldest.updates.popitem(last=False)
                self._count -= 1
                self.dropped += 1
        self._ready.set()

    def offer_barrier(self, message: str) -> bool:
        """Queue ``message`` after every pending update: updates offered later are never
        coalesced into earlier ones, so they reach the client after it. False (nothing
        queued) when :data:`MAX_CONTROL` barriers are already pending."""
        if self._barriers >= MAX_CONTROL:
            return False
        self._segments[-1].barrier = message
        self._segments.append(_Segment())
        self._barriers += 1
        self._ready.set()
        return True

    def offer_control(self, message: str, *, snapshot: bool = False) -> None:
        """Queue a control message ahead of every update; a ``snapshot`` replaces a pending
        snapshot, other control messages beyond :data:`MAX_CONTROL` drop the oldest."""
        if snapshot:
            self._control.pop(_SNAPSHOT_KEY, None)
            self._control[_SNAPSHOT_KEY] = message
        else:
            self._control_seq += 1
            self._control[f"c{self._control_seq}"] = message
            while len(self._control) > MAX_CONTROL:
                oldest = next(k for k in self._control if k != _SNAPSHOT_KEY)
                del self._control[oldest]
                self.dropped += 1
        self._ready.set()

    def retarget(self, store_id: str) -> None:
        """Follow ``store_id`` from now on; pending updates of other stores are discarded."""
        self.store_id = store_id
        for seg in self._segments:
            for key in [k for k in seg.updates if not self.wants(k[0])]:
                del seg.updates[key]
                self._count -= 1

    def pending(self) -> list[str]:
        """The pending messages in delivery order (for inspection and tests)."""
        out = list(self._control.values())
        for seg in self._segments:
            out.extend(seg.updates.values())
            if seg.barrier is not None:
                out.append(seg.barrier)
        return out

    async def get(self) -> str:
        """Wait for and return the next message: the oldest control message, else the oldest
        pending update, or the barrier behind it."""
        while not self._control and not self._count and not self._barriers:
            self._ready.clear()
            await self._ready.wait()
        if self._control:
            return self._control.popitem(last=False)[1]
        first = self._segments[0]
        if first.updates:
            self._count -= 1
            return first.updates.popitem(last=False)[1]
        self._segments.popleft()  # empty and closed by a barrier: the barrier is next
        self._barriers -= 1
        assert first.barrier is not None
        return first.barrier


class Broadcaster:
    """Registry of subscriptions, indexed by the store they follow; :meth:`publish` offers a
    message to every interested one."""

    def __init__(
        self, max_pending: int = DEFAULT_MAX_PENDING, clock: Clock = wall_clock_ms
    ) -> None:
        self.max_pending = max_pending
        self.clock = clock
        self.last_publish_ms: int | None = None
        """Wall-clock time of the latest :meth:`publish` (any store), or None."""
        self.slow_drops = 0
        """Clients closed for not taking a message within the send timeout (code 1013)."""
        self._by_store: dict[str, set[Subscription]] = {}

    @property
    def subscriber_count(self) -> int:
        """How many clients are subscribed."""
        return sum(len(subs) for subs in self._by_store.values())

    def subscriptions(self) -> Iterator[Subscription]:
        """Every subscription (for metrics and tests)."""
        for subs in self._by_store.values():
            yield from subs

    def subscribe(self, store_id: str) -> Subscription:
        """Follow one store, or every store with ``"all"``."""
        sub = Subscription(store_id, self.max_pending)
        self._by_store.setdefault(store_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop delivering to ``sub`` (idempotent)."""
        subs = self._by_store.get(sub.store_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._by_store[sub.store_id]

    def follow(self, sub: Subscription, store_id: str, *, snapshot: str) -> None:
        """Switch ``sub`` to ``store_id`` and queue ``snapshot`` (the new store's state, built
        by the caller at this very moment) ahead of the updates that follow it."""
        self.unsubscribe(sub)
        sub.retarget(store_id)
        self._by_store.setdefault(store_id, set()).add(sub)
        sub.offer_control(snapshot, snapshot=True)

    def publish(self, store_id: str, window_start_ms: int, message: str) -> None:
        """Offer an encoded message about (store, window) to every interested subscriber."""
        self.last_publish_ms = self.clock()
        for key in (store_id, ALL_STORES) if store_id != ALL_STORES else (ALL_STORES,):
            for sub in self._by_store.get(key, ()):
                sub.offer(store_id, window_start_ms, message)
