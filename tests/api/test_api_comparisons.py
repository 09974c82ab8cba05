"""``GET /api/v1/kpis`` comparisons: the same window yesterday and last week (pinned clock)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from api.view import KpiView
from shoppulse.settings import Settings
from tests.api.helpers import MIN, MINUTE, FakeClock, make_snap

DAY_MS = 86_400_000


def test_yesterday_and_last_week_values(client: TestClient, view: KpiView) -> None:
    for i in range(3):
        view.apply(make_snap(start=MINUTE - i * MIN, orders_paid=1, gmv_minor=100))
        view.apply(make_snap(start=MINUTE - DAY_MS - i * MIN, orders_paid=2, gmv_minor=300))
        view.apply(make_snap(start=MINUTE - 7 * DAY_MS - i * MIN, orders_paid=5, gmv_minor=500))
    # Outside the shifted 5-minute window: must not count.
    view.apply(make_snap(start=MINUTE - DAY_MS + MIN, orders_paid=100))
    view.apply(make_snap(start=MINUTE - 7 * DAY_MS - 5 * MIN, orders_paid=100))
    r = client.get("/api/v1/kpis", params={"store": "s1", "window": "5m"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kpis"]["orders"] == 3
    assert body["comparisons"]["yesterday"]["orders"] == 6
    assert body["comparisons"]["yesterday"]["gmv_minor"] == 900
    assert body["comparisons"]["last_week"]["orders"] == 15
    assert body["comparisons"]["last_week"]["aov_minor"] == 100.0
    yesterday = body["comparison_windows"]["yesterday"]
    assert yesterday["window_start_ms"] == body["window_start_ms"] - DAY_MS
    assert yesterday["window_end_ms"] == body["window_end_ms"] - DAY_MS
    assert yesterday["minutes"] == 3
    last_week = body["comparison_windows"]["last_week"]
    assert last_week["window_start_ms"] == body["window_start_ms"] - 7 * DAY_MS
    assert last_week["shift_days"] == 7
    assert last_week["minutes"] == 3
    assert set(body["comparisons"]["yesterday"]) == set(body["kpis"])


def test_one_minute_comparison_is_exact_for_one_store(client: TestClient, view: KpiView) -> None:
    view.apply(make_snap(start=MINUTE, sessions=40))
    view.apply(make_snap(start=MINUTE - DAY_MS, sessions=25))
    body = client.get("/api/v1/kpis", params={"store": "s1", "window": "1m"}).json()
    assert body["comparisons"]["yesterday"]["sessions"] == 25  # exact, as for the 1m window
    assert body["comparison_windows"]["yesterday"]["window_start_ms"] == MINUTE - DAY_MS


def test_today_compares_up_to_the_same_time_of_day(client: TestClient, view: KpiView) -> None:
    midnight = MINUTE - MINUTE % DAY_MS
    view.apply(make_snap(start=MINUTE))
    view.apply(make_snap(start=midnight - DAY_MS, orders_paid=1))
    view.apply(make_snap(start=MINUTE - DAY_MS, orders_paid=2))
    view.apply(make_snap(start=MINUTE - DAY_MS + MIN, orders_paid=50))  # later in the day
    body = client.get("/api/v1/kpis", params={"store": "s1", "window": "today"}).json()
    assert body["comparisons"]["yesterday"]["orders"] == 3
    assert body["comparison_windows"]["yesterday"]["window_start_ms"] == midnight - DAY_MS


def test_absent_minutes_are_null_with_a_note(client: TestClient, view: KpiView) -> None:
    view.apply(make_snap(start=MINUTE))
    view.apply(make_snap(start=MINUTE - DAY_MS, orders_paid=4))
    body = client.get("/api/v1/kpis", params={"store": "s1", "window": "1h"}).json()
    assert body["comparisons"]["yesterday"]["orders"] == 4
    assert set(body["comparisons"]["last_week"].values()) == {None}
    last_week = body["comparison_windows"]["last_week"]
    assert last_week["minutes"] == 0
    assert "no minutes of store 's1' held" in last_week["notes"][0]
    assert last_week["notes"][0] in body["notes"]
    # The compared rollup's own caveats (no sketches to merge) are kept, labelled.
    yesterday_notes = body["comparison_windows"]["yesterday"]["notes"]
    assert yesterday_notes
    assert all(n.startswith("yesterday: visitors and sessions") for n in yesterday_notes)


def test_windows_before_the_retention_cutoff_are_not_held(clock: FakeClock) -> None:
    view = KpiView(history_minutes=2 * 24 * 60, clock=clock)  # too short for last week
    view.apply(make_snap(start=MINUTE))
    app = create_app(Settings(topic_namespace="unit."), start_feed=False, view=view)
    with TestClient(app) as c:
        body = c.get("/api/v1/kpis", params={"store": "s1", "window": "5m"}).json()
    assert body["comparisons"]["last_week"]["orders"] is None
    assert "retention cutoff" in body["comparison_windows"]["last_week"]["notes"][0]


def test_all_stores_comparison(client: TestClient, view: KpiView) -> None:
    view.apply(make_snap("a", start=MINUTE))
    view.apply(make_snap("a", start=MINUTE - 7 * DAY_MS, orders_paid=1))
    view.apply(make_snap("b", start=MINUTE - 7 * DAY_MS, orders_paid=2))
    body = client.get("/api/v1/kpis", params={"store": "all", "window": "1m"}).json()
    assert body["comparisons"]["last_week"]["orders"] == 3
    assert body["comparisons"]["yesterday"]["orders"] is None
    assert "any store" in body["comparison_windows"]["yesterday"]["notes"][0]
