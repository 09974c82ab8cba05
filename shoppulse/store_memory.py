"""What a store remembers across minutes: customers, conversations, unshipped orders.

Some KPIs of a minute depend on earlier events of the same store: whether a
paying customer paid before (new-customer share, repeat purchases), how long a
conversation waited for its first agent reply, whether it was transferred
before it was resolved, how long a paid order took to ship, which sessions
ended and bounced (``shoppulse.sessions``). :class:`StoreMemory`
keeps that state per store and turns each counted event into additive component
deltas for the event's minute. Each of these relates events of *one* topic, read
in the producer's order (a store's events share one partition per topic), so the
result does not depend on how the worker interleaves topics. Chat-assisted
orders relate two topics, so they are evaluated when the order's minute closes
(``chat_assisted``), once every input has been read past that minute.

One identity per person (ADR 20): an order naming a ``visitor_id`` other than its
``customer_id`` links that visitor to the customer, and from then on the store counts both ids
as one person (``identities``, visitor → customer). The links are made in the order topic's
order and resolve one step, ``person(id) = identities.get(id, id)``:

* the first link of a visitor wins; a later order naming it with another customer (a shared
  device) links nothing and is counted in ``link_conflicts``;
* a visitor equal to the customer (or to the customer's person) is no link;
* no chains: a link whose visitor is already some visitor's customer is refused (counted
  too), so a link's customer is never itself a linked visitor;
* on a link, the visitor's first paid order time merges into the customer's (the earliest
  wins) and the visitor's own record goes, so the linking order and every later order of
  either id is a repeat order if either paid before;
* chat times stay under the id the chat named; an order's chat assistance looks at the
  chats of its person and of every visitor linked to that person *by an order at or before
  it* (event time). A link made later in event time may already be known when the order's
  minute closes, or not, depending on how far the worker has read, so it must not count;
  only links at or before the order are certain to be known (a minute closes after every
  counted order at or before it was read);
* links live as long as customer records (neither expires): forgetting a link would make
  its visitor's next order a new customer again, since the visitor's record was merged away.

Every change is recorded under a flat key so the worker can persist exactly
what changed (``changes``) and rebuild the memory from those records. Each record carries a
per-store sequence number (``q``): the changes an event causes travel with its minute (the
minute's *journal*, written atomically with the minute's event ids) until the minute closes,
and a restore applies the memory table and the open minutes' journals in ``q`` order, so the
memory always matches the events the persisted minutes have counted (ADR 11).

>>> mem = StoreMemory("s1", partition=0)
>>> from shoppulse.events import OrderEvent
>>> def paid(i, customer, ts):
...     return OrderEvent(event_id=f"e{i}", store_id="s1", ts=ts, order_id=f"o{i}",
...                       customer_id=customer, status="paid", amount_minor=500,
...                       currency="EUR")
>>> mem.observe(paid(1, "c1", 1_700_000_000_000))["paid_orders_new_customer"]
1
>>> mem.observe(paid(2, "c1", 1_700_000_060_000))["paid_orders_repeat_customer"]
1
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

import orjson

from shoppulse import jsonbytes
from shoppulse.events import ChatEvent, ClickEvent, OrderEvent, ShopEvent
from shoppulse.histogram import FIRST_RESPONSE_S, FULFILMENT_H, BucketSpec, component_names
from shoppulse.inventory import SkuLevel, gauges, merge_level
from shoppulse.sessions import Session, SessionTracker

#: A paid order is chat-assisted when its customer chatted within this long before it.
CHAT_ASSIST_WINDOW_MS: Final = 24 * 3_600_000
#: A conversation with no event for this long is forgotten (event time).
CONVERSATION_TTL_MS: Final = 24 * 3_600_000
#: A paid order not shipped within this long is forgotten (event time).
UNSHIPPED_TTL_MS: Final = 30 * 24 * 3_600_000

MemoryKind = Literal["customer", "conversation", "unshipped", "sku", "session", "chats", "identity"]


@dataclass(slots=True)
class Conversation:
    opened_ms: int | None = None
    answered: bool = False
    transferred: bool = False
    last_ms: int = 0


@dataclass(slots=True)
class StoreMemory:
    """Per-store memory; :meth:`observe` returns the component deltas of one counted event."""

    store_id: str
    partition: int
    customers: dict[str, int] = field(default_factory=dict)
    """customer_id → event time of their first paid order."""
    conversations: dict[str, Conversation] = field(default_factory=dict)
    unshipped: dict[str, int] = field(default_factory=dict)
    """order_id → event time it was paid, until it ships."""
    levels: dict[str, SkuLevel] = field(default_factory=dict)
    """sku → stock level as of the end of the store's newest closed minute."""
    sessions: SessionTracker = field(default_factory=SessionTracker)
    chats: dict[str, list[int]] = field(default_factory=dict)
    """customer_id (as the chat named it) → event times of its chat events (sorted), for
    chat-assisted orders."""
    identities: dict[str, str] = field(default_factory=dict)
    """visitor id → the customer id it was linked to (ADR 20)."""
    linked_ms: dict[str, int] = field(default_factory=dict)
    """visitor id → event time of the order that linked it."""
    visitors: dict[str, set[str]] = field(default_factory=dict)
    """customer id → its linked visitor ids (derived from ``identities``, not persisted)."""
    link_conflicts: int = 0
    """Links refused since start (first link wins, no chains); diagnostics, not persisted."""
    changes: dict[tuple[str, str], Change] = field(default_factory=dict)
    """Changes not yet persisted: (kind, id) → (sequence number, record)."""
    next_seq: int = 0

    def observe(self, event: ShopEvent) -> dict[str, int]:
        if type(event) is ClickEvent:
            sessions = self.sessions
            out = sessions.observe(event)
            for sid, session in sessions.changed.items():
                self._changed("session", sid, session)
            sessions.changed.clear()
            return out
        if type(event) is OrderEvent:
            return self._order(event)
        if type(event) is ChatEvent:
            return self._chat(event)
        return {}

    def person(self, ident: str) -> str:
        """The id a customer or visitor id counts as: its linked customer, else itself."""
        return self.identities.get(ident, ident)

    def _order(self, ev: OrderEvent) -> dict[str, int]:
        out: dict[str, int] = {}
        person = self.person(ev.customer_id)
        if ev.visitor_id is not None:
            self._link(ev.visitor_id, person, ev.ts_ms)
        if ev.status == "paid":
            if person in self.customers:
                out["paid_orders_repeat_customer"] = 1
                out["repeat_customer_gmv_minor"] = ev.amount_minor
            else:
                out["paid_orders_new_customer"] = 1
                self.customers[person] = ev.ts_ms
                self._changed("customer", person, ev.ts_ms)
            if ev.order_id not in self.unshipped:
                self.unshipped[ev.order_id] = ev.ts_ms
                self._changed("unshipped", ev.order_id, ev.ts_ms)
        elif ev.status == "shipped":
            paid_ms = self.unshipped.pop(ev.order_id, None)
            if paid_ms is not None:
                self._changed("unshipped", ev.order_id, None)
                _observe(out, FULFILMENT_H, max(0, ev.ts_ms - paid_ms))
        return out

    def _link(self, visitor: str, customer: str, ts_ms: int) -> None:
        """Make ``visitor`` and ``customer`` (a person: never a linked visitor) one person."""
        if visitor == customer:
            return
        if visitor in self.identities or visitor in self.visitors:
            if self.identities.get(visitor) != customer:
                self.link_conflicts += 1
            return
        self._add_link(visitor, customer, ts_ms)
        record: list[str | int] = [customer, ts_ms]
        self._changed("identity", visitor, record)
        visitor_paid = self.customers.pop(visitor, None)
        if visitor_paid is not None:
            self._changed("customer", visitor, None)
            customer_paid = self.customers.get(customer)
            if customer_paid is None or visitor_paid < customer_paid:
                self.customers[customer] = visitor_paid
                self._changed("customer", customer, visitor_paid)

    def _add_link(self, visitor: str, customer: str, ts_ms: int) -> None:
        """Record the link in the map, its time, and the customer's index of visitors."""
        self.identities[visitor] = customer
        self.linked_ms[visitor] = ts_ms
        self.visitors.setdefault(customer, set()).add(visitor)

    def _chat(self, ev: ChatEvent) -> dict[str, int]:
        out: dict[str, int] = {}
        times = self.chats.setdefault(ev.customer_id, [])
        bisect.insort(times, ev.ts_ms)
        thin_chat_times(times)
        self._changed("chats", ev.customer_id, times)
        conv = self.conversations.get(ev.conversation_id)
        if conv is None:
            conv = self.conversations[ev.conversation_id] = Conversation()
        conv.last_ms = max(conv.last_ms, ev.ts_ms)
        if ev.kind == "opened" and conv.opened_ms is None:
            conv.opened_ms = ev.ts_ms
        elif ev.kind == "agent_message" and not conv.answered and conv.opened_ms is not None:
            conv.answered = True
            _observe(out, FIRST_RESPONSE_S, max(0, ev.ts_ms - conv.opened_ms))
        elif ev.kind == "transferred":
            conv.transferred = True
        elif ev.kind == "resolved" and not conv.transferred:
            out["resolutions_first_contact"] = 1
        self._changed("conversation", ev.conversation_id, conv)
        return out

    def apply_levels(self, minute_levels: Mapping[str, SkuLevel]) -> None:
        """Fold a closing minute's stock updates into the store's levels."""
        for sku, level in minute_levels.items():
            before = self.levels.get(sku)
            merge_level(self.levels, sku, level)
            if self.levels[sku] is not before:
                self._changed("sku", sku, self.levels[sku])

    def gauges(self, pending: Mapping[str, SkuLevel] | None = None) -> dict[str, int]:
        """Inventory gauges of the known levels, with ``pending`` updates applied on top."""
        if not pending:
            return gauges(self.levels)
        levels = dict(self.levels)
        for sku, level in pending.items():
            merge_level(levels, sku, level)
        return gauges(levels)

    def chat_assisted(self, paid: list[tuple[str, int]]) -> int:
        """How many of these (customer, time) paid orders followed a chat of the same person
        within 24 hours, counting the links made by orders at or before each order."""
        assisted = 0
        for customer_id, ts_ms in paid:
            assisted += any(
                self._chatted(ident, ts_ms) for ident in self._ids_at(customer_id, ts_ms)
            )
        return assisted

    def _ids_at(self, ident: str, ts_ms: int) -> list[str]:
        """The ids that were one person with ``ident`` as of event time ``ts_ms``."""
        person = self.identities.get(ident)
        if person is None or self.linked_ms[ident] > ts_ms:
            person = ident
        linked = self.visitors.get(person, ())
        return [person, *(v for v in linked if self.linked_ms[v] <= ts_ms)]

    def _chatted(self, ident: str, ts_ms: int) -> bool:
        times = self.chats.get(ident)
        if not times:
            return False
        i = bisect.bisect_right(times, ts_ms)
        return i > 0 and ts_ms - times[i - 1] <= CHAT_ASSIST_WINDOW_MS

    def forget_chats_before(self, cutoff_ms: int) -> None:
        """Drop chat times no later order can use (orders older than the watermark are late)."""
        for customer_id, times in list(self.chats.items()):
            keep = bisect.bisect_left(times, cutoff_ms)
            if keep == 0:
                continue
            if keep == len(times):
                del self.chats[customer_id]
                self._changed("chats", customer_id, None)
            else:
                del times[:keep]
                self._changed("chats", customer_id, times)

    def expire(self, now_ms: int) -> None:
        """Forget conversations and unshipped orders past their TTL (customers and identity
        links are kept: see the module docstring)."""
        for conv_id, conv in list(self.conversations.items()):
            if now_ms - conv.last_ms > CONVERSATION_TTL_MS:
                del self.conversations[conv_id]
                self._changed("conversation", conv_id, None)
        for order_id, paid_ms in list(self.unshipped.items()):
            if now_ms - paid_ms > UNSHIPPED_TTL_MS:
                del self.unshipped[order_id]
                self._changed("unshipped", order_id, None)

    # -- persistence ---------------------------------------------------------------------

    def _changed(
        self,
        kind: MemoryKind,
        ident: str,
        value: int | Conversation | SkuLevel | Session | list[int] | list[str | int] | None,
    ) -> None:
        payload: object
        if type(value) is Session:
            payload = value.to_list()
        elif type(value) is Conversation:
            payload = [value.opened_ms, value.answered, value.transferred, value.last_ms]
        elif type(value) is SkuLevel:
            payload = value.to_list()
        else:
            payload = value  # serialized now: a list is not kept
        seq = self.next_seq
        self.next_seq = seq + 1
        self.changes[(kind, ident)] = (
            seq,
            jsonbytes.dumps(
                {
                    "s": self.store_id,
                    "p": self.partition,
                    "k": kind,
                    "i": ident,
                    "v": payload,
                    "q": seq,
                }
            ),
        )

    def take_journal(self) -> dict[tuple[str, str], Change]:
        """The changes since the last call, to keep with the minute of the event that caused
        them (see :meth:`merge_changes`)."""
        out, self.changes = self.changes, {}
        return out

    def merge_changes(self, journal: Mapping[tuple[str, str], Change]) -> None:
        """Queue a closing minute's journal for the memory table (newest ``q`` wins)."""
        for key, change in journal.items():
            current = self.changes.get(key)
            if current is None or current[0] < change[0]:
                self.changes[key] = change

    def take_changes(self) -> dict[str, bytes | None]:
        """What changed since the last call, by table key ``store|kind|id`` (None: deleted)."""
        out = {
            memory_key(self.store_id, kind, ident): (None if _deleted(raw) else raw)
            for (kind, ident), (_, raw) in self.changes.items()
        }
        self.changes.clear()
        return out

    def restore(self, raw: bytes) -> None:
        """Apply one persisted record (from the memory table or a minute's journal)."""
        data = orjson.loads(raw)
        kind, ident, value = data["k"], data["i"], data["v"]
        self.next_seq = max(self.next_seq, int(data.get("q", -1)) + 1)
        if value is None:
            self._forget(kind, ident)
        elif kind == "customer":
            self.customers[ident] = int(value)
        elif kind == "unshipped":
            self.unshipped[ident] = int(value)
        elif kind == "sku":
            self.levels[ident] = SkuLevel.from_list(value)
        elif kind == "session":
            self.sessions.restore(ident, value)
        elif kind == "chats":
            self.chats[ident] = sorted(int(t) for t in value)
        elif kind == "identity":
            self._forget(kind, ident)
            customer, linked_ms = value
            self._add_link(ident, str(customer), int(linked_ms))
        elif kind == "conversation":
            opened, answered, transferred, last = value
            self.conversations[ident] = Conversation(
                opened, bool(answered), bool(transferred), int(last)
            )

    def _forget(self, kind: str, ident: str) -> None:
        if kind == "customer":
            self.customers.pop(ident, None)
        elif kind == "unshipped":
            self.unshipped.pop(ident, None)
        elif kind == "sku":
            self.levels.pop(ident, None)
        elif kind == "session":
            self.sessions.sessions.pop(ident, None)
        elif kind == "chats":
            self.chats.pop(ident, None)
        elif kind == "conversation":
            self.conversations.pop(ident, None)
        elif kind == "identity":
            customer = self.identities.pop(ident, None)
            self.linked_ms.pop(ident, None)
            if customer is not None:
                linked = self.visitors.get(customer, set())
                linked.discard(ident)
                if not linked:
                    self.visitors.pop(customer, None)


def thin_chat_times(times: list[int], window_ms: int = CHAT_ASSIST_WINDOW_MS) -> None:
    """Drop the chat times no order can need, so a customer's record stays small however
    often they chat: a time whose neighbours lie within ``window_ms`` of each other.

    An order asks for the latest chat at or before it and whether it lies within
    ``window_ms``. Between the dropped time and its later neighbour, the earlier neighbour
    answers the same, so every order is judged as with all the times kept (tested against a
    list that keeps them all).

    >>> times = [0, 10, 20, 30, 100]
    >>> thin_chat_times(times, window_ms=25)
    >>> times
    [0, 20, 30, 100]
    """
    i = 1
    while i < len(times) - 1:
        if times[i + 1] - times[i - 1] <= window_ms:
            del times[i]
        else:
            i += 1


#: A pending change: its per-store sequence number and its record.
Change = tuple[int, bytes]


def record_seq(raw: bytes) -> int:
    """The sequence number of a memory record (-1 for records written before there was one)."""
    return int(orjson.loads(raw).get("q", -1))


def _deleted(raw: bytes) -> bool:
    return bool(orjson.loads(raw)["v"] is None)


def memory_key(store_id: str, kind: str, ident: str) -> str:
    return f"{store_id}|{kind}|{ident}"


def record_owner(raw: bytes) -> tuple[str, int]:
    """The store and source partition of a persisted memory record."""
    data = orjson.loads(raw)
    return str(data["s"]), int(data["p"])


def _observe(out: dict[str, int], spec: BucketSpec, duration_ms: int) -> None:
    """Add one duration (both specs count milliseconds as ticks) to flattened components."""
    names = component_names(spec)
    out[names[spec.bucket_of_ticks(duration_ms)]] = 1
    out[names[-1]] = duration_ms
