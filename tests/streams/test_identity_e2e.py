"""One identity per person (ADR 20) through the real broker and worker: a visitor chats and
buys anonymously, then buys logged in naming the same anonymous id. The logged-in order is a
repeat order, and both orders are chat-assisted, equal to ``tests/groundtruth.py``."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from shoppulse import topics
from shoppulse.settings import Settings
from tests.conftest import WorkerFactory
from tests.groundtruth import ground_truth
from tests.kafka_helpers import collect_snapshots, finals_by_minute, producer
from tests.streams.test_pipeline_e2e import assert_finals_equal_truth

pytestmark = pytest.mark.integration

T0 = 1_700_000_040_000  # a minute boundary, long ago: minutes close by stream time or idling
STORE = "s-identity"
ANON = "anon-7f3a"
FINALS_TIMEOUT_S = 60.0


def _order(eid: str, ts: int, customer: str, visitor: str) -> dict[str, Any]:
    return {
        "event_id": eid,
        "store_id": STORE,
        "ts": ts,
        "order_id": f"order-{eid}",
        "customer_id": customer,
        "visitor_id": visitor,
        "status": "paid",
        "amount_minor": 2_500,
        "currency": "EUR",
    }


def test_an_anonymous_visitor_who_logs_in_is_one_person(
    settings: Settings, start_worker: WorkerFactory
) -> None:
    start_worker()
    chat = {
        "event_id": "chat-1",
        "store_id": STORE,
        "ts": T0 + 5_000,
        "conversation_id": "cv-1",
        "customer_id": ANON,  # the logged-out chat widget sends the anonymous id
        "kind": "opened",
    }
    records: list[dict[str, Any]] = [
        {"topic": topics.CHATS, "key": STORE, "value": chat},
        {"topic": topics.ORDERS, "key": STORE, "value": _order("o-1", T0 + 10_000, ANON, ANON)},
        {"topic": topics.ORDERS, "key": STORE, "value": _order("o-2", T0 + 70_000, "u1", ANON)},
    ]
    p = producer(settings)
    for record in records:
        p.send(
            settings.topic(record["topic"]),
            key=STORE.encode(),
            value=orjson.dumps(record["value"]),
        )
    p.flush()
    truth = ground_truth(records)
    assert set(truth.minutes) == {(STORE, T0), (STORE, T0 + 60_000)}
    snaps = collect_snapshots(settings, truth.minutes, FINALS_TIMEOUT_S)
    assert_finals_equal_truth(snaps, truth.minutes)
    names = ("paid_orders_new_customer", "paid_orders_repeat_customer", "chat_assisted_orders")
    finals = finals_by_minute(snaps)
    got = [
        tuple(finals[(STORE, minute)][0].components.get(n) for n in names)
        for minute in (T0, T0 + 60_000)
    ]
    assert got == [(1, 0, 1), (0, 1, 1)]
    (second,) = finals[(STORE, T0 + 60_000)]
    assert second.components["repeat_customer_gmv_minor"] == 2_500
