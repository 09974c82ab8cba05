"""API keys and roles on every kind of route (unit: the Kafka edges are in-memory fakes)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from alerts.board import AlertBoard
from api.app import create_app
from api.auth import RedactKeys
from api.connectors.shopify import sign
from api.security import ApiKeysError, hash_key
from api.view import KpiView
from shoppulse.settings import Settings
from tests.api.fakes import FakeEventProducer
from tests.api.helpers import MINUTE, make_snap
from tests.api.test_api_alerts import FakeActionWriter, make_alert

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
SEGMENT = {
    "type": "track",
    "event": "Product Viewed",
    "messageId": "m1",
    "anonymousId": "a1",
    "timestamp": "2023-11-14T22:13:20Z",
    "properties": {"sku": "A"},
}
#: Shopify webhooks carry no API key: their signature is the access control (open to keys).
SHOPIFY_SECRET = "shopify_app_secret"
SHOPIFY_BODY = (
    b'{"id": 1, "currency": "EUR", "total_price": "9.90", "created_at": "2023-11-14T22:13:20Z"}'
)
SHOPIFY_HEADERS = {
    "Content-Type": "application/json",
    "X-Shopify-Topic": "orders/create",
    "X-Shopify-Hmac-Sha256": sign(SHOPIFY_SECRET.encode(), SHOPIFY_BODY),
}


def _app(
    view: KpiView,
    *,
    kiosk: bool = False,
    alert_board: AlertBoard | None = None,
    targets_file: Path | None = None,
) -> FastAPI:
    settings = Settings(
        topic_namespace="unit.",
        api_keys=API_KEYS,
        api_kiosk=kiosk,
        targets_file=targets_file,
        shopify_webhook_secret=SHOPIFY_SECRET,
    )
    return create_app(
        settings,
        start_feed=False,
        view=view,
        alert_board=alert_board,
        actions=FakeActionWriter(),
        event_producer=FakeEventProducer(),
    )


@pytest.fixture
def secured(view: KpiView) -> Iterator[TestClient]:
    with TestClient(_app(view)) as c:
        yield c


def _auth(role: str | None) -> dict[str, str]:
    return {} if role is None else {"Authorization": f"Bearer {KEYS[role]}"}


#: Who may call each route: a required role, or None for an open route.
Need = Literal["viewer", "operator", "ingest"] | None
#: What each role's key may do (written out here, not taken from api.security).
MAY: dict[str, set[str]] = {
    "viewer": {"viewer"},
    "operator": {"viewer", "operator"},
    "ingest": {"ingest"},
}
#: The callers of the matrix: no key, an unknown key, and a key of each role.
CALLERS = (None, "wrong", "viewer", "operator", "ingest")


@dataclass(frozen=True)
class Route:
    """One row of the matrix: ``path`` as in the OpenAPI schema (``{alert_id}`` and
    ``{silence_id}`` are filled in), the query to send, the role needed and the success."""

    method: str
    path: str
    need: Need
    ok: int = 200
    query: str = ""
    json: dict[str, Any] | None = None
    content: bytes | None = None
    headers: dict[str, str] | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


#: Every route; adding a route is adding a line. ``WS`` is the websocket (not in OpenAPI).
ROUTES = (
    Route("GET", "/api/v1/stores", "viewer"),
    Route("GET", "/api/v1/kpis", "viewer", query="?store=all&window=1m"),
    Route("GET", "/api/v1/kpis/history", "viewer", query="?store=s1&minutes=5"),
    Route("GET", "/api/v1/targets", "viewer", query="?store=s1"),
    Route("GET", "/api/v1/scorecards", "viewer", query="?store=s1"),
    Route("GET", "/api/v1/alerts", "viewer", query="?status=all"),
    Route("POST", "/api/v1/alerts/{alert_id}/ack", "operator", json={"by": "ana"}),
    Route("GET", "/api/v1/silences", "viewer"),
    Route("POST", "/api/v1/silences", "operator", ok=201, json=SILENCE),
    Route("GET", "/api/v1/silences/{silence_id}", "viewer"),
    Route("DELETE", "/api/v1/silences/{silence_id}", "operator"),
    Route("POST", "/api/v1/events", "ingest", ok=202, json=EVENT),
    Route("POST", "/api/v1/connectors/segment/{store_id}", "ingest", ok=202, json=SEGMENT),
    Route(
        "POST",
        "/api/v1/connectors/shopify/{store_id}",
        None,
        ok=202,
        content=SHOPIFY_BODY,
        headers=SHOPIFY_HEADERS,
    ),
    Route("GET", "/metrics", "viewer"),  # with keys set, /metrics needs a viewer key too
    Route("GET", "/healthz", None),
    Route("GET", "/readyz", None, ok=503),  # open; 503 until the Kafka feeds caught up
    Route("GET", "/", None),
    Route("GET", "/openapi.json", None),
    Route("WS", "/ws/live", "viewer", query="?store=all"),
)


def expected_status(route: Route, caller: str | None) -> int:
    """The answer ``caller`` gets from ``route``.

    >>> expected_status(ROUTES[0], "ingest"), expected_status(ROUTES[0], "wrong")
    (403, 401)
    """
    if route.need is None:
        return route.ok
    if caller is None or caller == "wrong":
        return 401
    return route.ok if route.need in MAY[caller] else 403


def _key(caller: str | None) -> str | None:
    return None if caller is None else KEYS.get(caller, "sp_wrong")


@pytest.fixture
def matrix_client(view: KpiView, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A keyed app with a store's minute and target, a firing alert and a silence, and the
    ids that fill the paths."""
    view.apply(make_snap("s1", MINUTE, orders=3))
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        "stores:\n  s1: {daily_gmv_target_minor: 100000, currency: EUR, timezone: UTC}\n"
    )
    board = AlertBoard()
    alert = make_alert("s1")
    board.apply(alert)
    app = _app(view, alert_board=board, targets_file=targets)
    with TestClient(app) as c:
        made = c.post("/api/v1/silences", json=SILENCE, headers=_auth("operator"))
        assert made.status_code == 201, made.text
        yield (
            c,
            {
                "alert_id": alert["fingerprint"],
                "silence_id": made.json()["id"],
                "store_id": "s1",
            },
        )


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: f"as {c or 'no key'}")
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_every_route_for_every_caller(
    matrix_client: tuple[TestClient, dict[str, str]], route: Route, caller: str | None
) -> None:
    client, ids = matrix_client
    url = route.path.format(**ids) + route.query
    expected = expected_status(route, caller)
    key = _key(caller)
    if route.method == "WS":
        _check_websocket(client, url, key, expected)
        return
    headers = dict(route.headers or {})
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    if route.content is not None:
        r = client.request(route.method, url, content=route.content, headers=headers)
    else:
        r = client.request(route.method, url, json=route.json, headers=headers)
    assert r.status_code == expected, r.text
    if expected == 401:
        assert r.headers["www-authenticate"] == "Bearer"
    if key is not None:
        assert key not in r.text


def _check_websocket(client: TestClient, url: str, key: str | None, expected: int) -> None:
    """A browser's websocket: the key as the ``key`` query parameter; refused with 1008."""
    if key is not None:
        url += f"&key={key}"
    if expected == 200:
        with client.websocket_connect(url) as ws:
            assert ws.receive_json()["type"] == "snapshot"
        return
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect(url) as ws:
        ws.receive_json()
    assert info.value.code == 1008


def test_the_matrix_has_every_route_of_the_schema(secured: TestClient) -> None:
    schema = secured.get("/openapi.json").json()
    in_schema = {f"{m.upper()} {p}" for p, ops in schema["paths"].items() for m in ops}
    assert in_schema - {r.id for r in ROUTES} == set(), "add these routes to ROUTES"


def test_the_websocket_also_takes_the_key_in_a_header(secured: TestClient) -> None:
    headers = {"X-API-Key": KEYS["operator"]}
    with secured.websocket_connect("/ws/live", headers=headers) as ws:
        assert ws.receive_json()["type"] == "snapshot"
    headers = {"Authorization": f"Bearer {KEYS['ingest']}"}
    with (
        pytest.raises(WebSocketDisconnect) as info,
        secured.websocket_connect("/ws/live", headers=headers) as ws,
    ):
        ws.receive_json()
    assert info.value.code == 1008


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
