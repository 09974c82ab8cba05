"""Packed minutes (api.minute_pack, api.store_minutes): exact round trips, and a packed view
that answers byte for byte as the view holding every minute as it came."""

from __future__ import annotations

import base64
import dataclasses
import random
from collections.abc import Iterator

import orjson
import pytest

from api.clock import DAY_MS
from api.minute_pack import (
    PackedSketches,
    canonical_registers,
    decode_registers,
    encode_registers,
    pack,
    unpack,
)
from api.reads import with_comparisons
from api.rollup_cache import CachedRollups
from api.routers.kpis import kpis_body
from api.store_minutes import MinuteRun, StoreMinutes
from api.view import KpiView
from cli.bench_api_memory import ANY_HOUR, clone_history, worker_minutes
from shoppulse.hll import HyperLogLog
from shoppulse.snapshot import KpiSnapshot
from tests.api.helpers import MIN

HOUR = 60 * MIN


@pytest.fixture(scope="module")
def worker() -> dict[str, list[bytes]]:
    """Final snapshots of the worker's own processor for 2 simulated stores, 6 minutes."""
    return worker_minutes(2, 6, hour=12)


def _unpack_like(snap: KpiSnapshot, blob: bytes) -> KpiSnapshot:
    return unpack(
        blob,
        snap.store_id,
        snap.window_start_ms,
        snap.window_end_ms,
        snap.final,
        snap.revision,
        snap.currency,
        snap.emitted_at_ms,
    )


def test_worker_minutes_unpack_to_the_same_json(worker: dict[str, list[bytes]]) -> None:
    raws = [raw for minutes in worker.values() for raw in minutes]
    assert len(raws) >= 10
    for raw in raws:
        snap = KpiSnapshot.from_json(raw)
        assert snap.agents  # real minutes: agents and both sketches
        assert set(snap.sketches) == {"visitors", "sessions"}
        blob = pack(snap)
        assert blob is not None
        assert len(blob) < len(raw) / 3
        again = _unpack_like(snap, blob)
        assert again.to_json() == snap.to_json() == KpiSnapshot.from_json(raw).to_json()
        assert again == snap
        assert isinstance(again.sketches, PackedSketches)
        for name, text in snap.sketches.items():
            assert again.sketches.sketch(name) == HyperLogLog.from_base64(text)


def _sketch(items: int, precision: int, rng: random.Random) -> HyperLogLog:
    sketch = HyperLogLog(precision)
    sketch.update(f"v{rng.random()}" for _ in range(items))
    return sketch


@pytest.mark.parametrize("precision", [4, 10, 12, 16])
def test_registers_round_trip_sparse_dense_and_wide_gaps(precision: int) -> None:
    rng = random.Random(precision)
    for items in (0, 1, 3, 40, 700, 5000, 80_000):
        sketch = _sketch(items, precision, rng)
        text = sketch.to_base64()
        decoded = canonical_registers(text)
        assert decoded == (precision, sketch.registers)
        m = 1 << precision
        assert decode_registers(m, *encode_registers(sketch.registers)) == sketch.registers


def test_non_canonical_or_bad_sketches_are_not_packed() -> None:
    sketch = HyperLogLog()
    sketch.update(["a", "b"])
    assert canonical_registers(sketch.to_base64()) is not None  # canonical: sparse
    dense = base64.b64encode(bytes([1 << 5 | 12]) + sketch.registers).decode()  # dense, 2 set
    unsorted = base64.b64encode(bytes([2 << 5 | 12, 0, 9, 1, 0, 3, 1])).decode()
    too_high = base64.b64encode(bytes([2 << 5 | 12, 0, 3, 60])).decode()
    for text in (dense, unsorted, too_high, "!!", "", "TA", 5):
        assert canonical_registers(text) is None
    snap = KpiSnapshot(
        store_id="s1",
        window_start_ms=0,
        window_end_ms=MIN,
        final=True,
        revision=1,
        currency="EUR",
        components={"orders_paid": 1},
        emitted_at_ms=MIN,
        sketches={"visitors": dense},
    )
    assert pack(snap) is None
    assert pack(dataclasses.replace(snap, sketches={}, components={"x": 2**70})) is None
    assert pack(dataclasses.replace(snap, sketches={}, agents={1: {"r": 1}})) is None  # type: ignore[dict-item]
    odd_values: dict[str, object] = {"x": True, "y": 1.5, "z": -(2**63)}
    odd = dataclasses.replace(snap, sketches={}, components=odd_values)  # type: ignore[arg-type]
    blob = pack(odd)  # JSON gives these back as they were
    assert blob is not None
    again = _unpack_like(odd, blob)
    assert again.to_json() == odd.to_json()
    assert [type(v) for v in again.components.values()] == [bool, float, int]


def test_kpis_that_are_not_derived_from_the_components_are_kept() -> None:
    snap = KpiSnapshot(
        store_id="s1",
        window_start_ms=0,
        window_end_ms=MIN,
        final=True,
        revision=1,
        currency="EUR",
        components={"orders_paid": 2, "gmv_minor": 3000},
        emitted_at_ms=MIN,
        kpis={"orders": 7.0, "custom": None},
    )
    blob = pack(snap)
    assert blob is not None
    again = _unpack_like(snap, blob)
    assert dict(again.kpis) == {"orders": 7.0, "custom": None}
    derived = dataclasses.replace(snap, kpis={})
    assert len(pack(derived) or b"") < len(blob)
    assert _unpack_like(derived, pack(derived) or b"").to_json() == derived.to_json()


def _final(start: int, revision: int = 1, final: bool = True, **components: int) -> KpiSnapshot:
    return KpiSnapshot(
        store_id="s1",
        window_start_ms=start,
        window_end_ms=start + MIN,
        final=final,
        revision=revision,
        currency="EUR",
        components={"orders_paid": 1, **components},
        emitted_at_ms=start + MIN,
    )


def test_store_minutes_pack_all_but_the_latest_and_unfinished() -> None:
    store = StoreMinutes("s1")
    store.put(_final(0), hot_from_ms=0)
    store.put(_final(MIN, final=False), hot_from_ms=0)
    store.put(_final(2 * MIN, final=False), hot_from_ms=0)
    # 0 is packed; MIN was displaced as the latest before its final: loose; 2 MIN is the latest
    assert store.packed == 1
    assert store.loose == {MIN}
    store.put(_final(MIN, revision=2), hot_from_ms=0)  # its final revision packs it
    assert store.packed == 2
    assert store.loose == set()
    store.put(_final(3 * MIN, final=False), hot_from_ms=0)
    store.put(_final(4 * MIN), hot_from_ms=0)
    assert store.loose == {2 * MIN, 3 * MIN}
    assert store.pack_loose(3 * MIN) == 1  # only those before 3 MIN
    assert store.loose == {3 * MIN}
    assert store.held(3 * MIN) == (1, False)
    run = store.between(MIN, 4 * MIN)
    assert isinstance(run, MinuteRun)
    assert [s.revision for s in run] == [2, 1, 1]
    assert run.marks() == [(True, 2), (False, 1), (False, 1)]
    assert run[-1].window_start_ms == 3 * MIN
    assert [s.window_start_ms for s in run[1:]] == [2 * MIN, 3 * MIN]
    assert store.evict_before(2 * MIN) == 2
    assert list(store.starts) == [2 * MIN, 3 * MIN, 4 * MIN]
    copy = store.copy_between([(2 * MIN, 3 * MIN)])
    assert list(copy.starts) == [2 * MIN, 4 * MIN]  # the span and the latest
    store.put(_final(2 * MIN, revision=5), hot_from_ms=0)
    assert copy.held(2 * MIN) == (1, False)  # the copy does not change


# -- a packed view answers as the view of unpacked minutes --------------------------------

NOW = 1_714_525_230_000  # 2024-05-01T01:00:30Z
DAY_START = NOW - NOW % DAY_MS


def _stream(worker: dict[str, list[bytes]]) -> Iterator[KpiSnapshot]:
    """Cloned worker minutes around now, yesterday and last week, with provisional
    revisions, out-of-order minutes and a store whose sketches are not canonical."""
    end = NOW - NOW % MIN + MIN
    ranges = [
        (end - 7 * DAY_MS - 70 * MIN, end - 7 * DAY_MS + 10 * MIN),
        (end - DAY_MS - 70 * MIN, end - DAY_MS + 10 * MIN),
        (DAY_START - 30 * MIN, end),
    ]
    for first, last in ranges:
        for raw in clone_history({ANY_HOUR: worker}, stores=3, first_ms=first, end_ms=last):
            snap = KpiSnapshot.from_json(raw)
            if snap.store_id == "store-002":  # dense form of its sketches: not canonical
                dense = {
                    name: _dense_text(HyperLogLog.from_base64(text))
                    for name, text in snap.sketches.items()
                }
                snap = dataclasses.replace(snap, sketches=dense)
            if snap.window_start_ms % (7 * MIN) == 0:  # a provisional revision first
                yield dataclasses.replace(snap, final=False, revision=snap.revision - 1)
            yield snap
    # an out-of-order late minute, and a store whose last minutes stay provisional
    late = clone_history(
        {ANY_HOUR: worker}, stores=1, first_ms=DAY_START - 5 * HOUR, end_ms=DAY_START
    )
    yield KpiSnapshot.from_json(next(late))
    for start in (end - 3 * MIN, end - 2 * MIN, end - MIN):
        yield _final(start, final=False, orders_paid=3)


def _dense_text(sketch: HyperLogLog) -> str:
    return base64.b64encode(bytes([1 << 5 | sketch.precision]) + sketch.registers).decode()


def _answers(view: KpiView) -> list[bytes]:
    out: list[bytes] = []
    end = NOW - NOW % MIN + MIN
    for store in ["all", *view.stores()]:
        for window in ("1m", "5m", "1h", "today"):
            spans = with_comparisons(*view.rollup_bounds(store, window))
            frozen = view.frozen(spans, rollups=CachedRollups(view.window_ms))
            out.append(orjson.dumps(kpis_body(frozen, store, window)))
            out.append(orjson.dumps(kpis_body(view, store, window)))  # without the cache
        week_ago = (end - 7 * DAY_MS - 20 * MIN, end - 7 * DAY_MS + 5 * MIN)
        for start, stop in (week_ago, (0, end)):
            if store != "all" or start:
                points = view.history(store, start, stop)
                out.append(orjson.dumps([p.to_dict() for p in points]))
            out.append(orjson.dumps(view.rollup_between(store, start, stop).to_dict()))
        if store != "all":
            out.append(orjson.dumps(view.agents_between(store, 0, end)))
            out.append(orjson.dumps([s.to_dict() for s in view.minutes(store, 0, end)]))
            latest = view.latest(store)
            out.append(orjson.dumps(latest.to_dict() if latest else None))
    out.append(orjson.dumps({s: v.to_dict() for s, v in view.latest_by_store().items()}))
    return out


def test_a_packed_view_answers_byte_for_byte_as_the_unpacked(
    worker: dict[str, list[bytes]],
) -> None:
    clock = [NOW]
    packed = KpiView(clock=lambda: clock[0])
    plain = KpiView(clock=lambda: clock[0], pack_minutes=False)
    for snap in _stream(worker):
        assert packed.apply(snap) == plain.apply(snap)
    held = [packed.minute_index(s) for s in packed.stores()]
    assert sum(s.packed for s in held if s is not None) > 300
    assert _answers(packed) == _answers(plain)
    # an hour later the provisional minutes left behind are packed; answers stay equal
    clock[0] = NOW + HOUR + MIN
    packed.evict()
    plain.evict()
    assert all(not s.loose for s in held if s is not None)
    assert _answers(packed) == _answers(plain)
