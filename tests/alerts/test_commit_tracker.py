from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alerts.commit_tracker import OffsetTracker


def test_partitions_are_independent_and_forgotten_on_revoke() -> None:
    t: OffsetTracker[int] = OffsetTracker()
    t.add(0, 10)
    t.add(1, 3)
    t.done(1, 3)
    assert t.committable() == {0: 10, 1: 4}
    t.mark_committed({0: 10, 1: 4})
    assert t.committable() == {}
    t.forget([0])
    t.done(0, 10)  # finishing a delivery of a revoked partition is harmless
    assert t.in_flight() == 0
    assert t.committable() == {}


@given(st.permutations(list(range(20))), st.integers(0, 20))
def test_never_commits_past_an_unfinished_record(order: list[int], finished: int) -> None:
    t: OffsetTracker[str] = OffsetTracker()
    for offset in range(20):
        t.add("p", offset)
    done = set(order[:finished])
    for offset in order[:finished]:
        t.done("p", offset)
    commit = t.committable().get("p")
    first_unfinished = min(set(range(20)) - done, default=20)
    assert commit == first_unfinished
