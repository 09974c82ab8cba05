from __future__ import annotations

import pytest

from shoppulse.windows import TumblingWindow


@pytest.mark.parametrize(
    ("ts_ms", "start_ms"),
    [(0, 0), (59_999, 0), (60_000, 60_000), (1_700_000_059_999, 1_700_000_040_000), (-1, -60_000)],
)
def test_start_is_floor_of_window(ts_ms: int, start_ms: int) -> None:
    assert TumblingWindow(60_000).start_ms(ts_ms) == start_ms


def test_bounds_are_half_open_and_one_window_long() -> None:
    w = TumblingWindow(60_000)
    start, end = w.bounds_ms(1_700_000_012_345)
    assert start <= 1_700_000_012_345 < end
    assert end - start == 60_000
    assert w.start_ms(end) == end  # the end belongs to the next window


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        TumblingWindow(0)
