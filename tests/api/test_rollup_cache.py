"""The block decomposition and the partial merge behind the long-window KPI gauges."""

from __future__ import annotations

import itertools
import random

from hypothesis import given
from hypothesis import strategies as st

from api.rollup_cache import EMPTY, MinuteIndex, Partial, RollupCache, merge, segments
from shoppulse.hll import HyperLogLog
from shoppulse.snapshot import KpiSnapshot

MIN = 60_000


@given(st.integers(0, 3 * 24 * 60), st.integers(0, 3 * 24 * 60))
def test_segments_tile_the_range_with_aligned_blocks(a: int, b: int) -> None:
    start, end = sorted((a * MIN, b * MIN))
    parts = segments(start, end, MIN)
    pos = start
    for seg_start, length in parts:
        assert seg_start == pos
        assert length in (MIN, 5 * MIN, 60 * MIN)
        assert seg_start % length == 0
        pos += length
    assert pos == end
    # Greedy: no run of twelve 5-minute blocks (or five minutes) that would make an aligned
    # larger block is left unmerged.
    assert len(parts) <= 4 + 11 + (end - start) // (60 * MIN) + 11 + 4


def test_unaligned_ranges_keep_raw_segments() -> None:
    assert segments(10_000, 130_000, MIN) == [(10_000, 50_000), (60_000, 60_000), (120_000, 10_000)]


def _snap(rng: random.Random, start: int, *, sketch: bool = True) -> KpiSnapshot:
    visitors = HyperLogLog()
    visitors.update(f"v{rng.randrange(100)}" for _ in range(10))
    return KpiSnapshot(
        store_id="s1",
        window_start_ms=start,
        window_end_ms=start + MIN,
        final=True,
        revision=1,
        currency=rng.choice(["EUR", None]),
        components={"orders_paid": rng.randrange(5), "on_hand_units": rng.randrange(100)},
        emitted_at_ms=start + MIN,
        sketches={"visitors": visitors.to_base64(), "sessions": visitors.to_base64()}
        if sketch
        else {},
    )


@given(st.integers(1, 30), st.lists(st.integers(1, 29), max_size=4), st.randoms())
def test_merging_partials_equals_the_partial_of_all_minutes(
    n: int, cuts: list[int], rng: random.Random
) -> None:
    snaps = [_snap(rng, i * MIN, sketch=rng.random() < 0.95) for i in range(n)]
    bounds = sorted({0, n, *(c for c in cuts if c < n)})
    parts = [Partial.of(snaps[a:b]) for a, b in itertools.pairwise(bounds)]
    assert merge(parts) == Partial.of(snaps)
    assert merge([EMPTY, *parts, EMPTY]) == Partial.of(snaps)


def test_merge_does_not_modify_the_cached_parts() -> None:
    rng = random.Random(1)
    a, b = Partial.of([_snap(rng, 0)]), Partial.of([_snap(rng, MIN)])
    before = a.sketches["visitors"]
    assert before is not None
    registers = before.registers
    merge([a, b])
    assert before.registers == registers


def test_an_open_minute_inside_a_block_leaves_the_sealed_rest_cached() -> None:
    rng = random.Random(2)
    snaps = [_snap(rng, i * MIN) for i in range(60)]
    snaps[-1] = KpiSnapshot(
        store_id="s1",
        window_start_ms=59 * MIN,
        window_end_ms=60 * MIN,
        final=False,
        revision=1,
        currency="EUR",
        components={"orders_paid": 1},
        emitted_at_ms=60 * MIN,
        sketches=snaps[-1].sketches,
    )
    cache = RollupCache(MIN)
    whole = cache.partial("s1", MinuteIndex(snaps), 0, 60 * MIN)
    assert whole == Partial.of(snaps)
    # 11 sealed 5-minute blocks and 4 sealed minutes are cached; the open minute is not.
    assert cache.size == 11 + 4
    cache.sweep()
    assert cache.size == 15
    assert cache.sweep() == 15  # unused since the last sweep: forgotten
    assert cache.size == 0
