"""Alerts, acknowledgements and silences through the API, against the real Kafka broker.

Alert records are produced with kafka-python to the test's own namespaced
``shoppulse.alerts``; the API runs under uvicorn on a free loopback port
(``running_api``). After acknowledging and silencing, the API is stopped and a new app
instance must show the same acknowledgements and silences, rebuilt from Kafka.
Every wait is bounded.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaProducer

from api.clock import wall_clock_ms
from shoppulse.settings import Settings
from shoppulse.topics import ALERTS
from tests.alerts.alert_records import roas_alert
from tests.api.test_feed_integration import _wait_for, _wait_ready, running_api
from tests.kafka_helpers import producer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

MIN = 60_000
HOUR = 60 * MIN


def _alert(store: str, status: str, start: int, end: int | None = None) -> dict[str, Any]:
    return roas_alert(store, status, start=start, end=end)


def _send(
    p: KafkaProducer, settings: Settings, record: dict[str, Any] | bytes, ts_ms: int | None = None
) -> None:
    value = record if isinstance(record, bytes) else orjson.dumps(record)
    store = b"junk" if isinstance(record, bytes) else record["labels"]["store_id"].encode()
    p.send(settings.topic(ALERTS), key=store, value=value, timestamp_ms=ts_ms)


def _alerts(base: str, **params: str) -> dict[str, dict[str, Any]]:
    r = httpx.get(f"http://{base}/api/v1/alerts", params=params, timeout=5.0)
    assert r.status_code == 200, r.text
    return {a["labels"]["store_id"]: a for a in r.json()["alerts"]}


def _silences(base: str, **params: str) -> dict[str, dict[str, Any]]:
    r = httpx.get(f"http://{base}/api/v1/silences", params=params, timeout=5.0)
    assert r.status_code == 200, r.text
    return {s["id"]: s for s in r.json()["silences"]}


def test_acks_and_silences_survive_a_restart(settings: Settings) -> None:
    now = wall_clock_ms()
    p = producer(settings)
    _send(p, settings, _alert("ancient", "firing", now - 26 * HOUR), ts_ms=now - 25 * HOUR)
    _send(p, settings, _alert("s1", "firing", now - 10 * MIN))
    _send(p, settings, _alert("s2", "firing", now - 8 * MIN))
    _send(p, settings, _alert("s3", "firing", now - 30 * MIN))
    _send(p, settings, _alert("s3", "resolved", now - 30 * MIN, end=now - 5 * MIN))
    _send(p, settings, b"{not an alert")
    p.flush(timeout=20)

    with running_api(settings) as base:  # started after the alerts: it must catch up
        ready = _wait_ready(base)
        assert ready["feeds"]["alerts"]["bad_records"] == 1
        assert ready["feeds"]["alert_actions"]["caught_up"] is True
        firing = _alerts(base)
        assert set(firing) == {"s1", "s2"}  # "ancient" is older than the 24 h replay
        assert set(_alerts(base, status="all")) == {"s1", "s2", "s3"}
        assert _alerts(base, status="resolved")["s3"]["endsAt"] is not None
        s1 = firing["s1"]

        r = httpx.post(
            f"http://{base}/api/v1/alerts/{s1['id']}/ack",
            json={"by": "ana", "comment": "on it"},
            timeout=15.0,
        )
        assert r.status_code == 200, r.text
        ack = r.json()
        assert (ack["by"], ack["comment"], ack["startsAt"]) == ("ana", "on it", s1["startsAt"])
        assert _alerts(base)["s1"]["ack"] == {k: ack[k] for k in ("by", "comment", "at")}
        resolved_ack = httpx.post(
            f"http://{base}/api/v1/alerts/{_alerts(base, status='all')['s3']['id']}/ack",
            json={"by": "ana"},
            timeout=15.0,
        )
        assert resolved_ack.status_code == 409

        silence_body = {
            "matchers": [{"name": "store_id", "value": "s2"}],
            "duration": "1h",
            "createdBy": "ana",
            "comment": "supplier outage",
        }
        created = httpx.post(f"http://{base}/api/v1/silences", json=silence_body, timeout=15.0)
        assert created.status_code == 201, created.text
        kept = created.json()
        assert kept["state"] == "active"
        assert _alerts(base)["s2"]["silencedBy"] == [kept["id"]]
        assert _alerts(base)["s1"]["silencedBy"] == []

        other = httpx.post(
            f"http://{base}/api/v1/silences",
            json={**silence_body, "matchers": [{"name": "store_id", "value": "s1"}]},
            timeout=15.0,
        ).json()
        assert set(_silences(base)) == {kept["id"], other["id"]}
        deleted = httpx.delete(f"http://{base}/api/v1/silences/{other['id']}", timeout=15.0)
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["state"] == "expired"
        assert set(_silences(base)) == {kept["id"]}
        assert _alerts(base)["s1"]["silencedBy"] == []

        _send(p, settings, _alert("s4", "firing", wall_clock_ms() - MIN))  # a live alert
        p.flush(timeout=20)
        _wait_for("the live alert", lambda: "s4" in _alerts(base), 30)
    p.close(timeout=10)

    with running_api(settings) as base:  # a new app instance: state rebuilt from Kafka
        _wait_ready(base)
        after = _alerts(base)
        assert set(after) == {"s1", "s2", "s4"}
        assert after["s1"]["ack"] == {k: ack[k] for k in ("by", "comment", "at")}
        assert after["s2"]["silencedBy"] == [kept["id"]]
        assert after["s1"]["silencedBy"] == []
        assert set(_silences(base)) == {kept["id"]}
        every = _silences(base, state="all")
        assert every[kept["id"]] == kept
        assert every[other["id"]] == deleted.json()
        again = httpx.post(
            f"http://{base}/api/v1/alerts/{s1['id']}/ack", json={"by": "bob"}, timeout=15.0
        )
        assert again.status_code == 200
        assert again.json() == ack  # the first acknowledgement, remembered
