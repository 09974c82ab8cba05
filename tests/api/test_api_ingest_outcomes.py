"""``POST /api/v1/events`` tells the sender what will become of history it sends (unit, with an
in-memory producer and a view filled directly): late events are refused, events before the
API's history are accepted with a warning, and the API's /metrics counts both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.view import KpiView
from shoppulse.settings import Settings
from shoppulse.timeutil import format_ts_ms
from tests.api.fakes import FakeEventProducer
from tests.api.helpers import MIN, MINUTE, make_snap
from tests.api.test_api_ingest import order

DAY = 24 * 60 * MIN
#: 2024-04-23T23:00Z: the view keeps minutes from an hour before the same UTC day last week.
CUTOFF = MINUTE - 12 * 60 * MIN - 7 * DAY - 60 * MIN


@dataclass
class _Feed:
    caught_up: bool


@pytest.fixture
def producer() -> FakeEventProducer:
    return FakeEventProducer()


@pytest.fixture
def ingest(view: KpiView, producer: FakeEventProducer) -> Iterator[TestClient]:
    """Store s1: final minutes up to 11:57, open 11:58 and 12:00 (the latest)."""
    for start in (MINUTE - 4 * MIN, MINUTE - 3 * MIN):
        view.apply(make_snap("s1", start=start, final=True))
    view.apply(make_snap("s1", start=MINUTE - 2 * MIN))
    view.apply(make_snap("s1", start=MINUTE))
    app = create_app(
        Settings(topic_namespace="unit."), start_feed=False, view=view, event_producer=producer
    )
    with TestClient(app) as c:
        yield c


def _at(i: int, ts: int, store: str = "s1") -> dict[str, Any]:
    return order(i, ts=ts, store_id=store)


def test_the_view_starts_where_the_test_says() -> None:
    assert format_ts_ms(CUTOFF) == "2024-04-23T23:00:00.000Z"


def test_events_of_closed_minutes_are_refused_by_index_and_nothing_is_produced(
    ingest: TestClient, producer: FakeEventProducer
) -> None:
    batch = [
        _at(0, MINUTE - 2 * MIN + 10_000),  # 11:58, still open
        _at(1, MINUTE - 3 * MIN + 59_999),  # 11:57, the newest final minute
        _at(2, MINUTE - 30 * MIN),  # long closed
        _at(3, MINUTE - 3 * MIN, store="s2"),  # another store: nothing known, fine
    ]
    r = ingest.post("/api/v1/events", json=batch)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["message"] == "2 of 4 events rejected; nothing was produced"
    assert [(e["index"], e["reason"]) for e in detail["errors"]] == [(1, "late"), (2, "late")]
    text = detail["errors"][0]["detail"]
    assert "2024-05-01T11:57:00.000Z" in text  # the event's minute
    assert "2024-05-01T11:58:00.000Z" in text  # the store's closed watermark
    assert "dead-letter" in text
    assert producer.sent == []


def test_late_and_invalid_events_are_listed_together(
    ingest: TestClient, producer: FakeEventProducer
) -> None:
    batch = [_at(0, MINUTE - 10 * MIN), order(1, amount_minor=-1), _at(2, MINUTE)]
    r = ingest.post("/api/v1/events", json=batch)
    assert r.status_code == 422
    errors = r.json()["detail"]["errors"]
    assert [(e["index"], e["reason"]) for e in errors] == [(0, "late"), (1, "schema")]
    assert producer.sent == []


def test_an_event_after_the_closed_minutes_is_accepted_with_the_lag_caveat(
    ingest: TestClient, producer: FakeEventProducer
) -> None:
    r = ingest.post("/api/v1/events", json=[_at(0, MINUTE + 1_000), _at(1, MINUTE - MIN)])
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["accepted"] == 2
    assert body["warnings"] == []
    [note] = body["notes"]
    assert 'shoppulse_dead_letters_total{reason="late"}' in note
    assert len(producer.sent) == 2


def test_an_event_the_store_has_moved_past_is_accepted_with_a_likely_late_warning(
    ingest: TestClient, producer: FakeEventProducer
) -> None:
    # 11:58 ends at 11:59; the store has events in 12:00, past 11:59 + 5 s of grace.
    r = ingest.post("/api/v1/events", json=[_at(0, MINUTE), _at(1, MINUTE - 2 * MIN + 5_000)])
    assert r.status_code == 202, r.text
    [warning] = r.json()["warnings"]
    assert (warning["index"], warning["reason"]) == (1, "likely_late")
    assert "2024-05-01T12:00:00.000Z" in warning["detail"]
    assert len(producer.sent) == 2


def test_events_before_the_history_window_are_accepted_with_a_warning(
    ingest: TestClient, producer: FakeEventProducer
) -> None:
    batch = [_at(0, CUTOFF - 1, store="old"), _at(1, CUTOFF, store="old")]
    r = ingest.post("/api/v1/events", json=batch)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["accepted"] == 2
    [warning] = body["warnings"]
    assert (warning["index"], warning["reason"]) == (0, "before_history")
    assert "2024-04-23T23:00:00.000Z" in warning["detail"]
    assert "the worker counts it" in warning["detail"]
    assert len(producer.sent) == 2


def test_a_feed_still_catching_up_is_said(ingest: TestClient) -> None:
    ingest.app.state.feed = _Feed(caught_up=False)  # type: ignore[attr-defined]
    notes = ingest.post("/api/v1/events", json=_at(0, MINUTE)).json()["notes"]
    assert any("not read shoppulse.kpis to its end" in n for n in notes)


def test_ingest_outcomes_are_counted_on_metrics(
    ingest: TestClient, producer: FakeEventProducer
) -> None:
    ingest.post("/api/v1/events", json=[_at(0, MINUTE - 30 * MIN), _at(1, MINUTE)])  # 1 late
    ingest.post("/api/v1/events", json=[order(2, amount_minor=-1)])  # invalid
    ingest.post("/api/v1/events", json=[_at(3, CUTOFF - MIN, store="old"), _at(4, MINUTE)])
    ingest.post("/api/v1/events", json=[_at(5, MINUTE - 2 * MIN)])  # likely late
    producer.fail = True
    ingest.post("/api/v1/events", json=[_at(6, MINUTE)])
    text = ingest.get("/metrics").text
    for line in (
        'shoppulse_ingest_events_total{outcome="accepted"} 3.0',
        'shoppulse_ingest_events_total{outcome="refused"} 3.0',
        'shoppulse_ingest_events_total{outcome="unacknowledged"} 1.0',
        'shoppulse_ingest_rejected_events_total{reason="late"} 1.0',
        'shoppulse_ingest_rejected_events_total{reason="schema"} 1.0',
        'shoppulse_ingest_warnings_total{reason="before_history"} 1.0',
        'shoppulse_ingest_warnings_total{reason="likely_late"} 1.0',
    ):
        assert line in text, line
