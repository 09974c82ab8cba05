"""Property: rolling minutes up equals computing over all their events directly."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shoppulse.components import Components, sum_values
from shoppulse.events import ChatEvent, ClickEvent, OrderEvent, ShopEvent
from shoppulse.hll import HyperLogLog
from shoppulse.kpis import derive_kpis
from shoppulse.windows import TumblingWindow

T0 = 1_700_000_040_000
MIN = 60_000

_order = st.builds(
    lambda i, ts, status, amount, cost, channel, qty: OrderEvent.model_validate(
        {
            "event_id": f"o{i}",
            "store_id": "s",
            "ts": T0 + ts,
            "order_id": f"o{i}",
            "customer_id": "c",
            "status": status,
            "amount_minor": amount,
            "currency": "EUR",
            "cost_minor": cost,
            "channel": channel,
            "items": [{"sku": "A", "qty": qty, "unit_price_minor": amount}],
        }
    ),
    st.integers(0, 10**6),
    st.integers(0, 10 * MIN - 1),
    st.sampled_from(["placed", "paid", "cancelled", "refunded", "shipped"]),
    st.integers(0, 10**6),
    st.one_of(st.none(), st.integers(0, 10**6)),
    st.sampled_from(["organic", "paid", "direct"]),
    st.integers(1, 5),
)
_click = st.builds(
    lambda i, ts, kind, visitor, session, cost: ClickEvent.model_validate(
        {
            "event_id": f"k{i}",
            "store_id": "s",
            "ts": T0 + ts,
            "session_id": f"s{session}",
            "visitor_id": f"v{visitor}",
            "kind": kind,
            "cost_minor": cost,
        }
    ),
    st.integers(0, 10**6),
    st.integers(0, 10 * MIN - 1),
    st.sampled_from(["impression", "page_view", "product_view", "add_to_cart", "checkout"]),
    st.integers(0, 50),
    st.integers(0, 80),
    st.one_of(st.none(), st.integers(0, 500)),
)
_chat = st.builds(
    lambda i, ts, kind, rating, nps, complaint: ChatEvent.model_validate(
        {
            "event_id": f"h{i}",
            "store_id": "s",
            "ts": T0 + ts,
            "conversation_id": "cv",
            "customer_id": "c",
            "kind": kind,
            "rating": rating,
            "nps": nps,
            "complaint": complaint,
        }
    ),
    st.integers(0, 10**6),
    st.integers(0, 10 * MIN - 1),
    st.sampled_from(["opened", "agent_message", "transferred", "escalated", "resolved", "rated"]),
    st.one_of(st.none(), st.integers(1, 5)),
    st.one_of(st.none(), st.integers(0, 10)),
    st.one_of(st.none(), st.booleans()),
)
_events = st.lists(st.one_of(_order, _click, _chat), max_size=120)


def _by_minute(events: list[ShopEvent]) -> dict[int, Components]:
    window = TumblingWindow(MIN)
    minutes: dict[int, Components] = {}
    for ev in events:
        minutes.setdefault(window.start_ms(ev.ts_ms), Components()).add_event(ev)
    return minutes


@settings(max_examples=150, derandomize=True, database=None, deadline=None)
@given(_events)
def test_summed_minutes_equal_direct_computation(events: list[Any]) -> None:
    direct = Components()
    for ev in events:
        direct.add_event(ev)
    minutes = _by_minute(events)
    rolled = sum_values(m.values() for m in minutes.values())
    expected = {k: v for k, v in direct.values().items() if k not in ("visitors", "sessions")}
    assert {k: rolled.get(k, 0) for k in expected} == expected
    # The rolled-up KPIs are therefore those of the whole event set (ratio of sums).
    sessions = {"visitors": len(direct.distinct["visitors"]), "sessions": 1}
    assert derive_kpis({**rolled, **sessions}, 10 * MIN) == derive_kpis(
        direct.values() | sessions, 10 * MIN
    )


@settings(max_examples=100, derandomize=True, database=None, deadline=None)
@given(_events)
def test_merged_minute_sketches_equal_the_sketch_of_all_events(events: list[Any]) -> None:
    minutes = _by_minute(events)
    for name in ("visitors", "sessions"):
        merged = HyperLogLog()
        for m in minutes.values():
            merged.merge_into(HyperLogLog.from_base64(m.sketches()[name]))
        direct = HyperLogLog()
        for m in minutes.values():
            direct.update(m.distinct[name])
        assert merged == direct  # merging is exact; only the final count estimates
