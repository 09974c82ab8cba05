from __future__ import annotations

from shoppulse.read_progress import ReadProgress


def test_caught_up_partitions_do_not_bound_and_lagging_ones_bound_by_their_event_time() -> None:
    p = ReadProgress(starts={("o", 0): 5, ("c", 0): 0, ("c", 1): 0})
    assert p.read_until_ms({("o", 0): 5, ("c", 0): 0, ("c", 1): 0}) == {}
    p.record("c", 0, offset=0, ts_ms=1_000)
    p.record("c", 0, offset=1, ts_ms=900)  # out of order: the newest time is kept
    bounds = p.read_until_ms({("o", 0): 8, ("c", 0): 10, ("c", 1): 0})
    assert bounds == {0: 0}  # o lags with no event time read yet
    p.record("o", 0, offset=6, ts_ms=2_000)
    assert p.read_until_ms({("o", 0): 8, ("c", 0): 10, ("c", 1): 0}) == {0: 1_000}


def test_rejected_records_advance_offsets_but_not_event_time() -> None:
    p = ReadProgress(starts={("c", 0): 0})
    p.record("c", 0, offset=0, ts_ms=None)
    assert p.next_offset[("c", 0)] == 1
    assert p.read_until_ms({("c", 0): 1}) == {}
    assert p.read_until_ms({("c", 0): 2}) == {0: 0}
