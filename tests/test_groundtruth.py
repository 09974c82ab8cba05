"""The offline ground truth on a tiny hand-written JSONL with known answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.groundtruth import COUNTS, GAUGES, MEMORY_COUNTS, ground_truth, parse_ts_ms

Record = dict[str, Any]

T0 = 1_700_000_040_000  # 2023-11-14T22:14:00Z, a minute boundary
T1 = T0 + 60_000


def click(eid: str, ts: object, kind: str, visitor: str, session: str, store: str = "s1") -> Record:
    value = {"event_id": eid, "store_id": store, "ts": ts, "session_id": session}
    value.update({"visitor_id": visitor, "kind": kind})
    return {"topic": "shop.clicks", "key": store, "value": value}


def order(eid: str, ts: object, status: str, amount: int, store: str = "s1") -> Record:
    value = {
        "event_id": eid,
        "store_id": store,
        "ts": ts,
        "order_id": f"o-{eid}",
        "customer_id": "c1",
        "status": status,
        "amount_minor": amount,
        "currency": "EUR",
        "items": [{"sku": "A", "qty": 1, "unit_price_minor": amount}],
        "channel": "organic",
    }
    return {"topic": "shop.orders", "key": store, "value": value}


def chat(eid: str, ts: object, kind: str, **extra: Any) -> Record:
    value = {"event_id": eid, "store_id": "s1", "ts": ts, "conversation_id": "cv"}
    value.update({"customer_id": "c1", "kind": kind, **extra})
    return {"topic": "shop.chats", "key": "s1", "value": value}


def inventory(eid: str, ts: object, on_hand: Any) -> Record:
    value = {"event_id": eid, "store_id": "s1", "ts": ts, "sku": "A", "on_hand": on_hand}
    return {"topic": "shop.inventory", "key": "s1", "value": value}


RECORDS: list[Record] = [
    # s1, minute T0
    click("c1", T0 + 1_000, "impression", "v1", "x1"),
    click("c1", T0 + 1_000, "impression", "v1", "x1"),  # duplicate delivery
    click("c2", T0 + 2_000, "impression", "v1", "x2"),
    click("c3", "2023-11-15T00:14:30.000+02:00", "product_view", "v2", "x3"),  # T0 + 30 s
    click("c4", T0 + 59_999, "add_to_cart", "v2", "x3"),
    click("c5", T0 + 10, "page_view", "v3", "x4"),
    order("o1", T0 + 5_000, "placed", 1000),
    order("o2", T0 + 10_000, "paid", 1000),
    order("o2", T0 + 10_000, "paid", 1000),  # duplicate: GMV counts once
    order("o3", T0 + 20_000, "cancelled", 300),
    chat("h1", T0 + 3_000, "opened", complaint=True),
    chat("h2", T0 + 4_000, "rated", agent_id="a1", rating=5, nps=9),
    inventory("i1", T0 + 6_000, 12),
    # s1, minute T1
    click("c6", T1, "checkout", "v2", "x3"),
    order("o4", "2023-11-14T22:15:01Z", "paid", 2500),  # T1 + 1 s
    order("o5", T1 + 2_000, "refunded", 2500),
    order("o6", T1 + 3_000, "shipped", 1000),
    # s2, minute T0
    click("d1", "2023-11-14T22:14:05.5Z", "impression", "w1", "y1", store="s2"),
    order("d2", T0 + 7_000, "paid", 4200, store="s2"),
    # invalid: never counted
    {"topic": "shop.clicks", "key": "s1", "value": {"store_id": "s1", "ts": T0}},
    click("bad1", "2023-11-14T22:14:05", "impression", "v9", "x9"),  # no offset
    click("bad2", True, "impression", "v9", "x9"),  # boolean ts
    click("bad3", T0, "scroll", "v9", "x9"),  # unknown kind
    order("bad4", T0, "lost", 10),
    order("bad5", T0, "paid", -5),
    chat("bad6", T0, "rated", rating=6),
    inventory("bad7", T0, "12"),
    {"topic": "shop.payments", "key": "s1", "value": {"event_id": "z", "store_id": "s1", "ts": T0}},
    {"topic": "shop.orders", "key": "s1", "value": ["not", "an", "object"]},
]


def _row(**counts: int) -> dict[str, int]:
    row = dict.fromkeys((*COUNTS, *MEMORY_COUNTS, *GAUGES, "visitors", "sessions"), 0)
    row.update(counts)
    return row


EXPECTED = {
    ("s1", T0): _row(
        events=11,
        impressions=2,
        product_views=1,
        add_to_cart=1,
        page_views=1,
        orders_placed=1,
        orders_paid=1,
        gmv_minor=1000,
        orders_cancelled=1,
        units_sold=1,
        paid_orders_new_customer=1,
        chat_assisted_orders=1,
        sessions_started=4,
        chat_events=2,
        conversations_opened=1,
        complaints=1,
        ratings=1,
        rating_sum=5,
        ratings_positive=1,
        nps_responses=1,
        nps_promoters=1,
        inventory_updates=1,
        on_hand_units=12,
        skus_tracked=1,
        visitors=3,
        sessions=4,
    ),
    ("s1", T1): _row(
        events=4,
        checkouts=1,
        orders_paid=1,
        gmv_minor=2500,
        orders_refunded=1,
        refunded_minor=2500,
        orders_shipped=1,
        units_sold=1,
        paid_orders_repeat_customer=1,
        repeat_customer_gmv_minor=2500,
        chat_assisted_orders=1,  # the customer chatted a minute before
        on_hand_units=12,  # the level set in the minute before still stands
        skus_tracked=1,
        visitors=1,
        sessions=1,
    ),
    ("s2", T0): _row(
        events=2,
        impressions=1,
        sessions_started=1,
        orders_paid=1,
        gmv_minor=4200,
        units_sold=1,
        paid_orders_new_customer=1,
        visitors=1,
        sessions=1,
    ),
}


def test_known_answers_from_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS) + "\n", encoding="utf-8")
    truth = ground_truth(path)
    assert truth.minutes == EXPECTED
    assert truth.duplicates == 2
    assert truth.invalid == 10
    assert truth.total("gmv_minor") == 7700
    assert truth.total("events", "s1") == 15


def test_records_and_path_agree(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in RECORDS), encoding="utf-8")
    assert ground_truth(path).minutes == ground_truth(RECORDS).minutes


def test_first_valid_copy_wins_and_invalid_copy_does_not_claim_the_id() -> None:
    bad = order("o9", T0, "paid", -1)
    good = order("o9", T0 + 61_000, "paid", 700)
    truth = ground_truth([bad, good, good])
    assert truth.minutes == {
        ("s1", T1): _row(
            events=1, orders_paid=1, gmv_minor=700, units_sold=1, paid_orders_new_customer=1
        )
    }
    assert (truth.invalid, truth.duplicates) == (1, 1)


def test_timestamp_parsing() -> None:
    assert parse_ts_ms("2023-11-14T22:14:00Z") == T0
    assert parse_ts_ms("2023-11-14T17:14:00.250-05:00") == T0 + 250
    assert parse_ts_ms(float(T0)) == T0
    assert parse_ts_ms(T0 + 0.5) is None
    assert parse_ts_ms("yesterday") is None
    assert parse_ts_ms(None) is None


def test_last_millisecond_belongs_to_its_minute() -> None:
    truth = ground_truth([click("e", T1 - 1, "impression", "v", "s")])
    assert list(truth.minutes) == [("s1", T0)]


def test_agrees_with_simulated_traffic_in_total() -> None:
    from simulator.simulation import Simulator

    events = Simulator(stores=3, seed=2, start_ms=T0, events_per_s=150.0).take(6000)
    records = [{"topic": e.topic_family, "key": e.key, "value": e.value} for e in events]
    truth = ground_truth(records + records[:500])  # with duplicated deliveries
    assert (truth.invalid, truth.duplicates) == (0, 500)
    assert truth.total("events") == len(events)
    paid = [e.value for e in events if e.value.get("status") == "paid"]
    assert truth.total("orders_paid") == len(paid) > 0
    assert truth.total("gmv_minor") == sum(v["amount_minor"] for v in paid)
    assert {store for store, _ in truth.minutes} == {"store-001", "store-002", "store-003"}


def test_margin_roas_and_units_components() -> None:
    paid = order("p1", T0, "paid", 5000)
    paid["value"].update(
        channel="paid",
        cost_minor=3000,
        items=[
            {"sku": "A", "qty": 2, "unit_price_minor": 2000},
            {"sku": "B", "qty": 1, "unit_price_minor": 1000},
        ],
    )
    ad = click("k1", T0 + 1, "impression", "v", "s")
    ad["value"].update(channel="paid", cost_minor=40)
    detractor = chat("h9", T0 + 2, "rated", rating=2, nps=3)
    row = ground_truth([paid, ad, detractor]).minutes[("s1", T0)]
    assert row["margin_revenue_minor"] == 5000
    assert row["margin_cost_minor"] == 3000
    assert row["paid_channel_gmv_minor"] == 5000
    assert row["units_sold"] == 3
    assert row["ad_cost_minor"] == 40
    assert (row["ratings"], row["ratings_positive"], row["nps_detractors"]) == (1, 0, 1)


def test_memory_components_first_response_fcr_and_fulfilment() -> None:
    opened = chat("m1", T0, "opened")
    answer = chat("m2", T0 + 30_000, "agent_message", agent_id="a")  # exactly 30 s: bucket 4
    again = chat("m3", T0 + 40_000, "agent_message", agent_id="a")  # not a first response
    resolved = chat("m4", T0 + 50_000, "resolved")
    moved = chat("m5", T0 + 1, "transferred")
    moved["value"]["conversation_id"] = "cv2"
    closed = chat("m6", T0 + 2, "resolved")
    closed["value"]["conversation_id"] = "cv2"
    paid = order("p1", T0, "paid", 900)
    shipped = order("p2", T0 + 7_200_000, "shipped", 900)  # 2 h later: bucket 1 of fulfilment
    shipped["value"]["order_id"] = paid["value"]["order_id"]
    truth = ground_truth([opened, answer, again, resolved, moved, closed, paid, shipped])
    row = truth.minutes[("s1", T0)]
    assert row["first_response_s_b04"] == 1
    assert row["first_response_s_sum_ticks"] == 30_000
    assert row["resolutions_first_contact"] == 1  # cv2 was transferred first
    later = truth.minutes[("s1", T0 + 7_200_000)]
    assert later["fulfilment_h_b01"] == 1
    assert later["fulfilment_h_sum_ticks"] == 7_200_000


def test_gauges_take_the_latest_level_before_each_minute_end() -> None:
    def level(eid: str, ts: int, sku: str, on_hand: int, reorder: int | None = None) -> Record:
        rec = inventory(eid, ts, on_hand)
        rec["value"]["sku"] = sku
        if reorder is not None:
            rec["value"]["reorder_point"] = reorder
        return rec

    truth = ground_truth(
        [
            level("i1", T0 + 50_000, "A", 8, reorder=10),
            level("i2", T0 + 10_000, "A", 30, reorder=10),  # older than i1: i1 stands
            level("i3", T0 + 20_000, "B", 0),
            level("i4", T1 + 5_000, "B", 40),
        ]
    )
    first, second = truth.minutes[("s1", T0)], truth.minutes[("s1", T1)]
    assert (first["on_hand_units"], first["low_stock_skus"], first["stock_out_skus"]) == (8, 1, 1)
    assert (second["on_hand_units"], second["low_stock_skus"], second["stock_out_skus"]) == (
        48,
        1,
        0,
    )


def test_sessions_end_on_the_first_click_past_their_timeout() -> None:
    t = T0
    organic = click("s1", t, "page_view", "v", "a")
    organic["value"]["channel"] = "organic"
    busy = [
        click("s2", t + 1_000, "product_view", "v", "b"),
        click("s3", t + 2_000, "add_to_cart", "v", "b"),
    ]
    late = click("s4", t + 30 * 60_000 + 5_000, "impression", "v", "c")  # a and b have ended
    truth = ground_truth([organic, *busy, late])
    first = truth.minutes[("s1", T0)]
    assert (first["sessions_started"], first["organic_sessions_started"]) == (2, 1)
    ended = truth.minutes[("s1", T0 + 30 * 60_000)]
    assert (ended["sessions_ended"], ended["sessions_bounced"], ended["sessions_started"]) == (
        2,
        1,
        1,
    )
