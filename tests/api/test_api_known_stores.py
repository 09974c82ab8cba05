"""A store whose minutes are all older than the API's history is known, not a 404: the view
remembers every store it has read a snapshot of, its newest minute and its closed minutes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.view import KpiView
from tests.api.helpers import MIN, MINUTE, FakeClock, make_snap

DAY = 24 * 60 * MIN
OLD = MINUTE - 10 * DAY  # before the history of the default view


def test_a_store_seen_only_before_the_history_is_known(clock: FakeClock) -> None:
    view = KpiView(history_minutes=10, clock=clock)
    assert not view.apply(make_snap("old", start=MINUTE - 60 * MIN, final=True))
    assert not view.apply(make_snap("old", start=MINUTE - 59 * MIN))
    assert view.stores() == []  # no minutes held
    assert view.known_stores() == ["old"]
    assert view.knows_store("old")
    assert not view.knows_store("nope")
    mark = view.mark("old")
    assert mark is not None
    assert (mark.latest_start_ms, mark.latest_final) == (MINUTE - 59 * MIN, False)
    assert mark.closed_until_ms == MINUTE - 59 * MIN  # the end of the newest final minute
    assert mark.currency == "EUR"
    assert view.currency("old") == "EUR"


def test_evicted_stores_stay_known_with_their_closed_minutes(clock: FakeClock) -> None:
    view = KpiView(history_minutes=10, clock=clock)
    assert view.apply(make_snap("s1", start=MINUTE - 2 * MIN, final=True))
    assert view.apply(make_snap("s1", start=MINUTE - MIN, revision=2))
    clock.now_ms += 20 * MIN
    assert view.evict() == 2
    assert view.stores() == []
    assert view.known_stores() == ["s1"]
    mark = view.mark("s1")
    assert mark is not None
    assert (mark.latest_start_ms, mark.closed_until_ms) == (MINUTE - MIN, MINUTE - MIN)
    frozen = view.frozen([])
    assert frozen.known_stores() == ["s1"]
    assert frozen.mark("s1") == mark


def test_closed_until_only_moves_forward(view: KpiView) -> None:
    view.apply(make_snap("s1", start=MINUTE - MIN, final=True))
    view.apply(make_snap("s1", start=MINUTE - 5 * MIN, final=True))  # a replayed older one
    mark = view.mark("s1")
    assert mark is not None
    assert mark.closed_until_ms == MINUTE
    assert mark.latest_final is True


@pytest.fixture
def old_store(view: KpiView) -> KpiView:
    view.apply(make_snap("old", start=OLD, final=True))
    view.apply(make_snap("s1", start=MINUTE))
    return view


def test_stores_lists_a_store_without_minutes_held(client: TestClient, old_store: KpiView) -> None:
    body = client.get("/api/v1/stores").json()
    assert [s["store_id"] for s in body["stores"]] == ["old", "s1"]
    old = body["stores"][0]
    assert old["minutes"] == 0
    assert old["currency"] == "EUR"
    assert (old["latest_window_start_ms"], old["latest_final"]) == (OLD, True)
    assert old["closed_until_ms"] == OLD + MIN
    assert body["stores"][1]["closed_until_ms"] is None
    assert body["history_start"] == "2024-04-23T23:00:00.000Z"


@pytest.mark.parametrize("window", ["1m", "5m", "today"])
def test_kpis_of_a_store_without_minutes_held_say_so(
    client: TestClient, old_store: KpiView, window: str
) -> None:
    r = client.get("/api/v1/kpis", params={"store": "old", "window": window})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["minutes"] == 0
    assert body["components"]["orders_paid"] == 0
    assert any(
        "no minutes of store 'old'" in n and "2024-04-21T12:00:00.000Z" in n for n in body["notes"]
    ), body["notes"]


def test_history_of_a_store_without_minutes_held_says_so(
    client: TestClient, old_store: KpiView
) -> None:
    r = client.get("/api/v1/kpis/history", params={"store": "old", "minutes": 30})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["points"] == []
    assert any("before the minutes this API keeps" in n for n in body["notes"]), body["notes"]
    held = client.get("/api/v1/kpis/history", params={"store": "s1", "minutes": 5}).json()
    assert held["notes"] == []


def test_unknown_stores_are_still_404_and_the_hint_lists_known_ones(
    client: TestClient, old_store: KpiView
) -> None:
    r = client.get("/api/v1/kpis", params={"store": "nope"})
    assert r.status_code == 404
    assert "known stores: old, s1" in r.json()["detail"]
