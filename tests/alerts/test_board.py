"""The alert board: latest state per fingerprint, order-independent, bounded."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from alerts.board import AlertBoard, AlertRecordError, BoardAlert
from tests.alerts.alert_records import roas_alert

T = 1_700_000_040_000
MIN = 60_000
DAY = 86_400_000


def rec(
    status: str = "firing",
    *,
    store: str = "s1",
    name: str = "roas_low",
    start: int = T,
    end: int | None = None,
    value: float | None = 3.0,
) -> dict[str, Any]:
    return roas_alert(store, status, start=start, end=end, name=name, value=value)


def held(board: AlertBoard, fingerprint: str) -> BoardAlert:
    a = board.get(fingerprint)
    assert a is not None
    return a


def test_parsed_fields() -> None:
    board = AlertBoard()
    assert board.apply(rec(value=2.5))
    (a,) = board.firing()
    assert a.fingerprint == rec()["fingerprint"]
    assert a.labels == {
        "alertname": "roas_low",
        "store_id": "s1",
        "kpi": "roas",
        "severity": "warning",
    }
    assert a.annotations["summary"] == "ROAS below 4"
    assert (a.status, a.starts_at, a.starts_at_ms) == ("firing", "2023-11-14T22:14:00.000Z", T)
    assert (a.ends_at, a.value, a.expected, a.store_id) == (None, 2.5, 4.0, "s1")


def test_repeated_firing_updates_value_and_duplicates_change_nothing() -> None:
    board = AlertBoard()
    assert board.apply(rec(value=3.0))
    assert not board.apply(rec(value=3.0))  # the very same record
    assert board.apply(rec(value=2.0))
    assert held(board, rec()["fingerprint"]).value == 2.0


def test_resolution_then_a_new_occurrence() -> None:
    board = AlertBoard()
    fp = rec()["fingerprint"]
    board.apply(rec())
    assert board.apply(rec("resolved", end=T + 5 * MIN, value=4.2))
    assert not board.apply(rec("resolved", end=T + 9 * MIN, value=9.9))  # first resolution stands
    assert not board.apply(rec(value=1.0))  # the older firing, replayed
    assert held(board, fp).status == "resolved"
    assert board.firing() == []
    assert board.apply(rec(start=T + 30 * MIN, value=2.0))  # fires again: a new occurrence
    a = held(board, fp)
    assert (a.status, a.starts_at_ms, a.ends_at, a.value) == ("firing", T + 30 * MIN, None, 2.0)
    assert not board.apply(rec("resolved", end=T + 5 * MIN))  # the old occurrence's end


def test_any_order_gives_the_same_board() -> None:
    records = [
        rec(value=3.0),
        rec("resolved", end=T + 5 * MIN),
        rec(start=T + 10 * MIN, value=2.0),
        rec(store="s2"),
        rec("resolved", store="s2", end=T + 2 * MIN),
        rec(name="gmv_dip", start=T + MIN),
    ]
    expected = None
    for order in itertools.permutations(records):
        board = AlertBoard()
        for r in order:
            board.apply(r)
        state = sorted(
            (a.fingerprint, a.status, a.starts_at_ms) for a in board.alerts(T, status="all")
        )
        expected = expected or state
        assert state == expected
    assert expected is not None
    assert len(expected) == 3


def test_filters_and_order() -> None:
    board = AlertBoard()
    board.apply(rec(store="s1", start=T))
    board.apply(rec(store="s2", start=T + MIN))
    board.apply(rec(store="s1", name="gmv_dip", start=T + 2 * MIN))
    board.apply(rec(store="s1", name="gmv_dip", start=T + 2 * MIN))
    board.apply(rec("resolved", store="s3", start=T, end=T + MIN))
    now = T + 10 * MIN

    def names(**kw: Any) -> list[tuple[str, str]]:
        return [(a.store_id, a.labels["alertname"]) for a in board.alerts(now, **kw)]

    assert names() == [("s1", "gmv_dip"), ("s2", "roas_low"), ("s1", "roas_low")]
    assert names(store_id="s1") == [("s1", "gmv_dip"), ("s1", "roas_low")]
    assert names(status="resolved") == [("s3", "roas_low")]
    assert len(names(status="all")) == 4
    assert names(store_id="nope", status="all") == []
    assert [a.labels["alertname"] for a in board.firing()] == ["gmv_dip", "roas_low", "roas_low"]


def test_resolved_alerts_expire_after_the_retention() -> None:
    board = AlertBoard(retention_ms=DAY)
    board.apply(rec("resolved", store="old", end=T))
    board.apply(rec("resolved", store="new", end=T + DAY // 2))
    board.apply(rec(store="firing", start=T - 3 * DAY))  # firing: kept however old
    assert [a.store_id for a in board.alerts(T + DAY - 1, status="resolved")] == ["new", "old"]
    assert [a.store_id for a in board.alerts(T + DAY, status="resolved")] == ["new"]
    assert len(board) == 3  # alerts() only filters
    assert board.prune(T + DAY) == 1
    assert len(board) == 2
    assert board.prune(T + 2 * DAY) == 1
    assert [a.store_id for a in board.alerts(T + 10 * DAY, status="all")] == ["firing"]


def test_resolved_alerts_are_bounded_in_number() -> None:
    board = AlertBoard(max_resolved=3)
    for i in range(6):
        board.apply(rec(store=f"f{i}", start=T + i))  # firing ones are never dropped
        board.apply(rec("resolved", store=f"r{i}", start=T, end=T + i * MIN))
    resolved = board.alerts(T + MIN, status="resolved")
    assert {a.store_id for a in resolved} == {"r3", "r4", "r5"}  # the latest to end
    assert len(board.firing()) == 6
    assert len(board) == 9
    # a resolved alert that fires again leaves the resolved count, and a newer one is kept
    board.apply(rec(store="r5", start=T + DAY))
    board.apply(rec("resolved", store="r9", start=T, end=T + 30 * MIN))
    assert {a.store_id for a in board.alerts(T + MIN, status="resolved")} == {"r3", "r4", "r9"}


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ([], "a JSON object"),
        ({**rec(), "fingerprint": ""}, "fingerprint must be a non-empty string"),
        ({**rec(), "fingerprint": "x" * 300}, "fingerprint is longer"),
        ({**rec(), "status": "pending"}, "status must be firing or resolved"),
        ({**rec(), "startsAt": 5}, "startsAt must be RFC 3339 text"),
        ({**rec(), "startsAt": "yesterday"}, "startsAt: ts 'yesterday' is not RFC 3339"),
        ({**rec(), "endsAt": 7}, "endsAt must be RFC 3339 text or null"),
        ({**rec(), "labels": ["a"]}, "labels must be an object"),
        ({**rec(), "annotations": "x"}, "annotations must be an object"),
        ({**rec(), "value": "3"}, "value must be a number or null"),
        ({**rec(), "expected": True}, "expected must be a number or null"),
    ],
)
def test_invalid_records_are_rejected_with_a_reason(record: object, message: str) -> None:
    board = AlertBoard()
    with pytest.raises(AlertRecordError, match=message):
        board.apply(record)
    assert len(board) == 0


def test_accepts_parsed_alerts_and_missing_annotations() -> None:
    data = {k: v for k, v in rec().items() if k != "annotations"}
    parsed = BoardAlert.from_record(data)
    assert parsed.annotations == {}
    board = AlertBoard()
    assert board.apply(parsed)
    assert board.get(parsed.fingerprint) == parsed
