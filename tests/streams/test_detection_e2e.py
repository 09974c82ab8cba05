"""Detection and alerting through the real broker and worker: closed minutes → signals on
shoppulse.signals → rule-based alerts on shoppulse.alerts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from shoppulse import topics
from shoppulse.settings import Settings
from shoppulse.timeutil import format_ts_ms
from tests.alerts.rules_fixtures import STOCK_THRESHOLDS, default_rules_and
from tests.conftest import WorkerFactory
from tests.kafka_helpers import poll_until, producer

pytestmark = pytest.mark.integration

T0 = 1_700_000_040_000 - 1_700_000_040_000 % 86_400_000 + 9 * 3_600_000  # 09:00 UTC
STORE = "det-store"
OUTAGE_FROM = 200  # minute: checkouts go on, paid orders stop


def events() -> Iterator[tuple[str, dict[str, Any]]]:
    """Four hours of steady traffic (60 sessions, 8 checkouts, 6 paid orders a minute);
    a SKU out of stock from minute 5 to 100; from minute 200 no order is paid."""
    n = 0

    def base(ts: int) -> dict[str, Any]:
        nonlocal n
        n += 1
        return {"event_id": f"d{n}", "store_id": STORE, "ts": ts}

    for minute in range(240):
        t = T0 + minute * 60_000
        for s in range(60):
            yield (
                topics.CLICKS,
                base(t + s * 900)
                | {"session_id": f"m{minute}-s{s}", "visitor_id": f"v{s}", "kind": "product_view"},
            )
        for c in range(8):
            yield (
                topics.CLICKS,
                base(t + 500 + c * 7_000)
                | {"session_id": f"m{minute}-s{c}", "visitor_id": f"v{c}", "kind": "checkout"},
            )
        if minute < OUTAGE_FROM:
            for o in range(6):
                yield (
                    topics.ORDERS,
                    base(t + 1_000 + o * 9_000)
                    | {
                        "order_id": f"o{minute}-{o}",
                        "customer_id": f"c{o}",
                        "status": "paid",
                        "amount_minor": 2_000,
                        "currency": "EUR",
                    },
                )
        if minute in (5, 100):
            yield (
                topics.INVENTORY,
                base(t + 2_000)
                | {"sku": "A", "on_hand": 0 if minute == 5 else 500, "reorder_point": 3},
            )


def test_an_outage_and_a_stock_out_become_firing_and_resolved_signals(
    settings: Settings, start_worker: WorkerFactory
) -> None:
    worker_settings = settings.model_copy(update={"detection_warmup": 20})
    start_worker(worker_settings)
    p = producer(settings)
    for family, value in events():
        p.send(settings.topic(family), key=STORE.encode(), value=orjson.dumps(value))
    p.flush()

    def seen(alerts: list[dict[str, Any]]) -> set[tuple[str, str]]:
        return {(a["labels"]["alertname"], a["status"]) for a in alerts}

    wanted = {
        ("stock_out", "firing"),
        ("stock_out", "resolved"),
        ("checkout_outage", "firing"),
        ("conversion_drop", "firing"),
    }
    alerts = poll_until(settings, topics.SIGNALS, lambda a: wanted <= seen(a), 120.0)
    assert wanted <= seen(alerts)
    by_name = {a["labels"]["alertname"]: a for a in alerts if a["status"] == "firing"}
    outage = by_name["checkout_outage"]
    started = (outage["startsAt"], T0 + OUTAGE_FROM * 60_000)
    from shoppulse.timeutil import parse_ts_ms

    delay_min = (parse_ts_ms(started[0]) - started[1]) // 60_000
    assert 0 <= delay_min <= 5  # found within minutes
    assert outage["labels"] == {
        "alertname": "checkout_outage",
        "store_id": STORE,
        "kpi": "payment_conversion",
        "severity": "critical",
    }
    assert outage["value"] == 0.0
    assert outage["expected"] == pytest.approx(0.75, rel=0.1)  # 6 paid per 8 checkouts
    # No false alarm on the steady part: nothing but these signals.
    assert seen(alerts) <= wanted | {
        ("gmv_dip", "firing"),
        ("stockout_projected", "firing"),
        ("stockout_projected", "resolved"),
        ("low_stock", "firing"),
        ("low_stock", "resolved"),
    }


def test_detector_state_survives_a_worker_restart(
    settings: Settings, start_worker: WorkerFactory
) -> None:
    """Warm the detectors, restart the worker, then break checkouts: only a restored
    baseline (20 warm minutes per slot) can fire within the four hours of traffic."""
    worker_settings = settings.model_copy(update={"detection_warmup": 20})
    first = start_worker(worker_settings, name="first")
    p = producer(settings)
    batch = list(events())
    cut = next(i for i, (_, v) in enumerate(batch) if v["ts"] >= T0 + 190 * 60_000)
    for family, value in batch[:cut]:
        p.send(settings.topic(family), key=STORE.encode(), value=orjson.dumps(value))
    p.flush()
    # Wait until the detection agent has handled the closed minutes of the first part.
    poll_until(
        settings,
        topics.ALERTS,
        lambda a: any(
            x["labels"]["alertname"] == "stock_out" and x["status"] == "resolved" for x in a
        ),
        120.0,
    )
    # Faust may report a crash while stopping (its producer buffer races the shutdown: see the
    # issue note); the exit code is not what this test is about. State must survive either way.
    assert first.stop() is not None
    start_worker(worker_settings, name="second")
    for family, value in batch[cut:]:
        p.send(settings.topic(family), key=STORE.encode(), value=orjson.dumps(value))
    p.flush()
    alerts = poll_until(
        settings,
        topics.ALERTS,
        lambda a: any(x["labels"]["alertname"] == "checkout_outage" for x in a),
        120.0,
    )
    assert any(
        a["labels"]["alertname"] == "checkout_outage" and a["status"] == "firing" for a in alerts
    )


def test_default_rules_turn_signals_into_alerts(
    settings: Settings, start_worker: WorkerFactory
) -> None:
    """The anomaly rules of alerts/default_rules.yaml notify the checkout outage (critical)
    and the stock-out, firing then resolved, on shoppulse.alerts."""
    start_worker(settings.model_copy(update={"detection_warmup": 20}))
    p = producer(settings)
    for family, value in events():
        p.send(settings.topic(family), key=STORE.encode(), value=orjson.dumps(value))
    p.flush()
    wanted = {("checkout_outage", "firing"), ("stock_out", "firing"), ("stock_out", "resolved")}

    def seen(alerts: list[dict[str, Any]]) -> set[tuple[str, str]]:
        return {(a["labels"]["alertname"], a["status"]) for a in alerts}

    alerts = poll_until(settings, topics.ALERTS, lambda a: wanted <= seen(a), 120.0)
    assert wanted <= seen(alerts)
    outage = next(a for a in alerts if a["labels"]["alertname"] == "checkout_outage")
    assert outage["labels"]["severity"] == "critical"
    assert outage["annotations"]["source"] == "rule:anomaly"
    assert STORE in outage["annotations"]["description"]
    firings = [a for a in alerts if a["labels"]["alertname"] == "checkout_outage"]
    assert len(firings) == 1  # deduplicated: one notification while it keeps firing


def test_a_held_alert_of_a_store_gone_quiet_resolves_by_wall_clock(
    settings: Settings, start_worker: WorkerFactory, tmp_path: Path
) -> None:
    """A rule fires on busy minutes and clears on the last one, then the store sends nothing
    more. The flap window holds the resolution; no later minute will ever end the hold, so
    the alerting agent lets wall-clock time pass for the quiet store and resolves it."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "flap_window: 3m\nrules:\n"
        '  - {name: rush, kind: threshold, kpi: orders, op: ">", value: 5}\n'
    )
    start_worker(
        settings.model_copy(
            update={"rules_file": rules, "alert_quiet_after_s": 4.0, "detection_enabled": False}
        )
    )
    t0 = time.time_ns() // 1_000_000 - 20 * 60_000
    t0 -= t0 % 60_000
    p = producer(settings)
    for minute, paid in enumerate((10, 10, 10, 1)):
        for o in range(paid):
            order = {
                "event_id": f"q{minute}-{o}",
                "store_id": "quiet-store",
                "ts": t0 + minute * 60_000 + o * 1_000,
                "order_id": f"q{minute}-{o}",
                "customer_id": f"c{o}",
                "status": "paid",
                "amount_minor": 1_000,
                "currency": "EUR",
            }
            p.send(settings.topic(topics.ORDERS), key=b"quiet-store", value=orjson.dumps(order))
    p.flush()

    def rush(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [a for a in alerts if a["labels"]["alertname"] == "rush"]

    alerts = poll_until(
        settings,
        topics.ALERTS,
        lambda a: {x["status"] for x in rush(a)} == {"firing", "resolved"},
        120.0,
    )
    firing, resolved = rush(alerts)
    assert firing["status"] == "firing"
    assert firing["startsAt"] == format_ts_ms(t0)
    assert resolved["status"] == "resolved"
    assert resolved["endsAt"] == format_ts_ms(t0 + 3 * 60_000)  # the first quiet minute


ORDERS_ONLY_STORE = "orders-only-store"
PAID_UNTIL = 70  # minute: from here the store's orders are placed, none is paid
#: Every signal or alert about stock: the detectors' three and the test's stock thresholds.
STOCK_ALERTNAMES = {"stock_out", "low_stock", "stockout_projected", "cover_short", "units_low"}


def orders_only_events() -> Iterator[dict[str, Any]]:
    """90 minutes of orders alone, as a replayed shop without a stock feed sends them: 6 paid
    orders of 2 units a minute, then (from PAID_UNTIL) 6 placed orders a minute, none paid."""
    for minute in range(90):
        t = T0 + minute * 60_000
        for o in range(6):
            yield {
                "event_id": f"oo{minute}-{o}",
                "store_id": ORDERS_ONLY_STORE,
                "ts": t + 1_000 + o * 9_000,
                "order_id": f"oo{minute}-{o}",
                "customer_id": f"c{o}",
                "status": "paid" if minute < PAID_UNTIL else "placed",
                "amount_minor": 2_000,
                "currency": "EUR",
                "items": [{"sku": f"sku-{o}", "qty": 2, "unit_price_minor": 1_000}],
            }


def test_a_store_without_a_stock_feed_raises_no_stock_signal_or_alert(
    settings: Settings, start_worker: WorkerFactory, tmp_path: Path
) -> None:
    """Orders with units and no shop.inventory event: 0 units on hand is unknown stock, so
    no stock signal (stockout_projected fired on the first minute before) and no alert from
    the default rules or from threshold rules on the stock KPIs. The paid orders stopping
    is the sentinel that every minute before it went through both agents: gmv_dip on
    shoppulse.signals, a threshold on orders on shoppulse.alerts (same store, so same
    partition, in order after the minutes a stock signal would have come from)."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        default_rules_and(
            STOCK_THRESHOLDS
            + """\
  - {name: stockout_projected, kind: anomaly, signal: stockout_projected}
  - {name: low_stock, kind: anomaly, signal: low_stock}
  - {name: gmv_dip, kind: anomaly, signal: gmv_dip}
  - {name: paid_stopped, kind: threshold, kpi: orders, op: "<", value: 1}
"""
        ),
        encoding="utf-8",
    )
    start_worker(settings.model_copy(update={"detection_warmup": 5, "rules_file": rules}))
    p = producer(settings)
    for value in orders_only_events():
        p.send(
            settings.topic(topics.ORDERS),
            key=ORDERS_ONLY_STORE.encode(),
            value=orjson.dumps(value),
        )
    p.flush()

    def fired(name: str) -> Any:
        return lambda records: any(
            r["labels"]["alertname"] == name and r["status"] == "firing" for r in records
        )

    signals = poll_until(settings, topics.SIGNALS, fired("gmv_dip"), 120.0)
    alerts = poll_until(settings, topics.ALERTS, fired("paid_stopped"), 60.0)
    assert fired("gmv_dip")(signals), "the sentinel signal never came"
    assert fired("paid_stopped")(alerts), "the sentinel alert never came"
    paid_stopped = next(a for a in alerts if a["labels"]["alertname"] == "paid_stopped")
    assert paid_stopped["startsAt"] == format_ts_ms(T0 + PAID_UNTIL * 60_000)
    assert {r["labels"]["store_id"] for r in signals + alerts} == {ORDERS_ONLY_STORE}
    stock = [
        (r["labels"]["alertname"], r["status"], r["annotations"]["description"])
        for r in signals + alerts
        if r["labels"]["alertname"] in STOCK_ALERTNAMES
    ]
    assert stock == []
