"""An independent ground truth: per-store, per-minute counts computed offline.

Written from docs/architecture.md (Topics and event contracts) only, in plain Python: it
imports nothing from ``shoppulse``, so an error in the worker's counting code
cannot hide by being repeated here. Input is the simulator's JSONL (one
``{"topic": family, "key": store_id, "value": {...}}`` object a line) or the
same records as dicts.

Rules:

* an event counts when it is *valid* under the contract (required fields with the
  right types and enumerations, ``ts`` as epoch milliseconds or RFC 3339 with an
  offset); invalid events are counted separately, never in a minute;
* duplicates (the same ``event_id``) count once — the first valid occurrence;
* the minute is the UTC floor of the event time: ``ts_ms - ts_ms % 60_000``;
* ``gmv_minor`` sums ``amount_minor`` of ``paid`` orders; ``visitors``/``sessions``
  are distinct ``visitor_id``/``session_id`` of click events within the minute;
* one identity per person (ADR 20): an order whose ``visitor_id`` differs from its
  ``customer_id`` links the visitor to the customer's person, in the order topic's order. A
  visitor links once (the first wins), never to itself, and not when it already has visitors
  of its own (no chains). New/repeat asks whether the order's person (the link's customer,
  else the id) paid before, under either id; chat assistance asks for a chat within 24 hours
  up to the order by an id that is the same person *as of the order's event time* (links whose
  linking order is no later than the order).

>>> records = [
...     {"topic": "shop.clicks", "key": "s1", "value": {"event_id": "a", "store_id": "s1",
...      "ts": 120_500, "session_id": "x", "visitor_id": "v", "kind": "impression"}},
...     {"topic": "shop.clicks", "key": "s1", "value": {"event_id": "a", "store_id": "s1",
...      "ts": 120_500, "session_id": "x", "visitor_id": "v", "kind": "impression"}},
... ]
>>> truth = ground_truth(records)
>>> truth.minutes[("s1", 120_000)]["impressions"], truth.duplicates
(1, 1)
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MINUTE_MS = 60_000

COUNTS = (
    "events",
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
    "impressions",
    "page_views",
    "product_views",
    "add_to_cart",
    "checkouts",
    "ad_cost_minor",
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
    "inventory_updates",
)
# Duration histograms: upper bounds (a value equal to a bound falls in that bucket), then an
# overflow bucket, then the exact sum in milliseconds.
FIRST_RESPONSE_BOUNDS_S = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800)
FULFILMENT_BOUNDS_H = (1, 2, 4, 8, 12, 24, 48, 72, 120, 168)


def _histogram_names(name: str, bounds: tuple[int, ...]) -> tuple[str, ...]:
    return (*(f"{name}_b{i:02d}" for i in range(len(bounds) + 1)), f"{name}_sum_ticks")


SESSION_TIMEOUT_MS = 30 * 60_000
MEMORY_COUNTS = (
    "sessions_started",
    "organic_sessions_started",
    "sessions_ended",
    "sessions_bounced",
    "paid_orders_new_customer",
    "paid_orders_repeat_customer",
    "repeat_customer_gmv_minor",
    "resolutions_first_contact",
    "chat_assisted_orders",
    *_histogram_names("first_response_s", FIRST_RESPONSE_BOUNDS_S),
    *_histogram_names("fulfilment_h", FULFILMENT_BOUNDS_H),
)
DISTINCTS = ("visitors", "sessions")
# Inventory gauges: the stock at the end of each minute, from the latest level of every SKU.
GAUGES = ("on_hand_units", "skus_tracked", "low_stock_skus", "stock_out_skus")

ORDER_STATUS = {
    "placed": "orders_placed",
    "paid": "orders_paid",
    "cancelled": "orders_cancelled",
    "refunded": "orders_refunded",
    "shipped": "orders_shipped",
}
CLICK_KIND = {
    "impression": "impressions",
    "page_view": "page_views",
    "product_view": "product_views",
    "add_to_cart": "add_to_cart",
    "checkout": "checkouts",
}
CHAT_KINDS = {
    "opened",
    "customer_message",
    "agent_message",
    "transferred",
    "escalated",
    "resolved",
    "rated",
}
CHANNELS = {"organic", "paid", "social", "email", "direct", "referral"}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class _Minute:
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((*COUNTS, *MEMORY_COUNTS), 0)
    )
    visitors: set[str] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)

    def row(self) -> dict[str, int]:
        return {**self.counts, "visitors": len(self.visitors), "sessions": len(self.sessions)}


@dataclass
class GroundTruth:
    """``minutes[(store_id, window_start_ms)]`` → every count of that store-minute."""

    minutes: dict[tuple[str, int], dict[str, int]]
    invalid: int
    duplicates: int
    agents: dict[tuple[str, int], dict[str, dict[str, int]]] = field(default_factory=dict)
    """Per store-minute, per agent_id: first responses (and their histogram), resolutions,
    escalations, ratings and positive ratings credited to the agent named on the event."""

    def total(self, name: str, store_id: str | None = None) -> int:
        """A count summed over minutes (of one store, or all); not for distinct counts."""
        return sum(
            row[name]
            for (store, _), row in self.minutes.items()
            if store_id is None or store == store_id
        )


def parse_ts_ms(value: object) -> int | None:
    """Epoch milliseconds from an int (or whole float) or RFC 3339 text with an offset.

    >>> parse_ts_ms(1_700_000_000_123), parse_ts_ms("2023-11-14T23:13:20.123+01:00")
    (1700000000123, 1700000000123)
    >>> parse_ts_ms("2023-11-14T22:13:20"), parse_ts_ms(True)
    (None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if not isinstance(value, str) or "T" not in value.upper():
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    delta = parsed - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _is_text(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _is_minor(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _optional(value: object, check: Any) -> bool:
    return value is None or bool(check(value))


def _valid_order(v: Mapping[str, Any]) -> bool:
    items = v.get("items", [])
    return (
        _is_text(v.get("order_id"))
        and _is_text(v.get("customer_id"))
        and v.get("status") in ORDER_STATUS
        and _is_minor(v.get("amount_minor"))
        and isinstance(v.get("currency"), str)
        and bool(_CURRENCY.match(v["currency"]))
        and isinstance(items, list)
        and all(
            isinstance(it, dict)
            and _is_text(it.get("sku"))
            and _is_minor(it.get("qty"))
            and it["qty"] >= 1
            and _is_minor(it.get("unit_price_minor"))
            for it in items
        )
        and _optional(v.get("cost_minor"), _is_minor)
        and _optional(v.get("channel"), lambda c: c in CHANNELS)
        and _optional(v.get("session_id"), _is_text)
        and _optional(v.get("visitor_id"), _is_text)
    )


def _valid_click(v: Mapping[str, Any]) -> bool:
    return (
        _is_text(v.get("session_id"))
        and _is_text(v.get("visitor_id"))
        and v.get("kind") in CLICK_KIND
        and _optional(v.get("sku"), _is_text)
        and _optional(v.get("channel"), lambda c: c in CHANNELS)
        and _optional(v.get("cost_minor"), _is_minor)
    )


def _valid_chat(v: Mapping[str, Any]) -> bool:
    rating, nps = v.get("rating"), v.get("nps")
    return (
        _is_text(v.get("conversation_id"))
        and _is_text(v.get("customer_id"))
        and v.get("kind") in CHAT_KINDS
        and _optional(v.get("agent_id"), _is_text)
        and _optional(rating, lambda r: _is_minor(r) and 1 <= r <= 5)
        and _optional(nps, lambda n: _is_minor(n) and n <= 10)
        and _optional(v.get("complaint"), lambda c: isinstance(c, bool))
    )


def _valid_inventory(v: Mapping[str, Any]) -> bool:
    return (
        _is_text(v.get("sku"))
        and _is_minor(v.get("on_hand"))
        and _optional(v.get("reorder_point"), _is_minor)
    )


_VALIDATORS = {
    "shop.orders": _valid_order,
    "shop.clicks": _valid_click,
    "shop.chats": _valid_chat,
    "shop.inventory": _valid_inventory,
}


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSONL file, skipping blank lines."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


CHAT_KIND = {
    "opened": "conversations_opened",
    "customer_message": "customer_messages",
    "agent_message": "agent_messages",
    "transferred": "transfers",
    "escalated": "escalations",
    "resolved": "resolutions",
}


def _count_order(counts: dict[str, int], value: Mapping[str, Any]) -> None:
    status, amount = value["status"], value["amount_minor"]
    counts[ORDER_STATUS[status]] += 1
    if status == "paid":
        counts["gmv_minor"] += amount
        counts["units_sold"] += sum(item["qty"] for item in value.get("items") or [])
        if value.get("cost_minor") is not None:
            counts["margin_revenue_minor"] += amount
            counts["margin_cost_minor"] += value["cost_minor"]
        if value.get("channel", "direct") == "paid":
            counts["paid_channel_gmv_minor"] += amount
    elif status == "refunded":
        counts["refunded_minor"] += amount


def _count_chat(counts: dict[str, int], value: Mapping[str, Any]) -> None:
    counts["chat_events"] += 1
    if value["kind"] in CHAT_KIND:
        counts[CHAT_KIND[value["kind"]]] += 1
    if value.get("complaint") is True:
        counts["complaints"] += 1
    rating = value.get("rating")
    if rating is not None:
        counts["ratings"] += 1
        counts["rating_sum"] += rating
        counts["ratings_positive"] += rating >= 4
    nps = value.get("nps")
    if nps is not None:
        counts["nps_responses"] += 1
        counts["nps_promoters"] += nps >= 9
        counts["nps_detractors"] += nps <= 6


def _observe(
    counts: dict[str, int], name: str, bounds: tuple[int, ...], unit_ms: int, duration_ms: int
) -> None:
    index = next((i for i, b in enumerate(bounds) if duration_ms <= b * unit_ms), len(bounds))
    counts[f"{name}_b{index:02d}"] += 1
    counts[f"{name}_sum_ticks"] += duration_ms


@dataclass
class _Memory:
    """What one store remembers, in the order its events were produced."""

    paid_customers: set[str] = field(default_factory=set)
    unshipped: dict[str, int] = field(default_factory=dict)
    opened: dict[str, int] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)
    transferred: set[str] = field(default_factory=set)
    last_first_response: int | None = None
    # session_id -> [last click ts, pages viewed, cart/checkout clicks]
    sessions: dict[str, list[int]] = field(default_factory=dict)
    # (last click ts, session_id) for every value a session's last click took; an entry is
    # current while it matches the session's last click
    session_lasts: list[tuple[int, str]] = field(default_factory=list)
    # visitor id -> (customer id, ts of the order that linked them)
    links: dict[str, tuple[str, int]] = field(default_factory=dict)

    def person(self, ident: str, as_of_ms: int | None = None) -> str:
        """Who ``ident`` is: its linked customer (if linked at or before ``as_of_ms``)."""
        link = self.links.get(ident)
        if link is None or (as_of_ms is not None and link[1] > as_of_ms):
            return ident
        return link[0]

    def link(self, visitor: str, customer: str, ts_ms: int) -> None:
        has_visitors = any(c == visitor for c, _ in self.links.values())
        if visitor == customer or visitor in self.links or has_visitors:
            return
        self.links[visitor] = (customer, ts_ms)
        if visitor in self.paid_customers:
            self.paid_customers.add(customer)

    def click(self, counts: dict[str, int], value: Mapping[str, Any], ts_ms: int) -> None:
        # Sessions whose 30-minute timeout this click's time reaches end here, in this minute.
        lasts = self.session_lasts
        while lasts and lasts[0][0] + SESSION_TIMEOUT_MS <= ts_ms:
            last, ended = heapq.heappop(lasts)
            state = self.sessions.get(ended)
            if state is None or state[0] != last:
                continue  # the session clicked again later: a newer entry stands for it
            del self.sessions[ended]
            counts["sessions_ended"] += 1
            counts["sessions_bounced"] += state[1] <= 1 and state[2] == 0
        sid = value["session_id"]
        if sid not in self.sessions:
            self.sessions[sid] = [ts_ms, 0, 0]
            heapq.heappush(lasts, (ts_ms, sid))
            counts["sessions_started"] += 1
            counts["organic_sessions_started"] += value.get("channel") == "organic"
        state = self.sessions[sid]
        if ts_ms > state[0]:
            state[0] = ts_ms
            heapq.heappush(lasts, (ts_ms, sid))
        state[1] += value["kind"] in ("page_view", "product_view")
        state[2] += value["kind"] in ("add_to_cart", "checkout")

    def order(self, counts: dict[str, int], value: Mapping[str, Any], ts_ms: int) -> None:
        person = self.person(value["customer_id"])
        if value.get("visitor_id") is not None:
            self.link(value["visitor_id"], person, ts_ms)
        if value["status"] == "paid":
            if person in self.paid_customers:
                counts["paid_orders_repeat_customer"] += 1
                counts["repeat_customer_gmv_minor"] += value["amount_minor"]
            else:
                counts["paid_orders_new_customer"] += 1
                self.paid_customers.add(person)
            self.unshipped.setdefault(value["order_id"], ts_ms)
        elif value["status"] == "shipped" and value["order_id"] in self.unshipped:
            paid_ms = self.unshipped.pop(value["order_id"])
            _observe(
                counts, "fulfilment_h", FULFILMENT_BOUNDS_H, 3_600_000, max(0, ts_ms - paid_ms)
            )

    def chat(self, counts: dict[str, int], value: Mapping[str, Any], ts_ms: int) -> None:
        conv, kind = value["conversation_id"], value["kind"]
        if kind == "opened":
            self.opened.setdefault(conv, ts_ms)
        elif kind == "agent_message" and conv in self.opened and conv not in self.answered:
            self.answered.add(conv)
            waited = max(0, ts_ms - self.opened[conv])
            _observe(counts, "first_response_s", FIRST_RESPONSE_BOUNDS_S, 1000, waited)
            self.last_first_response = waited
        elif kind == "transferred":
            self.transferred.add(conv)
        elif kind == "resolved" and conv not in self.transferred:
            counts["resolutions_first_contact"] += 1


def _add_gauges(
    rows: dict[tuple[str, int], dict[str, int]],
    stock_updates: dict[str, list[tuple[int, int, Mapping[str, Any]]]],
) -> None:
    """Each minute's gauges: per SKU the latest update (by ts, then arrival) before its end."""
    for (store_id, start_ms), row in rows.items():
        latest: dict[str, tuple[int, int, Mapping[str, Any]]] = {}
        for ts_ms, order, value in stock_updates.get(store_id, []):
            if ts_ms >= start_ms + MINUTE_MS:
                continue
            seen = latest.get(value["sku"])
            if seen is None or (ts_ms, order) > (seen[0], seen[1]):
                latest[value["sku"]] = (ts_ms, order, value)
        row.update(dict.fromkeys(GAUGES, 0))
        for _, _, value in latest.values():
            on_hand, reorder = value["on_hand"], value.get("reorder_point")
            row["on_hand_units"] += on_hand
            row["skus_tracked"] += 1
            if on_hand == 0:
                row["stock_out_skus"] += 1
            elif reorder is not None and on_hand <= reorder:
                row["low_stock_skus"] += 1


def _credit_agent(
    agents: dict[str, dict[str, int]], value: Mapping[str, Any], first_response_ms: int | None
) -> None:
    credit: dict[str, int] = {}
    if first_response_ms is not None:
        credit["first_responses"] = 1
        _observe_into(credit, first_response_ms)
    if value["kind"] == "resolved":
        credit["resolutions"] = 1
    elif value["kind"] == "escalated":
        credit["escalations"] = 1
    if value.get("rating") is not None:
        credit["ratings"] = 1
        credit["ratings_positive"] = int(value["rating"] >= 4)
    if credit:
        counts = agents.setdefault(value["agent_id"], {})
        for name, n in credit.items():
            counts[name] = counts.get(name, 0) + n


def _observe_into(counts: dict[str, int], waited_ms: int) -> None:
    bounds = FIRST_RESPONSE_BOUNDS_S
    index = next((i for i, b in enumerate(bounds) if waited_ms <= b * 1000), len(bounds))
    counts[f"first_response_s_b{index:02d}"] = 1
    counts["first_response_s_sum_ticks"] = waited_ms


def ground_truth(source: str | Path | Iterable[Mapping[str, Any]]) -> GroundTruth:
    """Per (store_id, UTC minute start in epoch ms) counts from a JSONL path or records."""
    records = read_jsonl(source) if isinstance(source, str | Path) else source
    minutes: dict[tuple[str, int], _Minute] = {}
    memories: dict[str, _Memory] = {}
    stock_updates: dict[str, list[tuple[int, int, Mapping[str, Any]]]] = {}
    paid_orders: list[tuple[tuple[str, int], str, int]] = []
    agents: dict[tuple[str, int], dict[str, dict[str, int]]] = {}
    chat_times: dict[tuple[str, str], list[int]] = {}
    seen: set[str] = set()
    invalid = duplicates = 0
    for record in records:
        topic, value = record.get("topic"), record.get("value")
        validator = _VALIDATORS.get(topic) if isinstance(topic, str) else None
        if validator is None or not isinstance(value, dict):
            invalid += 1
            continue
        ts_ms = parse_ts_ms(value.get("ts"))
        event_id, store_id = value.get("event_id"), value.get("store_id")
        if ts_ms is None or not isinstance(event_id, str) or not isinstance(store_id, str):
            invalid += 1
            continue
        if not event_id or not store_id:
            invalid += 1
            continue
        if not validator(value):
            invalid += 1
            continue
        if event_id in seen:
            duplicates += 1
            continue
        seen.add(event_id)
        key = (store_id, ts_ms - ts_ms % MINUTE_MS)
        minute = minutes.get(key)
        if minute is None:
            minute = minutes[key] = _Minute()
        counts = minute.counts
        counts["events"] += 1
        memory = memories.setdefault(store_id, _Memory())
        if topic == "shop.orders":
            _count_order(counts, value)
            if value["status"] == "paid":
                paid_orders.append((key, value["customer_id"], ts_ms))
            memory.order(counts, value, ts_ms)
        elif topic == "shop.clicks":
            memory.click(counts, value, ts_ms)
            counts[CLICK_KIND[value["kind"]]] += 1
            counts["ad_cost_minor"] += value.get("cost_minor") or 0
            minute.visitors.add(value["visitor_id"])
            minute.sessions.add(value["session_id"])
        elif topic == "shop.chats":
            _count_chat(counts, value)
            memory.last_first_response = None
            memory.chat(counts, value, ts_ms)
            chat_times.setdefault((store_id, value["customer_id"]), []).append(ts_ms)
            if isinstance(value.get("agent_id"), str):
                _credit_agent(agents.setdefault(key, {}), value, memory.last_first_response)
        else:
            counts["inventory_updates"] += 1
            stock_updates.setdefault(store_id, []).append((ts_ms, len(seen), value))
    # A paid order is chat-assisted when its customer, or an id that was the same person at
    # the order's time, chatted in the 24 hours up to it.
    linked: dict[tuple[str, str], list[str]] = {}  # (store, customer) -> its visitors
    for store_id, memory in memories.items():
        for visitor, (customer, _) in memory.links.items():
            linked.setdefault((store_id, customer), []).append(visitor)
    for key, customer, ts_ms in paid_orders:
        memory = memories[key[0]]
        person = memory.person(customer, ts_ms)
        chatters = [
            c
            for c in (person, *linked.get((key[0], person), []))
            if memory.person(c, ts_ms) == person
        ]
        if any(
            0 <= ts_ms - t <= 24 * 3_600_000
            for chatter in chatters
            for t in chat_times.get((key[0], chatter), [])
        ):
            minutes[key].counts["chat_assisted_orders"] += 1
    rows = {key: m.row() for key, m in sorted(minutes.items())}
    _add_gauges(rows, stock_updates)
    return GroundTruth(
        minutes=rows,
        agents={k: v for k, v in agents.items() if v},
        invalid=invalid,
        duplicates=duplicates,
    )
