"""Additive KPI components of one store-minute, and how events feed them.

Components are plain counts and sums, so windows roll up by addition: five
minutes, an hour, a day or all stores are sums of minutes. Distinct counts
(visitors, sessions) are exact inside a minute (the open minute keeps the
identifiers); a snapshot carries the exact count and a HyperLogLog sketch, which
merges exactly across minutes and stores (only its final count is an estimate).

>>> c = Components()
>>> c.add_counts({"orders_paid": 1, "gmv_minor": 1250})
>>> c.add_counts({"orders_paid": 2, "gmv_minor": 50})
>>> c.counts["orders_paid"], c.counts["gmv_minor"]
(3, 1300)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from shoppulse.events import ChatEvent, ClickEvent, InventoryEvent, OrderEvent, ShopEvent
from shoppulse.histogram import FIRST_RESPONSE_S, FULFILMENT_H, component_names
from shoppulse.hll import HyperLogLog
from shoppulse.inventory import GAUGE_COMPONENTS

#: Every additive count or sum a minute carries, in a stable order.
COUNT_COMPONENTS: Final[tuple[str, ...]] = (
    "events",
    # shop.orders (money in the store's minor currency units)
    "orders_placed",
    "orders_paid",
    "gmv_minor",
    "orders_cancelled",
    "orders_refunded",
    "refunded_minor",
    "orders_shipped",
    "margin_revenue_minor",
    "margin_cost_minor",
    "paid_channel_gmv_minor",
    "units_sold",
    # shop.clicks
    "impressions",
    "page_views",
    "product_views",
    "add_to_cart",
    "checkouts",
    "ad_cost_minor",
    # shop.chats
    "chat_events",
    "conversations_opened",
    "customer_messages",
    "agent_messages",
    "transfers",
    "escalations",
    "resolutions",
    "complaints",
    "ratings",
    "ratings_positive",
    "rating_sum",
    "nps_responses",
    "nps_promoters",
    "nps_detractors",
    # shop.inventory
    "inventory_updates",
    # from the store's memory (shoppulse.store_memory)
    "paid_orders_new_customer",
    "paid_orders_repeat_customer",
    "repeat_customer_gmv_minor",
    "resolutions_first_contact",
    "chat_assisted_orders",
    "sessions_started",
    "organic_sessions_started",
    "sessions_ended",
    "sessions_bounced",
    *component_names(FIRST_RESPONSE_S),
    *component_names(FULFILMENT_H),
)

#: Distinct-count components and the event attribute that identifies a member.
DISTINCT_COMPONENTS: Final[tuple[str, ...]] = ("visitors", "sessions")

_CLICK_COUNTER: Final[dict[str, str]] = {
    "impression": "impressions",
    "page_view": "page_views",
    "product_view": "product_views",
    "add_to_cart": "add_to_cart",
    "checkout": "checkouts",
}
_CHAT_COUNTER: Final[dict[str, str]] = {
    "opened": "conversations_opened",
    "customer_message": "customer_messages",
    "agent_message": "agent_messages",
    "transferred": "transfers",
    "escalated": "escalations",
    "resolved": "resolutions",
}
_ORDER_COUNTER: Final[dict[str, str]] = {
    "placed": "orders_placed",
    "paid": "orders_paid",
    "cancelled": "orders_cancelled",
    "refunded": "orders_refunded",
    "shipped": "orders_shipped",
}


@dataclass(slots=True)
class Components:
    """The additive components of one window, with exact distinct sets while open."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_COMPONENTS, 0))
    distinct: dict[str, set[str]] = field(
        default_factory=lambda: {name: set() for name in DISTINCT_COMPONENTS}
    )
    _sketched: dict[str, tuple[HyperLogLog, int, str]] = field(
        default_factory=dict, repr=False, compare=False
    )
    """Per distinct set, its last sketch, how many members it holds, and its base64 form."""
    _unsketched: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    """Members added by :meth:`add_event` since the last sketch."""
    _added: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    """Members added by :meth:`add_event` since the last :meth:`take_added`."""

    def add_counts(self, deltas: Mapping[str, int]) -> None:
        counts = self.counts
        for name, delta in deltas.items():
            counts[name] = counts.get(name, 0) + delta

    def add_event(self, event: ShopEvent) -> None:
        """Fold one validated event into the components."""
        counts = self.counts
        counts["events"] += 1
        if type(event) is ClickEvent:
            counts[_CLICK_COUNTER[event.kind]] += 1
            if event.cost_minor is not None:
                counts["ad_cost_minor"] += event.cost_minor
            distinct = self.distinct
            visitors, sessions = distinct["visitors"], distinct["sessions"]
            if event.visitor_id not in visitors:
                self._add_distinct("visitors", event.visitor_id)
            if event.session_id not in sessions:
                self._add_distinct("sessions", event.session_id)
        elif isinstance(event, OrderEvent):
            self._add_order(event)
        elif isinstance(event, ChatEvent):
            self._add_chat(event)
        elif isinstance(event, InventoryEvent):
            counts["inventory_updates"] += 1

    def _add_distinct(self, name: str, member: str) -> None:
        members = self.distinct[name]
        if member not in members:
            members.add(member)
            self._unsketched.setdefault(name, []).append(member)
            self._added.setdefault(name, []).append(member)

    def take_added(self) -> dict[str, list[str]]:
        """The distinct members :meth:`add_event` added since the last call (an open minute's
        segment record holds those of its events)."""
        added, self._added = self._added, {}
        return added

    def _add_order(self, event: OrderEvent) -> None:
        counts = self.counts
        counts[_ORDER_COUNTER[event.status]] += 1
        if event.status == "paid":
            counts["gmv_minor"] += event.amount_minor
            counts["units_sold"] += sum(item.qty for item in event.items)
            if event.cost_minor is not None:
                counts["margin_revenue_minor"] += event.amount_minor
                counts["margin_cost_minor"] += event.cost_minor
            if event.channel == "paid":
                counts["paid_channel_gmv_minor"] += event.amount_minor
        elif event.status == "refunded":
            counts["refunded_minor"] += event.amount_minor

    def _add_chat(self, event: ChatEvent) -> None:
        counts = self.counts
        counts["chat_events"] += 1
        counter = _CHAT_COUNTER.get(event.kind)  # "rated" counts through its rating
        if counter is not None:
            counts[counter] += 1
        if event.complaint:
            counts["complaints"] += 1
        if event.rating is not None:
            counts["ratings"] += 1
            counts["rating_sum"] += event.rating
            if event.rating >= 4:
                counts["ratings_positive"] += 1
        if event.nps is not None:
            counts["nps_responses"] += 1
            if event.nps >= 9:
                counts["nps_promoters"] += 1
            elif event.nps <= 6:
                counts["nps_detractors"] += 1

    def merge(self, other: Components) -> None:
        """Fold in the components of other events of the same window (counts add, distinct
        sets unite), as when a minute is rebuilt from its segments.

        >>> a, b = Components(), Components()
        >>> a.add_counts({"orders_paid": 1}); a.distinct["visitors"].update({"v1", "v2"})
        >>> b.add_counts({"orders_paid": 2}); b.distinct["visitors"].update({"v2", "v3"})
        >>> a.merge(b)
        >>> a.counts["orders_paid"], len(a.distinct["visitors"])
        (3, 3)
        """
        self.add_counts(other.counts)
        for name, members in other.distinct.items():
            self.distinct.setdefault(name, set()).update(members)

    def values(self) -> dict[str, int]:
        """Counts and distinct counts as one flat mapping (what a snapshot carries)."""
        out = dict(self.counts)
        for name, members in self.distinct.items():
            out[name] = len(members)
        return out

    def sketches(self) -> dict[str, str]:
        """A HyperLogLog sketch (base64) of every distinct set, for exact-merge rollups.

        An open minute is sketched on every provisional beat, so the last sketch is kept and
        only the members added since are hashed into it; a set changed any other way (a
        merge, a restore) is sketched afresh.

        >>> from shoppulse.events import ClickEvent
        >>> c = Components()
        >>> def click(visitor):
        ...     return ClickEvent(event_id=visitor, store_id="s1", ts=1_700_000_000_000,
        ...                       session_id="s", visitor_id=visitor, kind="impression")
        >>> c.add_event(click("v1")); first = c.sketches()["visitors"]
        >>> c.add_event(click("v2")); c.add_event(click("v1"))
        >>> fresh = HyperLogLog(); fresh.update(["v1", "v2"])
        >>> c.sketches()["visitors"] == fresh.to_base64() != first
        True
        """
        out = {}
        for name, members in self.distinct.items():
            pending = self._unsketched.pop(name, [])
            cached = self._sketched.get(name)
            if cached is not None and cached[1] + len(pending) == len(members):
                hll, _, text = cached
                if pending:
                    hll.update(pending)
                    text = hll.to_base64()
            else:
                hll = HyperLogLog()
                hll.update(members)
                text = hll.to_base64()
            self._sketched[name] = (hll, len(members), text)
            out[name] = text
        return out

    def to_state(self) -> dict[str, object]:
        return {
            "counts": self.counts,
            "distinct": {name: list(members) for name, members in self.distinct.items()},
        }

    @classmethod
    def from_state(cls, state: Mapping[str, object]) -> Components:
        counts = dict.fromkeys(COUNT_COMPONENTS, 0)
        counts.update(_int_mapping(state.get("counts", {})))
        distinct: dict[str, set[str]] = {name: set() for name in DISTINCT_COMPONENTS}
        raw = state.get("distinct", {})
        if isinstance(raw, Mapping):
            for name, members in raw.items():
                distinct[str(name)] = set(_str_iter(members))
        return cls(counts=counts, distinct=distinct)


def sum_values(windows: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Roll up the additive counts of several windows (distinct counts and gauges excluded).

    >>> sum_values([{"orders_paid": 1}, {"orders_paid": 2, "gmv_minor": 10}])
    {'orders_paid': 3, 'gmv_minor': 10}
    """
    total: dict[str, int] = {}
    for values in windows:
        for name, value in values.items():
            if name in DISTINCT_COMPONENTS or name in GAUGE_COMPONENTS:
                continue
            total[name] = total.get(name, 0) + value
    return total


def _int_mapping(raw: object) -> dict[str, int]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): int(v) for k, v in raw.items()}


def _str_iter(raw: object) -> Iterable[str]:
    if isinstance(raw, list | tuple | set):
        return (str(x) for x in raw)
    return ()
