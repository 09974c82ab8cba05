from __future__ import annotations

from typing import Any

from shoppulse.components import COUNT_COMPONENTS, Components
from shoppulse.events import ChatEvent, ClickEvent, OrderEvent

T = 1_700_000_040_000


def order(status: str, amount: int, **extra: Any) -> OrderEvent:
    return OrderEvent.model_validate(
        {
            "event_id": f"o-{status}",
            "store_id": "s",
            "ts": T,
            "order_id": "o",
            "customer_id": "c",
            "status": status,
            "amount_minor": amount,
            "currency": "EUR",
            **extra,
        }
    )


def chat(kind: str, **extra: Any) -> ChatEvent:
    return ChatEvent.model_validate(
        {
            "event_id": f"h-{kind}",
            "store_id": "s",
            "ts": T,
            "conversation_id": "cv",
            "customer_id": "c",
            "kind": kind,
            **extra,
        }
    )


def test_paid_order_feeds_gmv_units_margin_and_paid_channel() -> None:
    c = Components()
    c.add_event(
        order(
            "paid",
            5000,
            channel="paid",
            cost_minor=3500,
            items=[{"sku": "A", "qty": 2, "unit_price_minor": 2500}],
        )
    )
    c.add_event(order("paid", 1000, channel="organic"))  # no cost: not in the margin base
    v = c.values()
    assert v["gmv_minor"] == 6000
    assert v["units_sold"] == 2
    assert (v["margin_revenue_minor"], v["margin_cost_minor"]) == (5000, 3500)
    assert v["paid_channel_gmv_minor"] == 5000


def test_refund_counts_its_amount_not_gmv() -> None:
    c = Components()
    c.add_event(order("refunded", 800))
    assert (c.counts["orders_refunded"], c.counts["refunded_minor"], c.counts["gmv_minor"]) == (
        1,
        800,
        0,
    )


def test_chat_kinds_ratings_nps_and_complaints() -> None:
    c = Components()
    c.add_event(chat("opened", complaint=True))
    c.add_event(chat("agent_message", agent_id="a"))
    c.add_event(chat("escalated"))
    c.add_event(chat("resolved"))
    c.add_event(chat("rated", rating=4, nps=10))
    c.add_event(chat("rated", rating=2, nps=5))
    v = c.values()
    assert v["chat_events"] == 6
    assert (
        v["conversations_opened"],
        v["agent_messages"],
        v["escalations"],
        v["resolutions"],
        v["complaints"],
    ) == (1, 1, 1, 1, 1)
    assert (v["ratings"], v["ratings_positive"], v["rating_sum"]) == (2, 1, 6)
    assert (v["nps_responses"], v["nps_promoters"], v["nps_detractors"]) == (2, 1, 1)


def test_paid_click_cost_is_ad_cost() -> None:
    c = Components()
    c.add_event(
        ClickEvent.model_validate(
            {
                "event_id": "k",
                "store_id": "s",
                "ts": T,
                "session_id": "x",
                "visitor_id": "v",
                "kind": "impression",
                "channel": "paid",
                "cost_minor": 35,
            }
        )
    )
    assert c.counts["ad_cost_minor"] == 35


def test_state_round_trip_and_every_component_present() -> None:
    c = Components()
    c.add_event(order("paid", 100))
    again = Components.from_state(c.to_state())
    assert again.values() == c.values()
    assert set(COUNT_COMPONENTS) <= set(again.values())
