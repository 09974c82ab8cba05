"""``GET /api/v1/alerts`` and ``POST /api/v1/alerts/{id}/ack`` (unit: no Kafka).

The board is pure and filled directly. Acknowledgements go to :class:`FakeActionWriter`,
an in-memory stand-in for :class:`alerts.action_log.ActionLog` (its Kafka side is tested
against the real broker in ``tests/alerts/test_action_log.py`` and
``tests/api/test_alerts_integration.py``); here only the routes' logic is under test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from alerts.action_log import ActionLogUnavailableError
from alerts.actions import Ack, ActionBook, Matcher, Silence
from alerts.board import AlertBoard
from api.alerts_feed import AlertsFeed
from api.app import create_app
from api.security import hash_key
from api.view import KpiView
from shoppulse.settings import Settings
from shoppulse.timeutil import format_ts_ms
from tests.alerts.alert_records import roas_alert
from tests.api.helpers import MIN, NOW_MS, FakeClock


@dataclass
class FakeActionWriter:
    """Records actions in memory; ``fail`` makes it behave like an unreachable Kafka."""

    book: ActionBook = field(default_factory=ActionBook)
    ready: bool = True
    reason: str = "caught up"
    fail: bool = False
    published: list[Silence | Ack] = field(default_factory=list)

    async def publish(self, action: Silence | Ack) -> None:
        if self.fail:
            raise ActionLogUnavailableError("Kafka did not take it (test); try again")
        self.published.append(action)
        self.book.add(action)


def make_alert(
    store: str = "s1",
    name: str = "roas_low",
    *,
    status: str = "firing",
    start: int = NOW_MS - 10 * MIN,
    end: int | None = None,
    value: float = 3.1,
) -> dict[str, Any]:
    return roas_alert(store, status, start=start, end=end, name=name, value=value)


@pytest.fixture
def board() -> AlertBoard:
    return AlertBoard()


@pytest.fixture
def writer() -> FakeActionWriter:
    return FakeActionWriter()


@pytest.fixture
def app(
    api_settings: Settings, view: KpiView, board: AlertBoard, writer: FakeActionWriter
) -> FastAPI:
    return create_app(api_settings, start_feed=False, view=view, alert_board=board, actions=writer)


@pytest.fixture
def filled(board: AlertBoard) -> AlertBoard:
    board.apply(make_alert("s1", start=NOW_MS - 10 * MIN))
    board.apply(make_alert("s2", start=NOW_MS - 5 * MIN, value=2.0))
    board.apply(make_alert("s1", "gmv_dip", start=NOW_MS - 3 * MIN))
    board.apply(make_alert("s3", status="resolved", start=NOW_MS - 60 * MIN, end=NOW_MS - 30 * MIN))
    return board


def fp(store: str = "s1", name: str = "roas_low") -> str:
    fingerprint: str = make_alert(store, name)["fingerprint"]
    return fingerprint


def test_no_alerts(client: TestClient) -> None:
    body = client.get("/api/v1/alerts").json()
    assert body == {"alerts": [], "caughtUp": False}  # no Kafka feed in this app


def test_firing_alerts_newest_first_with_every_field(
    client: TestClient, filled: AlertBoard
) -> None:
    r = client.get("/api/v1/alerts")
    assert r.status_code == 200, r.text
    alerts = r.json()["alerts"]
    assert [(a["labels"]["store_id"], a["labels"]["alertname"]) for a in alerts] == [
        ("s1", "gmv_dip"),
        ("s2", "roas_low"),
        ("s1", "roas_low"),
    ]
    last = alerts[-1]
    assert last == {
        "id": fp(),
        "labels": {"alertname": "roas_low", "store_id": "s1", "kpi": "roas", "severity": "warning"},
        "annotations": {
            "summary": "ROAS below 4",
            "description": "s1: ROAS 3.1",
            "source": "detector",
        },
        "status": "firing",
        "startsAt": format_ts_ms(NOW_MS - 10 * MIN),
        "endsAt": None,
        "value": 3.1,
        "expected": 4.0,
        "ack": None,
        "silencedBy": [],
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "resolved"}, [("s3", "resolved")]),
        ({"status": "all", "store": "s1"}, [("s1", "firing"), ("s1", "firing")]),
        ({"status": "all", "store": "s3"}, [("s3", "resolved")]),
        ({"store": "s3"}, []),
        ({"store": "nope", "status": "all"}, []),
        (
            {"status": "all"},
            [("s1", "firing"), ("s2", "firing"), ("s1", "firing"), ("s3", "resolved")],
        ),
    ],
)
def test_filters(
    client: TestClient, filled: AlertBoard, params: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    r = client.get("/api/v1/alerts", params=params)
    assert r.status_code == 200, r.text
    assert [(a["labels"]["store_id"], a["status"]) for a in r.json()["alerts"]] == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "pending"}, "firing"),
        ({"store": ""}, "at least 1 character"),
        ({"store": "x" * 257}, "at most 256 characters"),
    ],
)
def test_bad_filters_are_422(client: TestClient, params: dict[str, str], message: str) -> None:
    r = client.get("/api/v1/alerts", params=params)
    assert r.status_code == 422
    assert message in r.text


def test_ack_is_recorded_shown_and_idempotent(
    client: TestClient, filled: AlertBoard, writer: FakeActionWriter, clock: FakeClock
) -> None:
    r = client.post(f"/api/v1/alerts/{fp()}/ack", json={"by": "ana", "comment": "on it"})
    assert r.status_code == 200, r.text
    first = {
        "alertId": fp(),
        "startsAt": format_ts_ms(NOW_MS - 10 * MIN),
        "by": "ana",
        "comment": "on it",
        "at": format_ts_ms(NOW_MS),
    }
    assert r.json() == first
    assert writer.published == [Ack(fp(), first["startsAt"], "ana", "on it", NOW_MS)]

    clock.now_ms += MIN
    again = client.post(f"/api/v1/alerts/{fp()}/ack", json={"by": "bob"})
    assert again.status_code == 200
    assert again.json() == first  # the first acknowledgement stands
    assert len(writer.published) == 1

    alerts = {a["id"]: a for a in client.get("/api/v1/alerts").json()["alerts"]}
    assert alerts[fp()]["ack"] == {"by": "ana", "comment": "on it", "at": format_ts_ms(NOW_MS)}
    assert alerts[fp("s2")]["ack"] is None


def test_ack_belongs_to_one_occurrence(
    client: TestClient, board: AlertBoard, writer: FakeActionWriter
) -> None:
    board.apply(make_alert(start=NOW_MS - 10 * MIN))
    assert client.post(f"/api/v1/alerts/{fp()}/ack", json={"by": "ana"}).status_code == 200
    board.apply(make_alert(status="resolved", start=NOW_MS - 10 * MIN, end=NOW_MS - 5 * MIN))
    board.apply(make_alert(start=NOW_MS - 2 * MIN))  # fires again
    (a,) = client.get("/api/v1/alerts").json()["alerts"]
    assert a["startsAt"] == format_ts_ms(NOW_MS - 2 * MIN)
    assert a["ack"] is None
    r = client.post(f"/api/v1/alerts/{fp()}/ack", json={"by": "bob", "comment": "again"})
    assert r.json()["by"] == "bob"
    assert len(writer.published) == 2


def test_ack_of_an_unknown_alert_is_404(client: TestClient, filled: AlertBoard) -> None:
    r = client.post("/api/v1/alerts/deadbeef/ack", json={"by": "ana"})
    assert r.status_code == 404
    assert "unknown alert 'deadbeef'" in r.json()["detail"]


def test_ack_of_a_resolved_alert_is_409(
    client: TestClient, filled: AlertBoard, writer: FakeActionWriter
) -> None:
    r = client.post(f"/api/v1/alerts/{fp('s3')}/ack", json={"by": "ana"})
    assert r.status_code == 409
    assert "resolved at" in r.json()["detail"]
    assert writer.published == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "by is required: who does this (the API has no keys to tell)"),
        ({"by": ""}, "at least 1 character"),
        ({"by": "   "}, "at least 1 character"),
        ({"by": "x" * 201}, "at most 200 characters"),
        ({"by": "ana", "comment": "x" * 1001}, "at most 1000 characters"),
        ({"by": "ana", "note": "x"}, "Extra inputs are not permitted"),
        ({"by": 7}, "valid string"),
        (["ana"], "valid dictionary"),
    ],
)
def test_bad_ack_bodies_are_422(
    client: TestClient, filled: AlertBoard, writer: FakeActionWriter, body: object, message: str
) -> None:
    r = client.post(f"/api/v1/alerts/{fp()}/ack", json=body)
    assert r.status_code == 422
    assert message in r.text
    assert writer.published == []


def test_ack_body_that_is_not_json_is_422(client: TestClient, filled: AlertBoard) -> None:
    r = client.post(
        f"/api/v1/alerts/{fp()}/ack", content=b"{by", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422


def test_ack_when_kafka_is_unavailable_is_503(
    client: TestClient, filled: AlertBoard, writer: FakeActionWriter
) -> None:
    writer.fail = True
    r = client.post(f"/api/v1/alerts/{fp()}/ack", json={"by": "ana"})
    assert r.status_code == 503
    assert "try again" in r.json()["detail"]
    assert r.headers["retry-after"] == "5"
    assert writer.book.ack_for(fp(), format_ts_ms(NOW_MS - 10 * MIN)) is None
    writer.fail = False
    assert client.post(f"/api/v1/alerts/{fp()}/ack", json={"by": "ana"}).status_code == 200


def test_ack_while_actions_are_still_being_read_is_503(
    client: TestClient, filled: AlertBoard, writer: FakeActionWriter
) -> None:
    writer.ready, writer.reason = False, "catching up with t.shoppulse.alert-actions"
    r = client.post(f"/api/v1/alerts/{fp()}/ack", json={"by": "ana"})
    assert r.status_code == 503
    assert "still reading" in r.json()["detail"]
    assert "catching up" in r.json()["detail"]


def test_without_a_writer_reads_work_and_writes_are_503(
    api_settings: Settings, view: KpiView
) -> None:
    board = AlertBoard()
    board.apply(make_alert())
    app = create_app(api_settings, start_feed=False, view=view, alert_board=board)
    with TestClient(app) as client:
        assert [a["id"] for a in client.get("/api/v1/alerts").json()["alerts"]] == [fp()]
        r = client.post(f"/api/v1/alerts/{fp()}/ack", json={"by": "ana"})
        assert r.status_code == 503
        assert "not recorded by this API process" in r.json()["detail"]


def test_silenced_by_lists_the_active_matching_silences(
    client: TestClient, filled: AlertBoard, writer: FakeActionWriter, clock: FakeClock
) -> None:
    def silence(sid: str, value: str, start: int, end: int) -> Silence:
        matcher = Matcher("store_id", value, "=~")
        return Silence(sid, (matcher,), start, end, "ana", "test", start)

    writer.book.add(silence("on-s1", "s1", NOW_MS - MIN, NOW_MS + 60 * MIN))
    writer.book.add(silence("later", "s1", NOW_MS + MIN, NOW_MS + 60 * MIN))
    writer.book.add(silence("over", "s1", NOW_MS - 60 * MIN, NOW_MS - MIN))
    writer.book.add(silence("s2-too", "s[12]", NOW_MS - MIN, NOW_MS + MIN))
    by_store: dict[str, set[str]] = {}
    for a in client.get("/api/v1/alerts", params={"status": "all"}).json()["alerts"]:
        by_store.setdefault(a["labels"]["store_id"], set()).update(a["silencedBy"])
    assert by_store == {"s1": {"on-s1", "s2-too"}, "s2": {"s2-too"}, "s3": set()}
    clock.now_ms = NOW_MS + 2 * MIN
    s2 = client.get("/api/v1/alerts", params={"store": "s2"}).json()["alerts"][0]
    assert s2["silencedBy"] == []
    s1 = client.get("/api/v1/alerts", params={"store": "s1"}).json()["alerts"][0]
    assert sorted(s1["silencedBy"]) == ["later", "on-s1"]


def test_openapi_documents_the_alert_shape(app: FastAPI) -> None:
    schema = app.openapi()
    alert_out = schema["components"]["schemas"]["AlertOut"]
    assert set(alert_out["properties"]) == {
        "id",
        "labels",
        "annotations",
        "status",
        "startsAt",
        "endsAt",
        "value",
        "expected",
        "ack",
        "silencedBy",
    }
    assert alert_out["properties"]["status"]["enum"] == ["firing", "resolved"]
    ack = schema["paths"]["/api/v1/alerts/{alert_id}/ack"]["post"]
    assert {"200", "404", "409", "422", "503"} <= set(ack["responses"])
    params = {p["name"]: p for p in schema["paths"]["/api/v1/alerts"]["get"]["parameters"]}
    assert params["status"]["schema"]["enum"] == ["firing", "resolved", "all"]


def test_alerts_feed_decodes_applies_skips_and_prunes(api_settings: Settings) -> None:
    """The feed's record path without Kafka: ``handle`` is what the consumer calls."""
    clock = FakeClock()
    board = AlertBoard()
    feed = AlertsFeed(api_settings, board, clock=clock)
    assert feed.handle(orjson.dumps(make_alert("s1")))
    assert not feed.handle(orjson.dumps(make_alert("s1")))  # a duplicate
    for raw in (None, b"{", b"[]", orjson.dumps({**make_alert("s2"), "status": "x"})):
        assert not feed.handle(raw)
    ended = make_alert("s3", status="resolved", start=NOW_MS - 3 * MIN, end=NOW_MS - 2 * MIN)
    assert feed.handle(orjson.dumps(ended), "t[0]@7")
    assert feed.status() == {
        "caught_up": False,
        "reason": "not started",
        "topic": "unit.shoppulse.alerts",
        "records": 7,
        "applied": 2,
        "bad_records": 4,
        "connect_failures": 0,
    }
    clock.now_ms = NOW_MS + 25 * 60 * MIN  # a day after s3 ended: the next record prunes it
    assert feed.handle(orjson.dumps(make_alert("s4", start=clock.now_ms)))
    assert {a.store_id for a in board.alerts(clock.now_ms, status="all")} == {"s1", "s4"}
    assert len(board) == 2


def test_readiness_waits_for_the_alert_and_action_feeds(api_settings: Settings) -> None:
    app = create_app(api_settings)  # feeds created, not started (no lifespan here)
    r = TestClient(app).get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["reason"] == "kpis: not started; alerts: not started; alert_actions: not started"
    assert set(body["feeds"]) == {"kpis", "alerts", "alert_actions"}
    assert body["feeds"]["alert_actions"]["topic"] == "unit.shoppulse.alert-actions"


OPERATOR_KEY = "o" * 32


@pytest.mark.parametrize(
    ("body", "by", "comment"),
    [
        ({}, "ana", ""),
        ({"by": "ana", "comment": "on it"}, "ana", "on it"),
        ({"by": "mallory", "comment": "on it"}, "ana", "on it (by sent: mallory)"),
        ({"by": "mallory"}, "ana", "(by sent: mallory)"),
    ],
)
def test_with_keys_the_ack_records_the_presenting_keys_name(
    view: KpiView,
    board: AlertBoard,
    writer: FakeActionWriter,
    filled: AlertBoard,
    body: dict[str, str],
    by: str,
    comment: str,
) -> None:
    settings = Settings(topic_namespace="unit.", api_keys=f"ana:operator:{hash_key(OPERATOR_KEY)}")
    app = create_app(settings, start_feed=False, view=view, alert_board=board, actions=writer)
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {OPERATOR_KEY}"}
        r = client.post(f"/api/v1/alerts/{fp()}/ack", json=body, headers=headers)
        assert r.status_code == 200, r.text
        assert (r.json()["by"], r.json()["comment"]) == (by, comment)
        assert [(a.by, a.comment) for a in writer.published if isinstance(a, Ack)] == [
            (by, comment)
        ]
        alerts = {
            a["id"]: a for a in client.get("/api/v1/alerts", headers=headers).json()["alerts"]
        }
        assert alerts[fp()]["ack"]["by"] == "ana"
