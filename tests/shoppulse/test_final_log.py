"""The records of shoppulse.kpis.final and where a restarted API starts reading (ADR 24)."""

from __future__ import annotations

import pytest

from shoppulse.final_log import (
    Horizon,
    decode_final_record,
    final_key,
    horizon_key,
    open_from_ms,
    tail_start_ms,
)
from shoppulse.snapshot import KpiSnapshot

MIN = 60_000


def _final(store: str, start: int) -> KpiSnapshot:
    return KpiSnapshot(
        store_id=store,
        window_start_ms=start,
        window_end_ms=start + MIN,
        final=True,
        revision=4,
        currency="EUR",
        components={"orders_paid": 2, "gmv_minor": 3_000},
        emitted_at_ms=start + MIN + 5_000,
    )


def test_a_final_and_a_horizon_decode_to_what_was_written() -> None:
    snap = _final("s1", 10 * MIN)
    assert decode_final_record(snap.to_json()) == snap
    horizon = Horizon(3, 6, 9 * MIN, 10 * MIN)
    assert decode_final_record(horizon.to_json()) == horizon


@pytest.mark.parametrize("raw", [b"[1, 2]", b'{"horizon": {"source_partition": 1}}', b"{}"])
def test_a_record_that_is_neither_raises(raw: bytes) -> None:
    with pytest.raises((KeyError, ValueError, TypeError)):
        decode_final_record(raw)


def test_keys_tell_minutes_stores_and_horizons_apart() -> None:
    assert final_key("s:1", 60_000) != final_key("s", 60_000)
    assert final_key("1:s", 60_000) != final_key("s", 1_60_000)
    assert final_key("s1", 60_000) == final_key("s1", 60_000)
    assert not horizon_key(0)[:1].isdigit()
    assert final_key("horizon", 0) != horizon_key(0)


def test_the_horizon_is_the_earliest_open_minute_less_the_margin_floored_to_the_minute() -> None:
    assert open_from_ms([5 * MIN + 30_000, 7 * MIN], now_ms=8 * MIN, margin_ms=5_000) == 5 * MIN
    assert open_from_ms([5 * MIN + 3_000], now_ms=8 * MIN, margin_ms=5_000) == 4 * MIN
    assert open_from_ms([], now_ms=8 * MIN + 10_000, margin_ms=5_000) == 8 * MIN
    # never later than now, even for a minute first seen "in the future"
    assert open_from_ms([20 * MIN], now_ms=8 * MIN + 10_000, margin_ms=5_000) == 8 * MIN


def test_the_tail_starts_at_the_earliest_latest_horizon_of_every_partition() -> None:
    horizons = [Horizon(0, 2, 3 * MIN, 0), Horizon(1, 2, 9 * MIN, 0), Horizon(0, 2, 8 * MIN, 1)]
    assert tail_start_ms(horizons, partitions=2) == 8 * MIN  # partition 0's latest is 8
    assert tail_start_ms(horizons[:1], partitions=2) is None  # partition 1 has none
    assert tail_start_ms([], partitions=2) is None
    # a worker that counts partitions differently: read everything
    assert tail_start_ms([Horizon(0, 1, MIN, 0)], partitions=2) is None
    assert tail_start_ms([*horizons, Horizon(2, 3, MIN, 0)], partitions=2) is None
