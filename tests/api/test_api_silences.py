"""``POST/GET/DELETE /api/v1/silences`` (unit: no Kafka; see ``test_api_alerts``' writer)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from alerts.actions import Silence
from alerts.board import AlertBoard
from api.app import create_app
from api.security import hash_key
from api.view import KpiView
from shoppulse.settings import Settings
from shoppulse.timeutil import format_ts_ms
from tests.api.helpers import MIN, NOW_MS, FakeClock
from tests.api.test_api_alerts import FakeActionWriter, make_alert

HOUR = 60 * MIN


@pytest.fixture
def writer() -> FakeActionWriter:
    return FakeActionWriter()


@pytest.fixture
def board() -> AlertBoard:
    return AlertBoard()


@pytest.fixture
def app(
    api_settings: Settings, view: KpiView, board: AlertBoard, writer: FakeActionWriter
) -> FastAPI:
    return create_app(api_settings, start_feed=False, view=view, alert_board=board, actions=writer)


def body(**over: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "matchers": [{"name": "store_id", "value": "s1", "op": "="}],
        "duration": "2h",
        "createdBy": "ana",
        "comment": "maintenance",
    }
    out.update(over)
    return {k: v for k, v in out.items() if v is not None}


def create(client: TestClient, **over: Any) -> dict[str, Any]:
    r = client.post("/api/v1/silences", json=body(**over))
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def test_create_with_a_duration(client: TestClient, writer: FakeActionWriter) -> None:
    s = create(client)
    assert uuid.UUID(s["id"]).version == 4
    assert s == {
        "id": s["id"],
        "matchers": [{"name": "store_id", "value": "s1", "op": "="}],
        "startsAt": format_ts_ms(NOW_MS),
        "endsAt": format_ts_ms(NOW_MS + 2 * HOUR),
        "createdBy": "ana",
        "comment": "maintenance",
        "updatedAt": format_ts_ms(NOW_MS),
        "state": "active",
    }
    (published,) = writer.published
    assert isinstance(published, Silence)
    assert published.to_record() == {
        **{k: v for k, v in s.items() if k != "state"},
        "type": "silence",
    }
    assert client.get(f"/api/v1/silences/{s['id']}").json() == s
    assert client.get("/api/v1/silences").json() == {"silences": [s]}


def test_create_with_start_and_end(client: TestClient) -> None:
    s = create(
        client,
        duration=None,
        startsAt="2024-05-01T14:00:00+02:00",  # 12:00Z: in the past, so it starts now
        endsAt="2024-05-01T13:00:00Z",
        matchers=[{"name": "alertname", "value": "roas_.*", "op": "=~"}],
    )
    assert (s["startsAt"], s["endsAt"], s["state"]) == (
        format_ts_ms(NOW_MS),
        "2024-05-01T13:00:00.000Z",
        "active",
    )
    later = create(client, startsAt="2024-05-02T00:00:00Z", duration="30m")
    assert (later["startsAt"], later["endsAt"], later["state"]) == (
        "2024-05-02T00:00:00.000Z",
        "2024-05-02T00:30:00.000Z",
        "pending",
    )


def test_default_op_is_equality(client: TestClient) -> None:
    s = create(client, matchers=[{"name": "severity", "value": "info"}])
    assert s["matchers"] == [{"name": "severity", "value": "info", "op": "="}]


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"duration": None}, "give exactly one of endsAt and duration"),
        ({"endsAt": "2024-05-01T13:00:00Z"}, "give exactly one of endsAt and duration"),
        ({"duration": "2 hours"}, "duration: bad duration '2 hours'"),
        ({"duration": "2d"}, "duration: bad duration '2d'"),
        ({"duration": "0m"}, "duration must be longer than 0"),
        ({"duration": "99999999999h"}, "must end before 2100-01-01"),
        ({"duration": None, "endsAt": "tomorrow"}, "endsAt: ts 'tomorrow' is not RFC 3339"),
        ({"duration": None, "endsAt": "2024-05-01T13:00:00"}, "has no UTC offset"),
        ({"duration": None, "endsAt": "2024-05-01T11:00:00Z"}, "must be after the start"),
        (
            {
                "startsAt": "2024-05-01T15:00:00Z",
                "duration": None,
                "endsAt": "2024-05-01T14:00:00Z",
            },
            "must be after the start",
        ),
        ({"startsAt": "soon"}, "startsAt: ts 'soon' is not RFC 3339"),
        ({"startsAt": 1_714_564_830_000}, "valid string"),
        ({"matchers": []}, "at least 1 item"),
        ({"matchers": [{"name": "a", "value": "b"}] * 33}, "at most 32 items"),
        ({"matchers": [{"name": "store_id", "value": "s(", "op": "=~"}]}, "bad regular expression"),
        (
            {"matchers": [{"name": "store_id", "value": "s1", "op": "=="}]},
            "'=', '!=', '=~' or '!~'",
        ),
        ({"matchers": [{"name": "store id", "value": "s1"}]}, "should match pattern"),
        ({"matchers": [{"name": "", "value": "s1"}]}, "at least 1 character"),
        ({"matchers": [{"name": "store_id"}]}, "Field required"),
        ({"matchers": [{"name": "store_id", "value": "s1", "isRegex": True}]}, "Extra inputs"),
        ({"matchers": [{"name": "store_id", "value": ".*", "op": "=~"}]}, "would mute every alert"),
        ({"matchers": [{"name": "team", "value": ""}]}, "would mute every alert"),
        ({"matchers": [{"name": "store_id", "value": "s1", "op": "!="}]}, "would mute every alert"),
        ({"createdBy": None}, "createdBy is required: who does this"),
        ({"createdBy": " "}, "at least 1 character"),
        ({"comment": ""}, "at least 1 character"),
        ({"comment": "x" * 1001}, "at most 1000 characters"),
        ({"created_by": "ana"}, "Extra inputs"),
    ],
)
def test_bad_silences_are_422_with_a_message(
    client: TestClient, writer: FakeActionWriter, over: dict[str, Any], message: str
) -> None:
    r = client.post("/api/v1/silences", json=body(**over))
    assert r.status_code == 422, r.text
    assert message in r.text
    assert writer.published == []


def test_states_and_list_filters(client: TestClient, clock: FakeClock) -> None:
    active = create(client, duration="1h")["id"]
    pending = create(client, startsAt="2024-05-01T13:00:00Z", duration="1h")["id"]
    short = create(client, duration="10m")["id"]
    clock.now_ms = NOW_MS + 30 * MIN  # short has expired

    def ids(**params: str) -> list[str]:
        r = client.get("/api/v1/silences", params=params)
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()["silences"]]

    assert ids() == [pending, active]  # newest start first, not expired
    assert ids(state="active") == [active]
    assert ids(state="pending") == [pending]
    assert ids(state="expired") == [short]
    assert sorted(ids(state="all")) == sorted([active, pending, short])
    r = client.get("/api/v1/silences", params={"state": "gone"})
    assert r.status_code == 422
    assert "'active', 'pending', 'expired' or 'all'" in r.text


def test_unknown_silence_is_404(client: TestClient) -> None:
    r = client.get("/api/v1/silences/nope")
    assert r.status_code == 404
    assert r.json()["detail"] == "unknown silence 'nope'"
    assert client.delete("/api/v1/silences/nope").status_code == 404
    assert client.get(f"/api/v1/silences/{'x' * 65}").status_code == 422


def test_delete_expires_an_active_silence(
    client: TestClient, writer: FakeActionWriter, clock: FakeClock
) -> None:
    s = create(client)
    clock.now_ms = NOW_MS + 5 * MIN
    r = client.delete(f"/api/v1/silences/{s['id']}")
    assert r.status_code == 200, r.text
    expired = r.json()
    assert expired == {
        **s,
        "endsAt": format_ts_ms(NOW_MS + 5 * MIN),
        "updatedAt": format_ts_ms(NOW_MS + 5 * MIN),
        "state": "expired",
    }
    assert len(writer.published) == 2
    assert client.get(f"/api/v1/silences/{s['id']}").json() == expired
    assert client.get("/api/v1/silences").json() == {"silences": []}
    clock.now_ms += MIN
    again = client.delete(f"/api/v1/silences/{s['id']}")
    assert again.status_code == 200
    assert again.json() == expired  # nothing to do
    assert len(writer.published) == 2


def test_delete_expires_a_pending_silence_at_once(client: TestClient) -> None:
    s = create(client, startsAt="2024-05-02T00:00:00Z")
    expired = client.delete(f"/api/v1/silences/{s['id']}").json()
    assert (expired["startsAt"], expired["endsAt"], expired["state"]) == (
        format_ts_ms(NOW_MS),
        format_ts_ms(NOW_MS),
        "expired",
    )


def test_kafka_unavailable_is_503_and_nothing_is_recorded(
    client: TestClient, writer: FakeActionWriter
) -> None:
    s = create(client)
    writer.fail = True
    r = client.post("/api/v1/silences", json=body())
    assert r.status_code == 503
    assert "try again" in r.json()["detail"]
    d = client.delete(f"/api/v1/silences/{s['id']}")
    assert d.status_code == 503
    assert [x["id"] for x in client.get("/api/v1/silences").json()["silences"]] == [s["id"]]


def test_writes_wait_until_the_actions_are_read(
    client: TestClient, writer: FakeActionWriter
) -> None:
    writer.ready = False
    assert client.post("/api/v1/silences", json=body()).status_code == 503
    assert client.delete("/api/v1/silences/any").status_code == 503
    assert client.get("/api/v1/silences").status_code == 200


def test_a_silence_shows_on_the_alerts_it_matches(
    client: TestClient, board: AlertBoard, clock: FakeClock
) -> None:
    board.apply(make_alert("s1"))
    board.apply(make_alert("s2"))
    s = create(client, duration="10m")

    def silenced() -> dict[str, list[str]]:
        alerts = client.get("/api/v1/alerts").json()["alerts"]
        return {a["labels"]["store_id"]: a["silencedBy"] for a in alerts}

    assert silenced() == {"s1": [s["id"]], "s2": []}
    client.delete(f"/api/v1/silences/{s['id']}")
    assert silenced() == {"s1": [], "s2": []}


def test_openapi_documents_the_silence_shape(app: FastAPI) -> None:
    schema = app.openapi()
    body_schema = schema["components"]["schemas"]["SilenceIn"]
    assert set(body_schema["properties"]) == {
        "matchers",
        "startsAt",
        "endsAt",
        "duration",
        "createdBy",
        "comment",
    }
    assert set(body_schema["required"]) == {"matchers", "comment"}  # createdBy: without keys
    out = schema["components"]["schemas"]["SilenceOut"]["properties"]
    assert out["state"]["enum"] == ["pending", "active", "expired"]
    post = schema["paths"]["/api/v1/silences"]["post"]
    assert {"201", "422", "503"} <= set(post["responses"])
    delete = schema["paths"]["/api/v1/silences/{silence_id}"]["delete"]
    assert {"200", "404", "503"} <= set(delete["responses"])


def test_with_keys_a_silence_records_the_presenting_keys_name(
    view: KpiView, board: AlertBoard, writer: FakeActionWriter
) -> None:
    key = "o" * 32
    settings = Settings(topic_namespace="unit.", api_keys=f"ana:operator:{hash_key(key)}")
    app = create_app(settings, start_feed=False, view=view, alert_board=board, actions=writer)
    with TestClient(app) as client:
        headers = {"X-API-Key": key}
        r = client.post("/api/v1/silences", json=body(createdBy="mallory"), headers=headers)
        assert r.status_code == 201, r.text
        assert (r.json()["createdBy"], r.json()["comment"]) == (
            "ana",
            "maintenance (createdBy sent: mallory)",
        )
        r = client.post("/api/v1/silences", json=body(createdBy=None), headers=headers)
        assert r.status_code == 201, r.text
        assert r.json()["createdBy"] == "ana"
    assert [s.created_by for s in writer.published if isinstance(s, Silence)] == ["ana", "ana"]
