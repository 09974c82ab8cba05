from __future__ import annotations

from shoppulse.read_progress import ReadProgress

IDLE = 10_000


def progress(**starts: int) -> ReadProgress:
    return ReadProgress(
        starts={(name, 0): offset for name, offset in starts.items()},
        started_ms=0,
        idle_ms=IDLE,
    )


def test_lagging_input_bounds_by_the_event_time_read_so_far() -> None:
    p = progress(o=5, c=0)
    p.record("c", 0, offset=0, ts_ms=1_000, arrival_ms=100)
    p.record("c", 0, offset=1, ts_ms=900, arrival_ms=100)  # out of order: newest time kept
    assert p.read_until_ms({("o", 0): 8, ("c", 0): 2}, now_ms=200) == {0: 0}  # o lags
    p.record("o", 0, offset=6, ts_ms=2_000, arrival_ms=300)
    assert p.read_until_ms({("o", 0): 8, ("c", 0): 2}, now_ms=400) == {0: 1_000}


def test_an_active_input_bounds_even_when_its_high_watermark_looks_caught_up() -> None:
    """The high watermark comes from the last fetch; a busy input may have more on the way."""
    p = progress(c=0, o=0)
    p.record("c", 0, offset=0, ts_ms=1_000, arrival_ms=100)
    p.record("o", 0, offset=0, ts_ms=180_000, arrival_ms=100)
    assert p.read_until_ms({("c", 0): 1, ("o", 0): 1}, now_ms=200) == {0: 1_000}


def test_quiet_caught_up_inputs_stop_bounding_after_idle() -> None:
    p = progress(c=0)
    p.record("c", 0, offset=0, ts_ms=1_000, arrival_ms=100)
    assert p.read_until_ms({("c", 0): 1}, now_ms=100 + IDLE - 1) == {0: 1_000}
    assert p.read_until_ms({("c", 0): 1}, now_ms=100 + IDLE) == {}


def test_unknown_high_watermark_counts_as_lagging_only_while_starting() -> None:
    p = progress(c=0)
    assert p.read_until_ms({("c", 0): None}, now_ms=IDLE - 1) == {0: 0}
    assert p.read_until_ms({("c", 0): None}, now_ms=IDLE) == {}


def test_rejected_records_advance_offsets_but_show_no_time_nor_activity() -> None:
    p = progress(c=0)
    p.record("c", 0, offset=0, ts_ms=None, arrival_ms=100)
    assert p.next_offset[("c", 0)] == 1
    assert p.read_until_ms({("c", 0): 1}, now_ms=IDLE + 1) == {}  # garbage never holds back
    assert p.read_until_ms({("c", 0): 2}, now_ms=IDLE + 1) == {0: 0}  # but unread data does


def test_the_log_end_at_start_keeps_an_unfetched_partition_lagging() -> None:
    """After a restart with a backlog, a partition the consumer has not fetched from yet
    holds its minutes back for as long as it is behind, not just for ``idle_ms``."""
    p = ReadProgress(
        starts={("a", 0): 0, ("b", 0): 100},
        started_ms=0,
        idle_ms=1_000,
        initial_highs={("a", 0): 50, ("b", 0): 100},
    )
    p.record("b", 0, offset=100, ts_ms=90_000, arrival_ms=500)
    assert p.read_until_ms({}, now_ms=60_000) == {0: 0}  # a: 0 of 50 read, long after idle
    p.record("a", 0, offset=49, ts_ms=80_000, arrival_ms=60_000)
    assert p.read_until_ms({}, now_ms=90_000) == {}  # both caught up and quiet


def test_an_empty_log_at_start_is_still_unknown_until_fetched() -> None:
    """A fresh worker starts before the data: a log end of 0 says nothing about what the
    first fetch will bring, so the partition counts as lagging for ``idle_ms``."""
    p = ReadProgress(
        starts={("a", 0): 0, ("b", 0): 0},
        started_ms=0,
        idle_ms=1_000,
        initial_highs={("a", 0): 0, ("b", 0): 0},
    )
    p.record("a", 0, offset=0, ts_ms=90_000, arrival_ms=100)
    assert p.read_until_ms({("a", 0): 1}, now_ms=500) == {0: 0}  # b not fetched yet


def test_polled_log_ends_keep_an_unfetched_partition_lagging() -> None:
    p = ReadProgress(starts={("a", 0): 0, ("b", 0): 0}, started_ms=0, idle_ms=1_000)
    p.record("a", 0, offset=9, ts_ms=90_000, arrival_ms=100)
    assert p.read_until_ms({("a", 0): 10}, now_ms=60_000) == {}  # b: nothing known, quiet
    p.poll({("b", 0): 25})  # the broker says b has 25 records the consumer has not fetched
    assert p.read_until_ms({("a", 0): 10}, now_ms=61_000) == {0: 0}
    p.record("b", 0, offset=24, ts_ms=95_000, arrival_ms=62_000)
    assert p.read_until_ms({("a", 0): 10, ("b", 0): 25}, now_ms=70_000) == {}
