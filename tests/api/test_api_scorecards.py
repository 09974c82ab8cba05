"""``GET /api/v1/scorecards``: live role scorecards of a store's local day (pinned clock)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.view import KpiView
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot
from tests.api.helpers import MIN, MINUTE

DAY_MS = 86_400_000

#: Today: gross margin 0.24 (scores 80), repeat rate 0.3 (100), CSAT 0.9 (100),
#: resolution 0.45 (50), escalation 0.05 (75); no first-response histogram, no sketches.
TODAY = {
    "orders_paid": 10,
    "gmv_minor": 1_200_000,
    "margin_revenue_minor": 10_000,
    "margin_cost_minor": 7_600,
    "paid_orders_repeat_customer": 3,
    "ratings": 10,
    "ratings_positive": 9,
    "conversations_opened": 20,
    "resolutions": 9,
    "escalations": 1,
}
#: Yesterday: everything terrible; it must not count.
YESTERDAY = {**TODAY, "ratings_positive": 0, "resolutions": 0, "escalations": 20}


def _snap(store: str, start: int, components: dict[str, int]) -> KpiSnapshot:
    return KpiSnapshot(
        store_id=store,
        window_start_ms=start,
        window_end_ms=start + MIN,
        final=True,
        revision=1,
        currency="EUR",
        components=components,
        emitted_at_ms=start + MIN,
    )


def _fill(view: KpiView, store: str = "s1") -> None:
    view.apply(_snap(store, MINUTE, TODAY))
    view.apply(_snap(store, MINUTE - DAY_MS, YESTERDAY))


def _parts(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in card["parts"]}


def test_default_article_weights_and_missing_inputs(client: TestClient, view: KpiView) -> None:
    _fill(view)
    r = client.get("/api/v1/scorecards", params={"store": "s1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["timezone"] == "UTC"
    assert body["day"] == "2024-05-01"
    assert body["minutes"] == 1
    sales, service = body["sales"], body["service"]
    assert sales["weight_set"] == "peak"  # 12:00 UTC, default peak hours 10-14
    parts = _parts(sales)
    assert {n: p["weight"] for n, p in parts.items()} == {
        "gmv_attainment": 0.30,
        "gross_margin": 0.25,
        "new_customer_conversion": 0.20,
        "repeat_purchase_rate": 0.25,
    }
    # No target: GMV is missing; no session sketches: new-customer conversion is missing.
    assert sales["missing"] == ["gmv_attainment", "new_customer_conversion"]
    assert parts["gross_margin"]["value"] == pytest.approx(0.24)
    assert parts["gross_margin"]["score"] == pytest.approx(80.0)
    assert parts["gross_margin"]["effective_weight"] == pytest.approx(0.5)
    assert parts["gmv_attainment"]["effective_weight"] == 0.0
    assert parts["gmv_attainment"]["score"] is None
    assert sales["total"] == pytest.approx(90.0)
    assert service["missing"] == ["first_response_p90_s"]
    sparts = _parts(service)
    assert sparts["csat_share"]["weight"] == 0.40
    assert sparts["resolution_rate"]["score"] == pytest.approx(50.0)
    assert sparts["escalation_rate"]["score"] == pytest.approx(75.0)
    assert service["total"] == pytest.approx((0.4 * 100 + 0.3 * 50 + 0.1 * 75) / 0.8)
    assert any("no daily GMV target" in n for n in body["notes"])
    assert body["agents"] == []  # no agent credited in these snapshots


SCORECARDS = """
defaults:
  timezone: UTC
  peak_hours: ["11:00-13:00"]
  weights:
    sales:
      peak: {gmv_attainment: 0.4, gross_margin: 0.2, new_customer_conversion: 0.2,
             repeat_purchase_rate: 0.2}
stores:
  s2: {timezone: Asia/Tokyo}
"""
TARGETS = """
stores:
  s1: {daily_gmv_target_minor: 2400000, currency: EUR, timezone: UTC, curve: flat}
"""


@pytest.fixture
def configured(tmp_path: Path, view: KpiView) -> FastAPI:
    (tmp_path / "scorecards.yaml").write_text(SCORECARDS)
    (tmp_path / "targets.yaml").write_text(TARGETS)
    settings = Settings(
        topic_namespace="unit.",
        scorecards_file=tmp_path / "scorecards.yaml",
        targets_file=tmp_path / "targets.yaml",
    )
    return create_app(settings, start_feed=False, view=view)


def test_config_file_peak_weights_and_gmv_from_the_pace(configured: FastAPI, view: KpiView) -> None:
    _fill(view)
    with TestClient(configured) as c:
        body = c.get("/api/v1/scorecards", params={"store": "s1"}).json()
    sales = body["sales"]
    assert sales["weight_set"] == "peak"
    parts = _parts(sales)
    assert parts["gmv_attainment"]["weight"] == 0.4
    share = (12 + 30 / 3600) / 24  # flat curve at 12:00:30
    pace_ratio = 0.5 / share  # 1.2M of a 2.4M target
    assert parts["gmv_attainment"]["value"] == pytest.approx(pace_ratio)
    assert parts["gmv_attainment"]["score"] == pytest.approx(100 * pace_ratio)
    assert parts["gmv_attainment"]["effective_weight"] == pytest.approx(0.5)
    assert sales["missing"] == ["new_customer_conversion"]
    assert sales["total"] == pytest.approx((0.4 * 100 * pace_ratio + 0.2 * 80 + 0.2 * 100) / 0.8)
    assert not any("GMV target" in n for n in body["notes"])


def test_store_timezone_picks_off_peak(configured: FastAPI, view: KpiView) -> None:
    _fill(view, "s2")
    with TestClient(configured) as c:
        body = c.get("/api/v1/scorecards", params={"store": "s2"}).json()
    assert body["timezone"] == "Asia/Tokyo"
    assert body["as_of"].startswith("2024-05-01T21:00:30")
    assert body["sales"]["weight_set"] == "off_peak"
    assert _parts(body["sales"])["gmv_attainment"]["weight"] == 0.30  # the article's set
    # Tokyo's day began at 15:00 UTC yesterday: yesterday's 12:00 UTC minute is not in it.
    assert body["minutes"] == 1
    assert _parts(body["service"])["csat_share"]["value"] == pytest.approx(0.9)


def test_all_is_422_and_unknown_is_404(client: TestClient) -> None:
    r = client.get("/api/v1/scorecards", params={"store": "all"})
    assert r.status_code == 422
    assert "per store" in r.json()["detail"]
    r = client.get("/api/v1/scorecards", params={"store": "nope"})
    assert r.status_code == 404


def test_per_agent_service_scorecards_from_agent_components(
    client: TestClient, view: KpiView
) -> None:
    snap = _snap("s1", MINUTE, TODAY)
    agents = {
        "ann": {
            "first_responses": 4,
            "first_response_s_b01": 4,
            "resolutions": 4,
            "escalations": 0,
            "ratings": 2,
            "ratings_positive": 2,
        },
        "bob": {
            "first_responses": 2,
            "first_response_s_b08": 2,
            "resolutions": 1,
            "escalations": 1,
            "ratings": 1,
            "ratings_positive": 0,
        },
    }
    view.apply(dataclasses.replace(snap, agents=agents))
    body = client.get("/api/v1/scorecards", params={"store": "s1"}).json()
    by_agent = {a["agent_id"]: a for a in body["agents"]}
    assert set(by_agent) == {"ann", "bob"}
    assert by_agent["ann"]["kpis"]["resolution_rate"] == 1.0
    assert by_agent["bob"]["kpis"]["escalation_rate"] == 0.5
    assert by_agent["ann"]["scorecard"]["total"] == pytest.approx(100.0)
    assert by_agent["bob"]["scorecard"]["total"] < by_agent["ann"]["scorecard"]["total"]
