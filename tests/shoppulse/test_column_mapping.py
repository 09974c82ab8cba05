"""shoppulse.column_mapping and shoppulse.row_conversion: every field kind, bad rows by
file/line/field, naive timestamps, stable derived event ids, the example mappings, JSONL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from shoppulse.column_mapping import Mapping, MappingError, load_mapping
from shoppulse.events import decode_event
from shoppulse.row_conversion import (
    Conversion,
    ReplayEvent,
    convert_csv,
    convert_jsonl,
    sort_for_replay,
)

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "docs" / "mappings"
T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z

CLICKS = """
fields:
  time: {column: t}
  store: {constant: s1}
  session: {column: sess}
  visitor: {column: user}
  sku: {column: sku}
events:
  - topic: shop.clicks
    set: {kind: product_view}
"""

ORDERS = """
fields:
  time: {column: t}
  store: {column: shop}
  order: {column: id}
  customer: {column: cust, default: guest}
  amount: {column: total, unit: decimal}
  currency: {column: cur}
  status:
    column: st
    values: {paid: paid, pending: placed, expired: skip, refunded: refunded}
events:
  - topic: shop.orders
"""


def convert(mapping_text: str, *lines: str, source: str = "in.csv") -> Conversion:
    return convert_csv(load_mapping(mapping_text), list(lines), source)


def values(conv: Conversion) -> list[dict[str, Any]]:
    assert not conv.errors, [e.text() for e in conv.errors]
    return [orjson.loads(e.value) for e in conv.events]


def one_error(conv: Conversion) -> str:
    assert len(conv.errors) == 1, [e.text() for e in conv.errors]
    assert not conv.events
    return conv.errors[0].text()


# --- time -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "text", "ts"),
    [
        ("{column: t}", "2023-11-14T22:13:20Z", T0),
        ("{column: t}", "2023-11-14T23:13:20.5+01:00", T0 + 500),
        ("{column: t}", "2023-11-14 22:13:20", T0),  # naive: UTC by default
        ("{column: t, timezone: '+02:00'}", "2023-11-15T00:13:20", T0),
        ("{column: t, timezone: '-0530'}", "2023-11-14 16:43:20", T0),
        ("{column: t, timezone: Europe/Berlin}", "2023-11-14 23:13:20", T0),  # CET
        ("{column: t, timezone: Europe/Berlin}", "2023-07-01 02:00:00", 1_688_169_600_000),
        ("{column: t, timezone: '+02:00'}", "2023-11-14T22:13:20Z", T0),  # own offset wins
        ("{column: t, format: epoch_ms}", str(T0), T0),
        ("{column: t, format: epoch_s}", "1700000000.25", T0 + 250),
        ("{column: t, format: '%Y-%m-%d %H:%M:%S UTC'}", "2023-11-14 22:13:20 UTC", T0),
        (
            "{column: t, format: '%d/%m/%Y %H:%M', timezone: '+01:00'}",
            "14/11/2023 23:13",
            T0 - 20_000,
        ),
    ],
)
def test_time_formats_and_zones(spec: str, text: str, ts: int) -> None:
    mapping = CLICKS.replace("time: {column: t}", f"time: {spec}")
    (event,) = convert(mapping, "t,sess,user,sku", f"{text},x,v,p").events
    assert event.ts_ms == ts
    assert orjson.loads(event.value)["ts"] == ts


@pytest.mark.parametrize(
    ("spec", "text", "message"),
    [
        ("{column: t}", "yesterday", "time (column 't'): ts 'yesterday' is not RFC 3339"),
        ("{column: t, format: epoch_ms}", "12x", "time (column 't'): '12x' is not a number"),
        ("{column: t, format: epoch_s}", "1", "outside 2000-01-01..2100-01-01"),
        ("{column: t, format: '%Y-%m-%d'}", "14.11.2023", "does not match format '%Y-%m-%d'"),
        ("{column: t}", "", "time (column 't'): is empty and has no default"),
    ],
)
def test_bad_times_name_file_line_and_field(spec: str, text: str, message: str) -> None:
    mapping = CLICKS.replace("time: {column: t}", f"time: {spec}")
    conv = convert(mapping, "t,sess,user,sku", f"{text},x,v,p", source="clicks.csv")
    assert not conv.events
    (err,) = conv.errors
    assert err.source == "clicks.csv"
    assert err.line == 2
    assert err.field.startswith("time")
    assert err.text().startswith("clicks.csv:2: time")
    assert message in err.text()


# --- store, amount, currency, status, customer ------------------------------------------


def test_order_export_fields() -> None:
    rows = values(
        convert(
            ORDERS,
            "id,t,total,cur,st,cust,shop",
            "1001,2023-11-14T22:13:20Z,12.50,eur,paid,c1,shop-a",
            "1002,2023-11-14T22:13:21Z,1000,JPY,pending,,shop-b",
            "1003,2023-11-14T22:13:22Z,1.234,KWD,refunded,c3,shop-a",
            "1004,2023-11-14T22:13:23Z,7,USD,paid,c4,shop-a",
        )
    )
    got = [
        (
            r["store_id"],
            r["order_id"],
            r["customer_id"],
            r["status"],
            r["amount_minor"],
            r["currency"],
        )
        for r in rows
    ]
    assert got == [
        ("shop-a", "1001", "c1", "paid", 1250, "EUR"),
        ("shop-b", "1002", "guest", "placed", 1000, "JPY"),  # default customer, no decimals
        ("shop-a", "1003", "c3", "refunded", 1234, "KWD"),  # three decimals
        ("shop-a", "1004", "c4", "paid", 700, "USD"),
    ]
    assert all("items" not in r for r in rows)  # no sku mapped


def test_amount_in_minor_units_and_constant_currency() -> None:
    mapping = ORDERS.replace("{column: total, unit: decimal}", "{column: total}").replace(
        "currency: {column: cur}", "currency: {constant: GBP}"
    )
    (row,) = values(
        convert(mapping, "id,t,total,st,shop,cust", "9,2023-11-14T22:13:20Z,1999,paid,s")
    )
    assert (row["amount_minor"], row["currency"]) == (1999, "GBP")
    err = one_error(
        convert(mapping, "id,t,total,st,shop,cust", "9,2023-11-14T22:13:20Z,19.99,paid,s")
    )
    assert err == "in.csv:2: amount (column 'total'): '19.99' is not a whole number of minor units"


@pytest.mark.parametrize(
    ("total", "currency", "message"),
    [
        ("12.345", "EUR", "'12.345' has more than 2 decimals (EUR)"),
        ("12.5", "JPY", "'12.5' has more than 0 decimals (JPY)"),
        ("-3.00", "EUR", "'-3.00' is not a decimal amount >= 0"),
        ("1,50", "EUR", "'1,50' is not a decimal amount >= 0"),
        ("", "EUR", "amount (column 'total'): is empty"),
        ("1.00", "euro", "event (schema): currency: String should match pattern"),
    ],
)
def test_bad_amounts(total: str, currency: str, message: str) -> None:
    err = one_error(
        convert(
            ORDERS,
            "id,t,total,cur,st,shop,cust",
            f'1,2023-11-14T22:13:20Z,"{total}",{currency},paid,s',
        )
    )
    assert err.startswith("in.csv:2: ")
    assert message in err


def test_trailing_zero_decimals_are_fine_and_decimals_can_be_given() -> None:
    mapping = ORDERS.replace("unit: decimal}", "unit: decimal, decimals: 3}")
    (row,) = values(
        convert(ORDERS, "id,t,total,cur,st,shop,cust", "1,2023-11-14T22:13:20Z,12.500,EUR,paid,s")
    )
    assert row["amount_minor"] == 1250
    (row,) = values(
        convert(mapping, "id,t,total,cur,st,shop,cust", "1,2023-11-14T22:13:20Z,1.5,EUR,paid,s")
    )
    assert row["amount_minor"] == 1500


def test_status_values_unknown_skip_and_wildcard() -> None:
    header = "id,t,total,cur,st,shop,cust"
    conv = convert(
        ORDERS,
        header,
        "1,2023-11-14T22:13:20Z,1,EUR,expired,s",
        "2,2023-11-14T22:13:20Z,1,EUR,on-hold,s",
    )
    assert conv.skipped == 1
    assert not conv.events
    (err,) = conv.errors
    assert err.line == 3
    assert err.reason == "status: unknown value"
    assert "status (column 'st'): 'on-hold' is not one of ['expired', 'paid'" in err.text()
    wildcard = ORDERS.replace("refunded: refunded}", "refunded: refunded, '*': placed}")
    (row,) = values(convert(wildcard, header, "2,2023-11-14T22:13:20Z,1,EUR,on-hold,s"))
    assert row["status"] == "placed"


def test_store_id_the_worker_would_refuse_is_a_bad_row() -> None:
    err = one_error(
        convert(ORDERS, "id,t,total,cur,st,shop,cust", "1,2023-11-14T22:13:20Z,1,EUR,paid,my shop")
    )
    assert err.startswith("in.csv:2: event (schema): store_id: String should match pattern")


def test_order_items_from_sku_and_qty_and_session() -> None:
    mapping = ORDERS.replace(
        "  order: {column: id}\n",
        "  sku: {column: sku}\n  qty: {column: n}\n  session: {column: s}\n",
    )
    header = "t,total,cur,st,shop,sku,n,s,cust"
    (row,) = values(convert(mapping, header, "2023-11-14T22:13:20Z,9.00,EUR,paid,a,p1,3,sess"))
    assert row["items"] == [{"sku": "p1", "qty": 3, "unit_price_minor": 300}]
    assert row["session_id"] == "sess"
    assert row["order_id"] == row["event_id"]  # no order column: the row is its own order
    err = one_error(convert(mapping, header, "2023-11-14T22:13:20Z,9.00,EUR,paid,a,p1,two,s"))
    assert err == "in.csv:2: qty (column 'n'): 'two' is not a whole number >= 0"


def test_an_order_may_name_its_visitor() -> None:
    mapping = ORDERS.replace("  order: {column: id}\n", "  visitor: {column: anon}\n")
    header = "t,total,cur,st,shop,cust,anon"
    (row,) = values(convert(mapping, header, "2023-11-14T22:13:20Z,9.00,EUR,paid,a,u1,v1"))
    assert (row["customer_id"], row["visitor_id"]) == ("u1", "v1")
    (row,) = values(convert(mapping, header, "2023-11-14T22:13:20Z,9.00,EUR,paid,a,u1,"))
    assert "visitor_id" not in row  # optional and empty: left out
    (row,) = values(
        convert(ORDERS, "id,t,total,cur,st,shop,cust", "1,2023-11-14T22:13:20Z,1,EUR,paid,a,u")
    )
    assert "visitor_id" not in row  # not mapped


def test_clicks_visitor_session_sku_and_missing_session() -> None:
    (row,) = values(convert(CLICKS, "t,sess,user,sku", "2023-11-14T22:13:20Z,x,v,p"))
    assert {k: row[k] for k in ("store_id", "session_id", "visitor_id", "kind", "sku")} == {
        "store_id": "s1",
        "session_id": "x",
        "visitor_id": "v",
        "kind": "product_view",
        "sku": "p",
    }
    (row,) = values(convert(CLICKS, "t,sess,user,sku", "2023-11-14T22:13:20Z,x,v,"))
    assert "sku" not in row  # optional and empty: left out
    err = one_error(convert(CLICKS, "t,sess,user,sku", "2023-11-14T22:13:20Z,,v,p"))
    assert err == "in.csv:2: session (column 'sess'): is empty and has no default"


def test_inventory_and_chats() -> None:
    inventory = """
fields:
  time: {column: t}
  store: {constant: s1}
  sku: {column: sku}
  on_hand: {column: stock}
  reorder_point: {constant: 5}
events:
  - topic: shop.inventory
"""
    (row,) = values(convert(inventory, "t,sku,stock", "2023-11-14T22:13:20Z,p1,12"))
    assert (row["sku"], row["on_hand"], row["reorder_point"]) == ("p1", 12, 5)
    err = one_error(convert(inventory, "t,sku,stock", "2023-11-14T22:13:20Z,p1,-1"))
    assert err == "in.csv:2: on_hand (column 'stock'): '-1' is not a whole number >= 0"
    chats = """
fields:
  time: {column: t}
  store: {constant: s1}
  conversation: {column: c}
  customer: {column: who}
  agent: {column: a}
  kind: {column: k, values: {open: opened, reply: agent_message}}
events:
  - topic: shop.chats
"""
    rows = values(
        convert(
            chats,
            "t,c,who,a,k",
            "2023-11-14T22:13:20Z,c1,u,,open",
            "2023-11-14T22:13:30Z,c1,u,ag,reply",
        )
    )
    assert [(r["kind"], r.get("agent_id")) for r in rows] == [
        ("opened", None),
        ("agent_message", "ag"),
    ]


# --- rules, CSV shape -------------------------------------------------------------------


def test_rules_pick_rows_and_one_row_can_make_several_events() -> None:
    mapping = load_mapping((MAPPINGS / "rees46-clickstream.yaml").read_text())
    header = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,"
    header += "user_session"
    conv = convert_csv(
        mapping,
        [
            header,
            "2019-10-01 00:00:00 UTC,view,1,2,,,35.79,u1,s1",
            "2019-10-01 00:00:05 UTC,cart,1,2,,,35.79,u1,s1",
            "2019-10-01 00:00:09 UTC,purchase,1,2,,,35.79,u1,s1",
            "2019-10-01 00:00:10 UTC,remove_from_cart,1,2,,,35.79,u1,s1",
        ],
        "rees.csv",
    )
    assert not conv.errors
    assert conv.rows == 4
    assert conv.skipped == 1
    got = [(e.family, orjson.loads(e.value).get("kind"), e.line) for e in conv.events]
    assert got == [
        ("shop.clicks", "product_view", 2),
        ("shop.clicks", "add_to_cart", 3),
        ("shop.clicks", "checkout", 4),
        ("shop.orders", None, 4),
    ]
    order = orjson.loads(conv.events[-1].value)
    assert (order["status"], order["amount_minor"], order["currency"], order["customer_id"]) == (
        "paid",
        3579,
        "USD",
        "u1",
    )
    assert order["items"] == [{"sku": "1", "qty": 1, "unit_price_minor": 3579}]
    assert conv.events[-1].ts_ms == 1_569_888_009_000
    assert len({e.event_id for e in conv.events}) == 4


def test_line_numbers_count_physical_lines_and_bad_shapes_are_reported() -> None:
    conv = convert(
        CLICKS,
        "t,sess,user,sku",
        '2023-11-14T22:13:20Z,x,v,"two\n',
        'lines"',
        "2023-11-14T22:13:20Z,x,v,p,extra",
        "",
        "2023-11-14T22:13:20Z,,v,p",
        "2023-11-14T22:13:20Z,x,v",  # a missing trailing cell is empty
    )
    assert [e.line for e in conv.events] == [2, 7]
    assert conv.rows == 4
    assert [e.text() for e in conv.errors] == [
        "in.csv:4: row: more cells than the header",
        "in.csv:6: session (column 'sess'): is empty and has no default",
    ]


def test_a_missing_column_is_one_error_on_the_header() -> None:
    conv = convert(CLICKS, "t,session,user,sku", "2023-11-14T22:13:20Z,x,v,p")
    assert [e.text() for e in conv.errors] == ["in.csv:1: header: missing columns ['sess']"]
    assert not conv.events


def test_every_event_passes_the_workers_validation() -> None:
    mapping = load_mapping((MAPPINGS / "rees46-clickstream.yaml").read_text())
    sample = ROOT / "tests" / "data" / "rees46_2019-10-01_head5000.csv"
    with open(sample, newline="", encoding="utf-8") as fh:
        conv = convert_csv(mapping, fh, str(sample))
    assert not conv.errors
    assert conv.rows == 4_999
    assert len(conv.events) == 4_999 + 54
    for event in conv.events:
        decoded = decode_event(event.family, event.value)
        assert getattr(decoded, "event_id", None) == event.event_id


# --- derived event ids ------------------------------------------------------------------


def _ids(mapping: Mapping | str, *rows: str) -> list[str]:
    m = load_mapping(mapping) if isinstance(mapping, str) else mapping
    conv = convert_csv(m, ["t,sess,user,sku", *rows], "in.csv")
    assert not conv.errors
    return [e.event_id for e in conv.events]


def test_derived_ids_are_stable_across_runs_and_independent_of_other_rows() -> None:
    a = "2023-11-14T22:13:20Z,x,v,p"
    b = "2023-11-14T22:13:21Z,x,v,q"
    first = _ids(CLICKS, a, b)
    assert first == _ids(CLICKS, a, b)  # the same file again: the same ids
    assert _ids(CLICKS, "2023-11-14T22:13:19Z,y,w,r", a, b)[1:] == first  # a row added before
    assert _ids(CLICKS, b, a) == first[::-1]  # row order does not matter
    assert len(set(first)) == 2
    assert all(i.startswith("rp-") for i in first)


def test_identical_rows_count_by_default_or_once() -> None:
    a = "2023-11-14T22:13:20Z,x,v,p"
    counted = _ids(CLICKS, a, a, a)
    assert len(set(counted)) == 3
    assert counted == _ids(CLICKS, a, a, a)
    once = CLICKS.replace("fields:\n", "fields:\n  event_id: {repeated_rows: once}\n")
    assert len(set(_ids(once, a, a, a))) == 1


def test_ids_derived_from_chosen_columns() -> None:
    chosen = CLICKS.replace("fields:\n", "fields:\n  event_id: {derive_from: [sess, sku]}\n")
    # the same session and SKU at another time is the same event (repeated_rows: count numbers it)
    x1, x2 = _ids(chosen, "2023-11-14T22:13:20Z,x,v,p", "2023-11-14T22:13:29Z,x,w,p")
    assert x1 != x2
    once = chosen.replace("[sess, sku]}", "[sess, sku], repeated_rows: once}")
    y1, y2 = _ids(once, "2023-11-14T22:13:20Z,x,v,p", "2023-11-14T22:13:29Z,x,w,p")
    assert y1 == y2


def test_an_event_id_column_is_used_as_is_and_suffixed_when_a_row_makes_several() -> None:
    text = CLICKS.replace("fields:\n", "fields:\n  event_id: {column: sku}\n")
    assert _ids(text, "2023-11-14T22:13:20Z,x,v,e-17") == ["e-17"]
    text += "  - name: also\n    topic: shop.clicks\n    set: {kind: page_view}\n"
    assert _ids(text, "2023-11-14T22:13:20Z,x,v,e-17") == ["e-17:shop.clicks#0", "e-17:also"]


# --- the mapping document ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("store: {constant: s1}", "shop: {constant: s1}"), "fields.shop: unknown field"),
        (("store: {constant: s1}", "sku2: {column: x}"), "unknown field"),
        (("  store: {constant: s1}\n", ""), "fields.store is required"),
        (
            ("{column: sess}", "{column: sess, constant: y}"),
            "exactly one of 'column' and 'constant'",
        ),
        (("time: {column: t}", "time: {column: t, timezone: Mars/Base}"), "not UTC, an offset"),
        (("time: {column: t}", "time: {column: t, format: dd.mm.yyyy}"), "strptime pattern"),
        (("{column: sess}", "{column: sess, unit: decimal}"), "are for the amount field"),
        (("topic: shop.clicks", "topic: shop.click"), "events[0].topic: one of"),
        (("set: {kind: product_view}", "set: {}"), "shop.clicks needs fields ['kind']"),
        (("set: {kind", "sett: {kind"), "events[0]: unknown keys ['sett']"),
        (("events:", "rules:"), "unknown keys ['rules']"),
    ],
)
def test_mapping_errors_name_the_key(change: tuple[str, str], message: str) -> None:
    text = CLICKS.replace(*change)
    assert text != CLICKS
    with pytest.raises(MappingError, match=None) as info:
        load_mapping(text, "m.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("m.yaml: ")


def test_not_yaml_and_not_a_mapping() -> None:
    with pytest.raises(MappingError, match="not YAML"):
        load_mapping("fields: [", "m.yaml")
    with pytest.raises(MappingError, match="expected a mapping"):
        load_mapping("- 1", "m.yaml")


def test_the_example_order_export_mapping() -> None:
    mapping = load_mapping((MAPPINGS / "order-export.yaml").read_text(), "order-export.yaml")
    conv = convert_csv(
        mapping,
        [
            "id,created_at,total,currency,financial_status,customer_id,note",
            "1001,2024-03-01T09:15:00,12.50,EUR,paid,c1,hello",
            "1001,2024-03-01T09:15:00,12.50,EUR,paid,c1,hello",  # the same row twice: once
            "1002,2024-07-01 09:15:00,1000,JPY,pending,,",
            "1003,2024-03-01T09:15:00+00:00,5.00,EUR,expired,c3,",
            "1004,2024-03-01T09:15:00Z,5.00,EUR,chargeback,c4,",
        ],
        "orders.csv",
    )
    got = [
        (
            e.line,
            e.ts_ms,
            *(
                orjson.loads(e.value)[k]
                for k in ("order_id", "status", "amount_minor", "customer_id")
            ),
        )
        for e in conv.events
    ]
    assert got == [
        (2, 1_709_280_900_000, "1001", "paid", 1250, "c1"),  # 09:15 CET = 08:15 UTC
        (3, 1_709_280_900_000, "1001", "paid", 1250, "c1"),
        (4, 1_719_818_100_000, "1002", "placed", 1000, "guest"),  # 09:15 CEST = 07:15 UTC
    ]
    assert conv.events[0].event_id == conv.events[1].event_id  # repeated_rows: once
    assert conv.skipped == 1
    assert [e.line for e in conv.errors] == [6]


# --- JSONL and ordering -----------------------------------------------------------------


def _click(eid: str, ts: int, store: str = "s1") -> dict[str, Any]:
    return {
        "event_id": eid,
        "store_id": store,
        "ts": ts,
        "session_id": "x",
        "visitor_id": "v",
        "kind": "impression",
    }


def test_jsonl_envelopes_and_bare_events() -> None:
    env = [
        orjson.dumps({"topic": "shop.clicks", "key": "s1", "value": _click("a", T0)}).decode(),
        "",
        orjson.dumps({"topic": "shop.clicks", "key": "s2", "value": _click("b", T0)}).decode(),
        orjson.dumps({"topic": "shop.returns", "key": "s1", "value": _click("c", T0)}).decode(),
        "{not json",
        orjson.dumps(_click("d", T0)).decode(),
        orjson.dumps(
            {"topic": "shop.clicks", "value": {**_click("e", T0), "kind": "tap"}}
        ).decode(),
    ]
    conv = convert_jsonl(env, "sim.jsonl")
    assert [e.event_id for e in conv.events] == ["a"]
    assert conv.rows == 6
    texts = [e.text() for e in conv.errors]
    assert texts[0] == "sim.jsonl:3: key: 's2' is not the event's store_id 's1'"
    assert texts[1].startswith("sim.jsonl:4: topic: 'shop.returns' is not one of")
    assert texts[2].startswith("sim.jsonl:5: line: not JSON")
    assert texts[3].startswith("sim.jsonl:6: line: expected {")
    assert texts[4].startswith("sim.jsonl:7: event (schema): kind: Input should be")
    bare = convert_jsonl([orjson.dumps(_click("d", T0)).decode()], "b.jsonl", topic="shop.clicks")
    assert [e.event_id for e in bare.events] == ["d"]
    assert not bare.errors


def test_sort_is_oldest_first_and_stable() -> None:
    def ev(eid: str, ts: int, store: str) -> ReplayEvent:
        return ReplayEvent("shop.clicks", store, ts, eid, b"", "f", 0)

    events = [
        ev("a", 3, "s1"),
        ev("b", 1, "s2"),
        ev("c", 3, "s2"),
        ev("d", 2, "s1"),
        ev("e", 1, "s1"),
    ]
    assert [e.event_id for e in sort_for_replay(events)] == ["b", "e", "d", "a", "c"]
