"""``GET /api/v1/targets``: GMV of the store's local day against its target (pinned clock)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.view import KpiView
from shoppulse.settings import Settings
from tests.api.helpers import MIN, MINUTE, NOW_MS, make_snap

TARGETS = """
defaults: {currency: EUR, curve: flat}
stores:
  tokyo: {daily_gmv_target_minor: 1000000, currency: JPY, timezone: Asia/Tokyo}
  nyc: {daily_gmv_target_minor: 240000, currency: USD, timezone: America/New_York}
  quiet: {daily_gmv_target_minor: 500000, timezone: Europe/Berlin}
"""


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    path = tmp_path / "targets.yaml"
    path.write_text(TARGETS)
    return Settings(topic_namespace="unit.", targets_file=path)


def test_target_counts_the_store_local_day_in_another_timezone(
    client: TestClient, view: KpiView
) -> None:
    assert _ms("2024-05-01T12:00:30+00:00") == NOW_MS  # 21:00:30 in Tokyo
    tokyo_midnight = _ms("2024-05-01T00:00:00+09:00")
    view.apply(make_snap("tokyo", start=tokyo_midnight - MIN, currency="JPY", gmv_minor=99_999))
    view.apply(make_snap("tokyo", start=tokyo_midnight, currency="JPY", gmv_minor=400_000))
    view.apply(make_snap("tokyo", start=MINUTE, currency="JPY", gmv_minor=200_000))
    r = client.get("/api/v1/targets", params={"store": "tokyo"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["day"] == "2024-05-01"
    assert body["timezone"] == "Asia/Tokyo"
    assert body["as_of"] == "2024-05-01T21:00:30+09:00"
    assert body["day_start_ms"] == tokyo_midnight
    assert body["day_end_ms"] == tokyo_midnight + 86_400_000
    assert body["currency"] == "JPY"
    assert body["target_minor"] == 1_000_000
    assert body["gmv_today_minor"] == 600_000  # the minute before local midnight is not today
    assert body["minutes"] == 2
    assert body["attainment"] == pytest.approx(0.6)
    share = (21 + 30 / 3600) / 24  # flat curve
    assert body["expected_share"] == pytest.approx(share)
    assert body["expected_minor"] == round(1_000_000 * share)
    assert body["projected_minor"] == round(600_000 / share)
    assert body["projected_ratio"] == pytest.approx(0.6 / share)
    assert body["status"] == "behind"
    assert "60% of the 1,000,000 JPY target at 21:00" in body["summary"]


def test_target_day_west_of_utc_excludes_earlier_minutes_of_the_utc_day(
    client: TestClient, view: KpiView
) -> None:
    nyc_midnight = _ms("2024-05-01T00:00:00-04:00")  # 04:00 UTC
    view.apply(make_snap("nyc", start=nyc_midnight - MIN, currency="USD", gmv_minor=7_000))
    view.apply(make_snap("nyc", start=MINUTE, currency="USD", gmv_minor=80_000))
    body = client.get("/api/v1/targets", params={"store": "nyc"}).json()
    assert body["day"] == "2024-05-01"
    assert body["as_of"] == "2024-05-01T08:00:30-04:00"
    assert body["gmv_today_minor"] == 80_000  # the 03:59 UTC minute was April 30 in New York
    assert body["status"] == "on_track"  # 80k of 240k at 08:00 with a flat curve (1/3)


def test_configured_store_without_minutes_has_zero_gmv(client: TestClient) -> None:
    body = client.get("/api/v1/targets", params={"store": "quiet"}).json()
    assert body["gmv_today_minor"] == 0
    assert body["minutes"] == 0
    assert body["status"] == "behind"


def test_store_without_target_is_404(client: TestClient, view: KpiView) -> None:
    view.apply(make_snap("untargeted"))
    r = client.get("/api/v1/targets", params={"store": "untargeted"})
    assert r.status_code == 404
    assert "no daily GMV target is configured for store 'untargeted'" in r.json()["detail"]


def test_unknown_store_is_404(client: TestClient) -> None:
    r = client.get("/api/v1/targets", params={"store": "nope"})
    assert r.status_code == 404
    assert "unknown store 'nope'" in r.json()["detail"]


def test_all_stores_is_422(client: TestClient) -> None:
    r = client.get("/api/v1/targets", params={"store": "all"})
    assert r.status_code == 422
    assert "per store" in r.json()["detail"]


def test_currency_other_than_the_target_is_409(client: TestClient, view: KpiView) -> None:
    view.apply(make_snap("tokyo", currency="EUR"))
    r = client.get("/api/v1/targets", params={"store": "tokyo"})
    assert r.status_code == 409
    assert "EUR" in r.json()["detail"]
    assert "JPY" in r.json()["detail"]


def test_no_targets_file_means_no_targets(view: KpiView) -> None:
    from api.app import create_app

    view.apply(make_snap("tokyo"))
    app = create_app(Settings(topic_namespace="unit."), start_feed=False, view=view)
    with TestClient(app) as c:
        assert c.get("/api/v1/targets", params={"store": "tokyo"}).status_code == 404


def test_yesterday_is_the_same_stretch_of_the_local_day_not_the_utc_day(
    client: TestClient, view: KpiView
) -> None:
    """The wall page compares the target's GMV (local day) with ``gmv_yesterday_minor``:
    New York yesterday from local midnight (04:00 UTC) to 08:01 local, not the UTC day."""
    day = 86_400_000
    nyc_midnight = _ms("2024-05-01T00:00:00-04:00")
    for start, gmv in (
        (nyc_midnight - day - MIN, 1_000),  # April 29 in New York, April 30 in UTC
        (nyc_midnight - day, 20_000),  # local midnight yesterday: in
        (MINUTE - day, 300_000),  # this minute yesterday: in
        (MINUTE - day + MIN, 4_000_000),  # after this minute, yesterday: out
    ):
        view.apply(make_snap("nyc", start=start, currency="USD", final=True, gmv_minor=gmv))
    view.apply(make_snap("nyc", start=MINUTE, currency="USD", gmv_minor=80_000))
    body = client.get("/api/v1/targets", params={"store": "nyc"}).json()
    assert body["gmv_yesterday_minor"] == 320_000
    window = body["yesterday_window"]
    assert (window["window_start_ms"], window["window_end_ms"]) == (
        nyc_midnight - day,
        MINUTE + MIN - day,
    )
    assert (window["shift_days"], window["minutes"]) == (1, 2)
    utc = client.get("/api/v1/kpis", params={"store": "nyc", "window": "today"}).json()
    assert utc["comparisons"]["yesterday"]["gmv_minor"] == 321_000  # what the page used


def test_yesterday_not_held_is_null_with_a_note(client: TestClient, view: KpiView) -> None:
    view.apply(make_snap("nyc", start=MINUTE, currency="USD", gmv_minor=80_000))
    body = client.get("/api/v1/targets", params={"store": "nyc"}).json()
    assert body["gmv_yesterday_minor"] is None
    assert "no minutes of store 'nyc' held" in body["yesterday_window"]["notes"][0]
