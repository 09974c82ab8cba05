from __future__ import annotations

from typing import Any

import pytest

from alerts.actions import Ack, ActionBook, Matcher, Silence
from alerts.dispatch_policy import Decision, DispatchState, InvalidAlertError
from alerts.receivers import load_receivers
from shoppulse.alert_shape import alert

T = 1_700_000_040_000
CFG = load_receivers(
    """
receivers: [{name: slack, log: {}}, {name: am, log: {}}]
routes:
  - {match: {severity: critical}, receivers: [slack], continue: true}
  - {receivers: [am]}
""",
    env={},
)


def _alert(status: str = "firing", store: str = "s1", starts: int = T, **kw: Any) -> Any:
    return alert(
        name="roas_low",
        store_id=store,
        kpi="roas",
        severity="critical",
        status=status,  # type: ignore[arg-type]
        starts_at_ms=starts,
        ends_at_ms=starts + 300_000 if status == "resolved" else None,
        value=kw.get("value", 3.0),
        expected=None,
        summary="ROAS low",
        description="",
    )


def test_a_silence_suppresses_firing_and_resolved_while_active() -> None:
    state, book = DispatchState(CFG), ActionBook()
    book.add(Silence("x", (Matcher("store_id", "s1"),), T, T + 600_000, "ana", "deploy", T))
    assert state.decide(_alert(), book, T + 1) == Decision((), "silenced")
    assert state.decide(_alert("resolved"), book, T + 2) == Decision((), "silenced")
    assert state.decide(_alert(store="s2"), book, T + 3) == Decision(("slack", "am"), None)
    assert state.decide(_alert(starts=T + 60_000), book, T + 600_000).suppressed is None


def test_an_ack_suppresses_repeats_of_its_occurrence_only() -> None:
    state, book = DispatchState(CFG), ActionBook()
    first = _alert()
    assert state.decide(first, book, T).suppressed is None
    book.add(Ack(first["fingerprint"], first["startsAt"], "ana", "", T))
    assert state.decide(_alert(value=2.0), book, T + 1).suppressed == "acknowledged"
    assert state.decide(_alert("resolved"), book, T + 2).suppressed is None
    again = _alert(starts=T + 3_600_000)  # a new occurrence is not acknowledged
    assert state.decide(again, book, T + 3_600_000).suppressed is None
    assert state.decide(again, book, T + 3_600_001).suppressed is None  # not acked: repeat sent


def test_resend_lists_firing_alerts_of_a_receiver_until_resolved() -> None:
    state, book = DispatchState(CFG), ActionBook()
    state.decide(_alert(), book, T)
    state.decide(_alert(store="s2"), book, T)
    assert {a["labels"]["store_id"] for a in state.resend("am", book, T)} == {"s1", "s2"}
    book.add(Silence("x", (Matcher("store_id", "s2"),), T, T + 600_000, "ana", "", T))
    assert [a["labels"]["store_id"] for a in state.resend("am", book, T + 1)] == ["s1"]
    state.decide(_alert("resolved"), book, T + 2)
    assert state.resend("am", book, T + 2) == []
    assert state.resend("am", book, T + 600_000)[0]["labels"]["store_id"] == "s2"


def test_alerts_of_a_revoked_partition_are_no_longer_re_sent() -> None:
    state, book = DispatchState(CFG), ActionBook()
    state.decide(_alert(), book, T, source=("alerts", 0))
    state.observe(_alert(store="s2"), source=("alerts", 1))
    state.forget([("alerts", 1)])
    assert [a["labels"]["store_id"] for a in state.resend("am", book, T)] == ["s1"]
    state.observe(_alert(store="s2"), source=("alerts", 1))  # read again by its next owner
    state.forget([("alerts", 0)])
    assert [a["labels"]["store_id"] for a in state.resend("am", book, T)] == ["s2"]


@pytest.mark.parametrize(
    "record",
    [{}, {"labels": [], "fingerprint": "f", "status": "firing"}, {"labels": {}, "status": "x"}],
)
def test_records_that_are_not_alerts_are_rejected(record: dict[str, Any]) -> None:
    with pytest.raises(InvalidAlertError):
        DispatchState(CFG).decide(record, ActionBook(), T)
