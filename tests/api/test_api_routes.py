"""REST routes against a view filled directly (the view is pure; no Kafka here)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.view import KpiView
from tests.api.helpers import MIN, MINUTE, make_snap


@pytest.fixture
def filled(view: KpiView) -> KpiView:
    for i in range(3):
        view.apply(make_snap("a", start=MINUTE - i * MIN, final=i > 0, orders_paid=1))
    view.apply(make_snap("b", start=MINUTE, orders_paid=4, currency="EUR"))
    return view


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_readyz_without_feed_is_503_with_reason(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["status"] == "not_ready"
    assert "not running" in r.json()["reason"]


def test_stores(client: TestClient, filled: KpiView) -> None:
    body = client.get("/api/v1/stores").json()
    assert [s["store_id"] for s in body["stores"]] == ["a", "b"]
    a = body["stores"][0]
    assert a["minutes"] == 3
    assert a["currency"] == "EUR"
    assert a["latest_window_start_ms"] == MINUTE
    assert a["latest_final"] is False
    assert body["caught_up"] is False


@pytest.mark.parametrize(("window", "orders"), [("1m", 1), ("5m", 3), ("1h", 3), ("today", 3)])
def test_kpis_windows(client: TestClient, filled: KpiView, window: str, orders: int) -> None:
    r = client.get("/api/v1/kpis", params={"store": "a", "window": window})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["window"] == window
    assert body["components"]["orders_paid"] == orders
    assert body["kpis"]["orders"] == orders
    if window == "1m":
        assert body["kpis"]["sessions"] == 40
        assert body["unavailable_kpis"] == []
    else:
        assert body["kpis"]["sessions"] is None
        assert "payment_conversion" in body["unavailable_kpis"]


def test_kpis_all_stores(client: TestClient, filled: KpiView) -> None:
    body = client.get("/api/v1/kpis", params={"store": "all", "window": "5m"}).json()
    assert body["store_id"] == "all"
    assert body["store_count"] == 2
    assert body["components"]["orders_paid"] == 7


def test_kpis_default_window_is_latest_minute(client: TestClient, filled: KpiView) -> None:
    body = client.get("/api/v1/kpis", params={"store": "b"}).json()
    assert body["window"] == "1m"
    assert body["window_start_ms"] == MINUTE


def test_unknown_store_is_404(client: TestClient, filled: KpiView) -> None:
    r = client.get("/api/v1/kpis", params={"store": "nope"})
    assert r.status_code == 404
    assert "unknown store 'nope'" in r.json()["detail"]
    assert client.get("/api/v1/kpis/history", params={"store": "nope"}).status_code == 404


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/kpis", {"store": "a", "window": "2m"}),
        ("/api/v1/kpis", {"window": "5m"}),
        ("/api/v1/kpis", {"store": ""}),
        ("/api/v1/kpis", {"store": "x" * 300}),
        ("/api/v1/kpis/history", {"store": "a", "minutes": "0"}),
        ("/api/v1/kpis/history", {"store": "a", "minutes": "abc"}),
        ("/api/v1/kpis/history", {"store": "a", "minutes": "999999"}),
        ("/api/v1/kpis/history", {"store": "a", "minutes": "5", "from": "0"}),
        ("/api/v1/kpis/history", {"store": "a", "from": "yesterday"}),
        ("/api/v1/kpis/history", {"store": "a", "to": "2024-05-01T12:00:00Z"}),
        ("/api/v1/kpis/history", {"store": "a", "from": "2024-05-01T12:00:00"}),
        ("/api/v1/kpis/history", {"store": "a", "from": "99999999999999999999"}),
        (
            "/api/v1/kpis/history",
            {"store": "a", "from": "2024-05-01T12:00:00Z", "to": "2024-05-01T11:00:00Z"},
        ),
    ],
)
def test_bad_input_is_4xx_with_message(
    client: TestClient, filled: KpiView, path: str, params: dict[str, str]
) -> None:
    r = client.get(path, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def test_history_by_minutes(client: TestClient, filled: KpiView) -> None:
    body = client.get("/api/v1/kpis/history", params={"store": "a", "minutes": 2}).json()
    assert [p["window_start_ms"] for p in body["points"]] == [MINUTE - MIN, MINUTE]
    assert body["points"][0]["final"] is True
    assert body["points"][0]["kpis"]["sessions"] == 40


def test_history_by_range_and_all(client: TestClient, filled: KpiView) -> None:
    params = {"store": "all", "from": str(MINUTE - 2 * MIN), "to": str(MINUTE + MIN)}
    body = client.get("/api/v1/kpis/history", params=params).json()
    assert [p["components"]["orders_paid"] for p in body["points"]] == [1, 1, 5]
    iso = client.get(
        "/api/v1/kpis/history",
        params={"store": "a", "from": "2024-05-01T11:58:00+00:00"},
    ).json()
    assert len(iso["points"]) == 3


def test_index_page_is_self_contained(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "/ws/live" in r.text
    assert "http://" not in r.text  # no CDN
    assert "https://" not in r.text


def test_openapi_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/stores", "/api/v1/kpis", "/api/v1/kpis/history", "/readyz"} <= set(paths)


@pytest.mark.parametrize("window", ["1m", "5m", "1h", "today"])
@pytest.mark.parametrize("store", ["a", "all"])
def test_every_registered_kpi_is_in_every_window(
    client: TestClient, filled: KpiView, window: str, store: str
) -> None:
    from shoppulse.kpis import REGISTRY

    body = client.get("/api/v1/kpis", params={"store": store, "window": window}).json()
    assert set(body["kpis"]) == {k.name for k in REGISTRY}
    assert set(body["comparisons"]["yesterday"]) == {k.name for k in REGISTRY}
