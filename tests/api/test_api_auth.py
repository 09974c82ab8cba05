"""API keys and roles on every kind of route (unit: the Kafka edges are in-memory fakes)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from api.auth import RedactKeys
from api.security import ApiKeysError, hash_key
from api.view import KpiView
from shoppulse.settings import Settings
from tests.api.fakes import FakeEventProducer
from tests.api.test_api_alerts import FakeActionWriter

KEYS = {"viewer": "sp_view", "operator": "sp_oper", "ingest": "sp_ingest"}
API_KEYS = ",".join(f"{role}-key:{role}:{hash_key(key)}" for role, key in KEYS.items())
SILENCE = {
    "matchers": [{"name": "store_id", "value": "s1", "op": "="}],
    "duration": "1h",
    "createdBy": "ana",
    "comment": "maintenance",
}
EVENT = {
    "topic": "shop.inventory",
    "event": {
        "event_id": "e1",
        "store_id": "s1",
        "ts": 1_700_000_000_000,
        "sku": "A",
        "on_hand": 1,
    },
}


def _app(view: KpiView, *, kiosk: bool = False) -> FastAPI:
    settings = Settings(topic_namespace="unit.", api_keys=API_KEYS, api_kiosk=kiosk)
    return create_app(
        settings,
        start_feed=False,
        view=view,
        actions=FakeActionWriter(),
        event_producer=FakeEventProducer(),
    )


@pytest.fixture
def secured(view: KpiView) -> Iterator[TestClient]:
    with TestClient(_app(view)) as c:
        yield c


def _auth(role: str | None) -> dict[str, str]:
    return {} if role is None else {"Authorization": f"Bearer {KEYS[role]}"}


@pytest.mark.parametrize(
    ("role", "read", "write", "ingest"),
    [
        (None, 401, 401, 401),
        ("viewer", 200, 403, 403),
        ("operator", 200, 201, 403),
        ("ingest", 403, 403, 202),
    ],
)
def test_each_role_may_do_what_it_is_for(
    secured: TestClient, role: str | None, read: int, write: int, ingest: int
) -> None:
    headers = _auth(role)
    assert secured.get("/api/v1/stores", headers=headers).status_code == read
    assert secured.get("/api/v1/alerts", headers=headers).status_code == read
    assert secured.get("/api/v1/silences", headers=headers).status_code == read
    assert secured.post("/api/v1/silences", json=SILENCE, headers=headers).status_code == write
    assert secured.post("/api/v1/events", json=EVENT, headers=headers).status_code == ingest


def test_denials_say_why_without_echoing_the_key(secured: TestClient) -> None:
    r = secured.get("/api/v1/stores")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["detail"] == "an API key with role viewer is required"
    r = secured.get("/api/v1/stores", headers={"X-API-Key": "sp_wrong"})
    assert (r.status_code, r.json()["detail"]) == (401, "unknown API key")
    r = secured.post("/api/v1/silences", json=SILENCE, headers={"X-API-Key": KEYS["viewer"]})
    assert r.status_code == 403
    assert r.json()["detail"] == "the key 'viewer-key' has role viewer; this needs operator"
    assert KEYS["viewer"] not in r.text


def test_health_page_and_docs_stay_open(secured: TestClient) -> None:
    for path in ("/healthz", "/", "/openapi.json"):
        assert secured.get(path).status_code == 200, path


def test_the_websocket_needs_a_viewer_key(secured: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as info, secured.websocket_connect("/ws/live"):
        pass
    assert info.value.code == 1008
    with secured.websocket_connect(f"/ws/live?key={KEYS['viewer']}") as ws:
        assert ws.receive_json()["type"] == "snapshot"


def test_kiosk_mode_opens_reading_only(view: KpiView) -> None:
    with TestClient(_app(view, kiosk=True)) as c:
        assert c.get("/api/v1/kpis?store=all&window=1m").status_code == 200
        with c.websocket_connect("/ws/live") as ws:
            assert ws.receive_json()["type"] == "snapshot"
        assert c.post("/api/v1/silences", json=SILENCE).status_code == 401
        assert c.post("/api/v1/events", json=EVENT).status_code == 401
        assert (
            c.post("/api/v1/silences", json=SILENCE, headers=_auth("operator")).status_code == 201
        )


def test_malformed_keys_stop_the_app_with_a_message_that_shows_no_digest() -> None:
    with pytest.raises(ApiKeysError, match="entry 1 \\('wall'\\): the key must be given as"):
        create_app(Settings(api_keys="wall:viewer:sp_plaintextkey"), start_feed=False)


def test_keys_in_query_strings_are_redacted_from_access_logs() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/ws/live?store=all&key=sp_secret", "1.1", 101),
        None,
    )
    assert RedactKeys().filter(record)
    assert "sp_secret" not in record.getMessage()
    assert "key=***" in record.getMessage()


def test_cors_allows_only_listed_origins(view: KpiView) -> None:
    settings = Settings(api_cors_origins="https://wall.example")
    with TestClient(create_app(settings, start_feed=False, view=view)) as c:
        ok = c.get("/api/v1/stores", headers={"Origin": "https://wall.example"})
        assert ok.headers["access-control-allow-origin"] == "https://wall.example"
        other = c.get("/api/v1/stores", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
