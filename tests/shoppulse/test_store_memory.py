from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shoppulse.events import ChatEvent, OrderEvent
from shoppulse.store_memory import StoreMemory, record_owner
from tests.groundtruth import ground_truth

T = 1_700_000_040_000


def order(
    i: int, status: str, customer: str = "c1", order_id: str = "o1", ts: int = T, amount: int = 1000
) -> OrderEvent:
    return OrderEvent.model_validate(
        {
            "event_id": f"o{i}",
            "store_id": "s",
            "ts": ts,
            "order_id": order_id,
            "customer_id": customer,
            "status": status,
            "amount_minor": amount,
            "currency": "EUR",
        }
    )


def chat(i: int, kind: str, conv: str = "cv", ts: int = T, **extra: Any) -> ChatEvent:
    return ChatEvent.model_validate(
        {
            "event_id": f"h{i}",
            "store_id": "s",
            "ts": ts,
            "conversation_id": conv,
            "customer_id": "c1",
            "kind": kind,
            **extra,
        }
    )


def test_new_then_repeat_customer() -> None:
    m = StoreMemory("s", 0)
    assert m.observe(order(1, "paid", "a", "o1")) == {"paid_orders_new_customer": 1}
    assert m.observe(order(2, "paid", "a", "o2", amount=700)) == {
        "paid_orders_repeat_customer": 1,
        "repeat_customer_gmv_minor": 700,
    }
    assert m.observe(order(3, "placed", "b", "o3")) == {}  # only paid orders count


def test_first_response_is_measured_once_from_opening() -> None:
    m = StoreMemory("s", 0)
    assert m.observe(chat(1, "opened")) == {}
    first = m.observe(chat(2, "agent_message", ts=T + 12_000, agent_id="a"))
    assert first == {"first_response_s_b02": 1, "first_response_s_sum_ticks": 12_000}
    assert m.observe(chat(3, "agent_message", ts=T + 20_000, agent_id="a")) == {}


def test_agent_reply_without_known_opening_is_not_a_first_response() -> None:
    m = StoreMemory("s", 0)
    assert m.observe(chat(1, "agent_message", agent_id="a")) == {}


def test_first_contact_resolution_needs_no_transfer() -> None:
    m = StoreMemory("s", 0)
    m.observe(chat(1, "opened", conv="x"))
    assert m.observe(chat(2, "resolved", conv="x")) == {"resolutions_first_contact": 1}
    m.observe(chat(3, "opened", conv="y"))
    m.observe(chat(4, "transferred", conv="y"))
    assert m.observe(chat(5, "resolved", conv="y")) == {}


def test_fulfilment_time_from_paid_to_shipped() -> None:
    m = StoreMemory("s", 0)
    m.observe(order(1, "paid"))
    out = m.observe(order(2, "shipped", ts=T + 5 * 3_600_000))
    assert out == {"fulfilment_h_b03": 1, "fulfilment_h_sum_ticks": 5 * 3_600_000}
    assert m.observe(order(3, "shipped", ts=T + 6 * 3_600_000)) == {}  # shipped once


def test_expiry_forgets_old_conversations_and_unshipped_orders() -> None:
    m = StoreMemory("s", 0)
    m.observe(chat(1, "opened"))
    m.observe(order(1, "paid"))
    m.expire(T + 25 * 3_600_000)
    assert m.conversations == {}
    assert "o1" in m.unshipped
    m.expire(T + 31 * 24 * 3_600_000)
    assert m.unshipped == {}


def test_changes_persist_and_restore_the_same_memory() -> None:
    m = StoreMemory("s", 3)
    m.observe(order(1, "paid", "a", "o1"))
    m.observe(chat(1, "opened"))
    m.observe(chat(2, "transferred"))
    changes = m.take_changes()
    assert m.changes == {}
    fresh = StoreMemory("s", 3)
    for raw in changes.values():
        assert raw is not None
        assert record_owner(raw) == ("s", 3)
        fresh.restore(raw)
    assert fresh.customers == m.customers
    assert fresh.unshipped == m.unshipped
    assert fresh.conversations == m.conversations
    m.observe(order(2, "shipped"))
    assert m.take_changes() == {"s|unshipped|o1": None}


def test_sessions_persist_and_end_after_restore() -> None:
    from shoppulse.events import ClickEvent

    def click(i: int, sid: str, ts: int) -> ClickEvent:
        return ClickEvent.model_validate(
            {
                "event_id": f"k{i}",
                "store_id": "s",
                "ts": T + ts,
                "session_id": sid,
                "visitor_id": "v",
                "kind": "page_view",
            }
        )

    m = StoreMemory("s", 0)
    assert m.observe(click(1, "a", 0)) == {"sessions_started": 1}
    fresh = StoreMemory("s", 0)
    for raw in m.take_changes().values():
        assert raw is not None
        fresh.restore(raw)
    out = fresh.observe(click(2, "b", 31 * 60_000))
    assert out == {"sessions_ended": 1, "sessions_bounced": 1, "sessions_started": 1}
    assert fresh.take_changes()["s|session|a"] is None


def test_chat_assisted_orders_look_back_24_hours_from_the_order() -> None:
    m = StoreMemory("s", 0)
    m.observe(chat(1, "opened", ts=T))
    day = 24 * 3_600_000
    paid = [("c1", T - 1), ("c1", T), ("c1", T + day), ("c1", T + day + 1), ("c2", T + 5)]
    assert m.chat_assisted(paid) == 2  # at the chat and exactly 24 h after it
    m.forget_chats_before(T + 1)
    assert m.chats == {}
    assert m.take_changes()["s|chats|c1"] is None


def test_a_customer_chatting_all_day_keeps_a_small_record_and_exact_assistance() -> None:
    """Thinned chat times judge every order as all of them would (a brute-force check), and the
    customer's record stays a few times long, however many chats."""
    rng = random.Random(3)
    m = StoreMemory("s", 0)
    day = 24 * 3_600_000
    chats: list[int] = []
    for i in range(5_000):
        ts = T + rng.randrange(0, 3 * day)
        chats.append(ts)
        m.observe(chat(i, "customer_message", conv=f"cv{i}", ts=ts))
    assert len(m.chats["c1"]) <= 8
    assert max(len(raw or b"") for raw in m.take_changes().values()) < 1_000
    orders = [("c1", T + rng.randrange(-day, 5 * day)) for _ in range(2_000)]
    expected = sum(any(0 <= ts - c <= day for c in chats) for _, ts in orders)
    assert m.chat_assisted(orders) == expected


# -- one identity per person (ADR 20) ------------------------------------------------------


def linked_order(
    i: int, customer: str, visitor: str | None, ts: int = T, status: str = "paid"
) -> OrderEvent:
    return OrderEvent.model_validate(
        {
            "event_id": f"o{i}",
            "store_id": "s",
            "ts": ts,
            "order_id": f"o{i}",
            "customer_id": customer,
            "status": status,
            "amount_minor": 1000,
            "currency": "EUR",
            "visitor_id": visitor,
        }
    )


def chat_by(i: int, customer: str, ts: int = T) -> ChatEvent:
    return ChatEvent.model_validate(
        {
            "event_id": f"h{i}",
            "store_id": "s",
            "ts": ts,
            "conversation_id": f"cv{i}",
            "customer_id": customer,
            "kind": "customer_message",
        }
    )


def test_an_anonymous_buyer_who_logs_in_is_a_repeat_customer() -> None:
    m = StoreMemory("s", 0)
    assert m.observe(linked_order(1, "anon-1", "anon-1")) == {"paid_orders_new_customer": 1}
    assert m.identities == {}  # a visitor equal to the customer is no link
    out = m.observe(linked_order(2, "u1", "anon-1", ts=T + 60_000))
    assert out == {"paid_orders_repeat_customer": 1, "repeat_customer_gmv_minor": 1000}
    assert m.identities == {"anon-1": "u1"}
    assert m.customers == {"u1": T}  # the visitor's first paid order, merged
    # logged out again: the anonymous id is the same person
    assert m.observe(linked_order(3, "anon-1", "anon-1", ts=T + 120_000)) == {
        "paid_orders_repeat_customer": 1,
        "repeat_customer_gmv_minor": 1000,
    }


def test_a_link_keeps_the_earliest_first_paid_order_of_either_id() -> None:
    m = StoreMemory("s", 0)
    m.observe(linked_order(1, "u1", None, ts=T + 50))
    m.observe(linked_order(2, "anon-1", "anon-1", ts=T + 10))
    m.observe(linked_order(3, "u1", "anon-1", ts=T + 90, status="placed"))  # any status links
    assert m.customers == {"u1": T + 10}
    assert m.take_changes()["s|customer|anon-1"] is None  # the visitor's record is merged away


def test_an_anonymous_chat_assists_the_linked_order() -> None:
    m = StoreMemory("s", 0)
    m.observe(chat_by(1, "anon-1"))  # the chat widget sent the anonymous id
    m.observe(linked_order(1, "u1", "anon-1", ts=T + 60_000))
    assert m.chat_assisted([("u1", T + 60_000)]) == 1
    assert m.chat_assisted([("u2", T + 60_000)]) == 0


def test_a_link_counts_for_chat_assistance_only_from_the_linking_order_on() -> None:
    """An order before the link (in event time) is judged without it, however far the worker
    has read when its minute closes: so the count is the same either way."""
    m = StoreMemory("s", 0)
    m.observe(chat_by(1, "u1"))  # the logged-in customer chatted
    m.observe(linked_order(1, "anon-1", "anon-1", ts=T + 60_000))  # then bought anonymously
    before = m.chat_assisted([("anon-1", T + 60_000)])
    m.observe(linked_order(2, "u1", "anon-1", ts=T + 180_000))  # a later order links them
    assert before == m.chat_assisted([("anon-1", T + 60_000)]) == 0
    assert m.chat_assisted([("anon-1", T + 180_000), ("u1", T + 180_000)]) == 2


def test_the_first_link_wins_and_no_link_chains() -> None:
    m = StoreMemory("s", 0)
    m.observe(linked_order(1, "u1", "dev-1"))
    # a shared device: u2 is not u1 (and stays a new customer)
    out = m.observe(linked_order(2, "u2", "dev-1", ts=T + 1))
    assert out == {"paid_orders_new_customer": 1}
    assert (m.identities, m.link_conflicts) == ({"dev-1": "u1"}, 1)
    m.observe(linked_order(4, "u3", "u1", ts=T + 3))  # u1 has visitors: no chain u1 → u3
    assert (m.identities, m.link_conflicts) == ({"dev-1": "u1"}, 2)
    m.observe(linked_order(5, "dev-1", "dev-1", ts=T + 4))  # the visitor as the customer
    m.observe(linked_order(6, "u1", "dev-1", ts=T + 5))  # the same link again
    m.observe(linked_order(7, "dev-1", "u1", ts=T + 6))  # both ids are one person already
    assert (m.identities, m.link_conflicts) == ({"dev-1": "u1"}, 2)
    m.observe(linked_order(8, "dev-1", "dev-2", ts=T + 7))  # a visitor's id resolves one step
    assert m.identities == {"dev-1": "u1", "dev-2": "u1"}


def test_links_and_merged_history_survive_a_restart_and_expiry() -> None:
    m = StoreMemory("s", 1)
    m.observe(chat_by(1, "anon-1"))
    m.observe(linked_order(1, "anon-1", "anon-1"))
    m.observe(linked_order(2, "u1", "anon-1", ts=T + 60_000))
    fresh = StoreMemory("s", 1)
    changes = m.take_changes()
    assert changes["s|customer|anon-1"] is None
    for raw in changes.values():
        if raw is not None:
            fresh.restore(raw)
    assert (fresh.identities, fresh.customers) == ({"anon-1": "u1"}, {"u1": T})
    assert fresh.chat_assisted([("u1", T + 60_000)]) == 1
    out = fresh.observe(linked_order(3, "anon-1", "anon-1", ts=T + 120_000))
    assert out["paid_orders_repeat_customer"] == 1
    # Links live as long as customer records: expiry keeps both (ADR 20).
    fresh.expire(T + 365 * 24 * 3_600_000)
    assert (fresh.identities, fresh.customers) == ({"anon-1": "u1"}, {"u1": T})


def test_a_restored_link_deletion_forgets_the_link() -> None:
    m = StoreMemory("s", 0)
    m.observe(linked_order(1, "u1", "anon-1"))
    deleted = b'{"s":"s","p":0,"k":"identity","i":"anon-1","v":null,"q":99}'
    m.restore(deleted)
    assert (m.identities, m.linked_ms, m.visitors, m.next_seq) == ({}, {}, {}, 100)


HOUR = 3_600_000
_IDS = ("u1", "u2", "a1", "a2", "a3")
_orders = st.lists(
    st.tuples(
        st.integers(0, 60 * HOUR),  # ts offset
        st.sampled_from(_IDS),  # customer_id
        st.sampled_from((None, *_IDS)),  # visitor_id
        st.sampled_from(("paid", "paid", "placed")),
    ),
    max_size=25,
)
_chats = st.lists(st.tuples(st.integers(0, 60 * HOUR), st.sampled_from(_IDS)), max_size=15)
_COMPARED = (
    "paid_orders_new_customer",
    "paid_orders_repeat_customer",
    "repeat_customer_gmv_minor",
    "chat_assisted_orders",
)


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(_orders, _chats, st.booleans(), st.randoms(use_true_random=False))
def test_identity_linking_matches_the_ground_truth(
    orders: list[tuple[int, str, str | None, str]],
    chats: list[tuple[int, str]],
    in_time_order: bool,
    rng: random.Random,
) -> None:
    """Random orders (in the order topic's order, not sorted by time) with visitor ids, and
    chats, interleaved at random, with a restart at a random point: the new/repeat and
    chat-assisted counts of every minute equal the ground truth's. Each minute's chat
    assistance is asked as early as the worker could close it (every event at or before it
    read), and again at the end: the same answer (later links do not count)."""
    if in_time_order:  # as a live source sends them: minutes close while links still come
        orders, chats = sorted(orders, key=lambda o: o[0]), sorted(chats, key=lambda c: c[0])
    order_events = [
        linked_order(i, customer, visitor, ts=T + dt, status=status)
        for i, (dt, customer, visitor, status) in enumerate(orders)
    ]
    chat_events = [chat_by(i, customer, ts=T + dt) for i, (dt, customer) in enumerate(chats)]
    records: list[dict[str, Any]] = [
        {"topic": "shop.orders", "key": "s", "value": ev.model_dump(exclude_none=True)}
        for ev in order_events
    ] + [
        {"topic": "shop.chats", "key": "s", "value": ev.model_dump(exclude_none=True)}
        for ev in chat_events
    ]
    for record in records:
        record["value"]["ts"] = record["value"].pop("ts_ms", record["value"].get("ts"))
    truth = ground_truth(records)

    def minute(ts: int) -> int:
        return ts - ts % 60_000

    # The two topics interleaved at random (each in its own order), with a restart from the
    # persisted changes at a random point.
    arrivals: list[ChatEvent | OrderEvent] = []
    pending_orders, pending_chats = list(order_events), list(chat_events)
    while pending_orders or pending_chats:
        take_order = pending_orders and (not pending_chats or rng.random() < 0.5)
        arrivals.append(pending_orders.pop(0) if take_order else pending_chats.pop(0))
    restart_at = rng.randint(0, len(arrivals))
    mem = StoreMemory("s", 0)
    got: dict[int, dict[str, int]] = {}
    paid: dict[int, list[tuple[str, int]]] = {}
    early: dict[int, int] = {}
    for n, ev in enumerate(arrivals):
        if n == restart_at:
            persisted = mem.take_changes()
            mem = StoreMemory("s", 0)
            for raw in persisted.values():
                if raw is not None:
                    mem.restore(raw)
        row = got.setdefault(minute(ev.ts_ms), dict.fromkeys(_COMPARED, 0))
        for name, value in mem.observe(ev).items():
            if name in row:
                row[name] += value
        if isinstance(ev, OrderEvent) and ev.status == "paid":
            paid.setdefault(minute(ev.ts_ms), []).append((ev.customer_id, ev.ts_ms))
        unread = [later.ts_ms for later in arrivals[n + 1 :]]
        for m, minute_paid in paid.items():
            if m not in early and all(minute(ts) > m for ts in unread):
                early[m] = mem.chat_assisted(minute_paid)
    for m, minute_paid in paid.items():
        got[m]["chat_assisted_orders"] = mem.chat_assisted(minute_paid)
        assert early[m] == got[m]["chat_assisted_orders"]
    expected = {
        start: {name: row[name] for name in _COMPARED} for (_, start), row in truth.minutes.items()
    }
    assert got == expected
