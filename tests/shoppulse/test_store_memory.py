from __future__ import annotations

import random
from typing import Any

from shoppulse.events import ChatEvent, OrderEvent
from shoppulse.store_memory import StoreMemory, record_owner

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
