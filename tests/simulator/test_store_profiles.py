"""Store profiles: each one's shape in the simulator, the disorder bound, specs, determinism."""

from __future__ import annotations

import doctest
import itertools
from collections import Counter
from collections.abc import Sequence

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoppulse.events import Rejection, decode_event
from simulator import durations, store_profiles
from simulator.simulation import DAY_MS, HOUR_MS, MINUTE_MS, SimEvent, Simulator
from simulator.store_profiles import StoreShape, TrafficProfile, send_order, shape_stores
from simulator.traffic_variance import Variance

MIDNIGHT_MS = 1_699_920_000_000  # 2023-11-14T00:00:00Z


def _sim(
    stores: int, seed: int, events_per_s: float, *specs: str, diurnal: bool = True
) -> Simulator:
    profiles = [TrafficProfile.parse(spec, origin_ms=MIDNIGHT_MS) for spec in specs]
    return Simulator(stores, seed, MIDNIGHT_MS, events_per_s, profiles=profiles, diurnal=diurnal)


def _of(events: Sequence[SimEvent], store_id: str, family: str | None = None) -> list[SimEvent]:
    return [e for e in events if e.key == store_id and (family is None or e.topic_family == family)]


def _signature(events: Sequence[SimEvent]) -> list[tuple[str, str, bytes]]:
    return [(e.topic_family, e.key, orjson.dumps(e.value)) for e in events]


def _later_than_bound(sent: Sequence[SimEvent], bound_ms: int) -> list[SimEvent]:
    """Events sent after an event of the same store whose ts exceeds theirs by > bound_ms."""
    newest: dict[str, int] = {}
    out = []
    for ev in sent:
        if ev.ts_ms < newest.get(ev.key, ev.ts_ms) - bound_ms:
            out.append(ev)
        newest[ev.key] = max(newest.get(ev.key, ev.ts_ms), ev.ts_ms)
    return out


def _inversions(sent: Sequence[SimEvent], store_id: str) -> int:
    times = [e.ts_ms for e in sent if e.key == store_id]
    return sum(b < a for a, b in itertools.pairwise(times))


def test_doctests() -> None:
    assert doctest.testmod(store_profiles).failed == 0
    assert doctest.testmod(durations).failed == 0


def test_same_seed_same_events_and_other_seed_differs() -> None:
    specs = ("tiny:store-002", "burst:store-001:every=1h", "out_of_order:max=2s")

    def sent(seed: int) -> list[SimEvent]:
        sim = _sim(3, seed, 10.0, *specs)
        return [
            ev
            for _, ev in send_order(
                sim.until(MIDNIGHT_MS + 30 * MINUTE_MS), sim.max_disorder_ms, seed
            )
        ]

    a, b, c = sent(3), sent(3), sent(4)
    assert _signature(a) == _signature(b)
    assert _signature(a) != _signature(c)


def test_a_steady_profile_without_a_rate_changes_nothing() -> None:
    plain = Simulator(3, 9, MIDNIGHT_MS, 60.0).take(20_000)
    steady = _sim(3, 9, 60.0, "steady").take(20_000)
    assert _signature(steady) == _signature(plain)


def test_steady_rate_sets_the_stores_mean_events_per_second() -> None:
    sim = _sim(2, 5, 2.0, "steady:store-002:rate=4", diurnal=False)
    events = list(sim.until(MIDNIGHT_MS + HOUR_MS))
    per_s = len(_of(events, "store-002")) / 3600
    assert 3.2 < per_s < 4.8


def test_tiny_store_sends_orders_about_every_few_minutes_and_no_clicks() -> None:
    sim = _sim(2, 7, 0.5, "tiny:store-002")
    events = list(sim.until(MIDNIGHT_MS + DAY_MS))
    tiny = _of(events, "store-002")
    families = Counter(e.topic_family for e in tiny)
    assert families["shop.clicks"] == 0
    assert families["shop.inventory"] == 0
    placed = sorted(
        e.ts_ms for e in tiny if e.topic_family == "shop.orders" and e.value["status"] == "placed"
    )
    mean_gap_min = DAY_MS / len(placed) / MINUTE_MS
    assert 3.0 < mean_gap_min < 5.5  # the default: one about every 4 minutes
    conversations = {e.value["conversation_id"] for e in tiny if e.topic_family == "shop.chats"}
    assert 0 < len(conversations) < len(placed)  # a chat now and then
    assert all("session_id" not in e.value for e in tiny if e.topic_family == "shop.orders")
    for ev in tiny:
        assert not isinstance(decode_event(ev.topic_family, orjson.dumps(ev.value)), Rejection)
    other = Counter(e.topic_family for e in _of(events, "store-001"))
    assert other["shop.clicks"] > 0  # the other store is unchanged
    assert other["shop.inventory"] > 0


def test_tiny_every_sets_the_order_rate() -> None:
    sim = _sim(1, 2, 10.0, "tiny:every=30s", diurnal=False)
    events = list(sim.until(MIDNIGHT_MS + 2 * HOUR_MS))
    placed = [
        e for e in events if e.topic_family == "shop.orders" and e.value["status"] == "placed"
    ]
    assert 0.7 * 240 < len(placed) < 1.3 * 240


def _local_minute(sim: Simulator, ev: SimEvent) -> int:
    return sim.store(ev.key).local_ms(ev.ts_ms) % DAY_MS // MINUTE_MS


def test_night_silent_store_sends_nothing_at_night() -> None:
    sim = _sim(2, 4, 0.6, "night_silent:store-002")
    events = list(sim.until(MIDNIGHT_MS + DAY_MS))
    night = _of(events, "store-002")
    minutes = Counter(_local_minute(sim, e) // 60 for e in night)
    assert not [h for h in minutes if h >= 23 or h < 7], minutes
    assert minutes[22] > 0  # awake right up to the night ...
    assert minutes[7] > 0  # ... and right after it
    assert sum(minutes.values()) == len(night)
    others = Counter(_local_minute(sim, e) // 60 for e in _of(events, "store-001"))
    assert others[3] > 0  # only the profiled store is silent


def test_night_silent_window_is_configurable_and_local() -> None:
    sim = _sim(2, 4, 1.0, "night_silent:store-002:from=12:30,to=14")
    store = sim.store("store-002")
    assert store.utc_offset_min != 0  # the window is in the store's own time
    events = list(sim.until(MIDNIGHT_MS + DAY_MS))
    minutes = {_local_minute(sim, e) for e in _of(events, "store-002")}
    assert not {m for m in minutes if 12 * 60 + 30 <= m < 14 * 60}
    assert 12 * 60 + 29 in minutes or 12 * 60 + 28 in minutes
    assert 14 * 60 in minutes or 14 * 60 + 1 in minutes


def _sessions_started(events: Sequence[SimEvent], store_id: str) -> list[int]:
    first: dict[str, int] = {}
    for ev in _of(events, store_id, "shop.clicks"):
        first.setdefault(ev.value["session_id"], ev.ts_ms)
    return sorted(first.values())


def test_burst_is_ten_times_the_traffic_for_fifteen_minutes() -> None:
    sim = _sim(2, 8, 3.0, "burst:store-002:every=2h", diurnal=False)
    end_ms = MIDNIGHT_MS + 6 * HOUR_MS
    events = list(sim.until(end_ms))
    windows = sim.shapes["store-002"].burst_windows(MIDNIGHT_MS, end_ms)
    assert len(windows) == 3  # one in each 2-hour period, at a seeded minute
    assert all(e - s == 15 * MINUTE_MS and f == 10.0 for s, e, f in windows)
    assert all(s % MINUTE_MS == 0 for s, _, _ in windows)
    starts = _sessions_started(events, "store-002")
    inside = sum(any(s <= t < e for s, e, _ in windows) for t in starts)
    outside = len(starts) - inside
    inside_min = 15 * len(windows)
    rate_ratio = (inside / inside_min) / (outside / (6 * 60 - inside_min))
    assert 8.0 < rate_ratio < 12.0
    chats = [e.ts_ms for e in _of(events, "store-002", "shop.chats") if e.value["kind"] == "opened"]
    chats_inside = sum(any(s <= t < e for s, e, _ in windows) for t in chats)
    assert chats_inside > 3 * (len(chats) - chats_inside) * inside_min / (360 - inside_min)
    other = _sessions_started(events, "store-001")
    other_inside = sum(any(s <= t < e for s, e, _ in windows) for t in other)
    assert other_inside < 2 * len(other) * inside_min / 360  # the other store: no burst


def test_bursts_are_seeded_per_store() -> None:
    def windows(seed: int, store: str) -> list[tuple[int, int, float]]:
        shapes = shape_stores(
            [TrafficProfile("burst", every_ms=HOUR_MS)],
            [("store-001", 0), ("store-002", 0)],
            seed=seed,
            origin_ms=MIDNIGHT_MS,
        )
        return shapes[store].burst_windows(MIDNIGHT_MS, MIDNIGHT_MS + DAY_MS)

    assert windows(1, "store-001") == windows(1, "store-001")
    assert windows(1, "store-001") != windows(2, "store-001")
    assert windows(1, "store-001") != windows(1, "store-002")
    assert len(windows(1, "store-001")) == 24


def test_gap_store_is_silent_for_days_then_active_again() -> None:
    sim = _sim(2, 6, 0.3, "gap:store-001:start=+12h,length=2d", diurnal=False)
    gap_start, gap_end = MIDNIGHT_MS + 12 * HOUR_MS, MIDNIGHT_MS + 12 * HOUR_MS + 2 * DAY_MS
    events = list(sim.until(gap_end + HOUR_MS))
    gapped = [e.ts_ms for e in _of(events, "store-001")]
    assert not [t for t in gapped if gap_start <= t < gap_end]
    before = [t for t in gapped if t < gap_start]
    after = [t for t in gapped if t >= gap_end]
    assert before
    assert after
    assert max(before) > gap_start - MINUTE_MS  # busy right up to the gap
    assert min(after) < gap_end + MINUTE_MS  # and right after it
    other = [e.ts_ms for e in _of(events, "store-002")]
    assert [t for t in other if gap_start <= t < gap_end]


def test_several_gaps_and_a_night_stack_on_one_store() -> None:
    sim = _sim(
        1,
        6,
        0.5,
        "gap:start=+1h,length=1h",
        "gap:start=+5h,length=30m",
        "night_silent:from=23:00,to=07:00",
    )
    events = list(sim.until(MIDNIGHT_MS + DAY_MS))
    shape = sim.shapes["store-001"]
    assert shape.profiles == ("gap", "gap", "night_silent")
    assert events
    assert not [e for e in events if shape.silent(e.ts_ms)]
    silent_hours = {h for h in range(24) if shape.silent(MIDNIGHT_MS + h * HOUR_MS + 1)}
    local = sim.store("store-001").utc_offset_min // 60
    night = {(h - local) % 24 for h in (23, 0, 1, 2, 3, 4, 5, 6)}
    assert silent_hours == night | {1, 5}


def test_out_of_order_sends_within_the_bound_and_keeps_other_stores_in_order() -> None:
    bound_ms = 2_000
    sim = _sim(3, 12, 30.0, f"out_of_order:store-001:max={bound_ms}ms", "out_of_order:store-003")
    assert sim.max_disorder_ms == {"store-001": 2_000, "store-003": 2_000}
    source = list(sim.until(MIDNIGHT_MS + 20 * MINUTE_MS))
    pairs = list(send_order(source, sim.max_disorder_ms, seed=12))
    sent = [ev for _, ev in pairs]
    assert sorted(_signature(sent)) == sorted(_signature(source))  # each event exactly once
    assert not _later_than_bound(sent, bound_ms)
    assert _later_than_bound(sent, bound_ms // 4)  # a tighter bound would not hold
    assert _inversions(sent, "store-001") > 100
    assert _inversions(sent, "store-002") == 0  # no profile: its own order is kept
    sends = [send_ms for send_ms, _ in pairs]
    assert sends == sorted(sends)
    assert all(0 <= s - ev.ts_ms <= bound_ms for s, ev in pairs)
    again = [ev for _, ev in send_order(source, sim.max_disorder_ms, seed=12)]
    assert _signature(again) == _signature(sent)


def test_no_disorder_is_the_identity() -> None:
    source = Simulator(2, 1, MIDNIGHT_MS, 50.0).take(2_000)
    assert [(s, ev) for s, ev in send_order(source, {}, seed=1)] == [
        (ev.ts_ms, ev) for ev in source
    ]


def test_send_order_refuses_events_out_of_event_time_order() -> None:
    source = Simulator(1, 1, MIDNIGHT_MS, 50.0).take(50)
    with pytest.raises(ValueError, match="non-decreasing"):
        list(send_order([source[-1], source[0]], {"store-001": 10}, seed=1))


@settings(max_examples=100, deadline=None)
@given(
    gaps=st.lists(st.integers(0, 3_000), min_size=1, max_size=300),
    stores=st.lists(st.sampled_from("abc"), min_size=300, max_size=300),
    bounds=st.dictionaries(st.sampled_from("abc"), st.integers(0, 5_000)),
    seed=st.integers(0, 10),
)
def test_the_disorder_bound_holds_for_any_stream(
    gaps: list[int], stores: list[str], bounds: dict[str, int], seed: int
) -> None:
    times = list(itertools.accumulate(gaps))
    source = [
        SimEvent("shop.clicks", store, {"i": i}, ts)
        for i, (store, ts) in enumerate(zip(stores, times, strict=False))
    ]
    sent = [ev for _, ev in send_order(source, bounds, seed)]
    assert sorted(ev.value["i"] for ev in sent) == list(range(len(source)))
    for store in "abc":
        bound_ms = bounds.get(store, 0)
        assert not _later_than_bound([e for e in sent if e.key == store], bound_ms)
    # Globally: nothing is sent after an event newer than its own ts plus its own bound.
    newest = 0
    for ev in sent:
        assert ev.ts_ms >= newest - bounds.get(ev.key, 0)
        newest = max(newest, ev.ts_ms)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sleepy:store-001", "unknown name"),
        ("tiny:store-001:rate=2", "takes no 'rate'"),
        ("tiny:store-001:every", "takes no 'every'"),
        ("burst:store-001:length=2h,every=1h", "at most every"),
        ("burst:factor=-1", "factor"),
        ("night_silent:from=25:00", "local time"),
        ("night_silent:from=7,to=7", "must differ"),
        ("gap:store-001:length=0", "length"),
        ("gap:store-001:start=soon", "duration"),
        ("steady:rate=0", "rate"),
        ("out_of_order:max=-1s", "duration"),
        ("tiny::every=2m", "empty store id"),
        ("variance:rate=3", "takes no 'rate'"),
        ("variance:day_sd=lots", "not a number"),
        ("variance:store-001:day_sd=-0.1", "day_sd must be"),
        ("variance:lag=0.5/0.4", "add up to 1"),
        ("variance:lag=half", "not numbers"),
        ("variance:shift=0.2", "not a range"),
        ("variance:weekday=1/1/1", "7 factors"),
        ("variance:k=0", "k must be"),
        ("variance:wander=soon", "duration"),
        ("variance:shift_days=0.5", "shift_days"),
    ],
)
def test_bad_profile_specs_are_rejected(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _sim(2, 1, 10.0, spec)


def test_profile_for_an_unknown_store_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown store 'store-009'"):
        _sim(2, 1, 10.0, "tiny:store-009")


def test_the_last_rate_wins_and_tiny_turns_off_clicks() -> None:
    shapes = shape_stores(
        [
            TrafficProfile.parse("tiny:s", 0),
            TrafficProfile.parse("burst:s:rate=3", 0),
        ],
        [("s", 0)],
        seed=1,
        origin_ms=0,
    )
    shape = shapes["s"]
    assert (shape.rate_per_s, shape.order_every_ms, shape.clicks) == (3.0, None, False)
    assert shape == StoreShape(
        "s",
        seed=1,
        rate_per_s=3.0,
        clicks=False,
        inventory=False,
        bursts=shape.bursts,
        profiles=("tiny", "burst"),
    )


def test_variance_takes_real_shops_defaults_and_every_parameter() -> None:
    default = TrafficProfile.parse("variance", 0)
    assert (default.store_id, default.variance) == ("*", Variance())
    assert TrafficProfile("variance").variance == Variance()
    assert TrafficProfile("steady").variance is None
    spec = (
        "variance:store-003:weekday=1/1/1/1/1/2/2,day_sd=0.2,shift_days=7,shift=0.1/0.2,"
        "wander_sd=0.05,wander=90m,k=inf,conversion_sd=0,lag=0.5/0.5"
    )
    parsed = TrafficProfile.parse(spec, 0)
    assert parsed.store_id == "store-003"
    assert parsed.variance == Variance(
        weekday=(1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0),
        day_sd=0.2,
        shift_every_days=7.0,
        shift_size=(0.1, 0.2),
        wander_sd=0.05,
        wander_minutes=90.0,
        dispersion=None,
        conversion_sd=0.0,
        payment_lag=(0.5, 0.5),
    )
    assert TrafficProfile.parse("variance:k=25", 0).variance == Variance(dispersion=25.0)


def test_the_last_variance_wins_and_stacks_with_other_profiles() -> None:
    profiles = [
        TrafficProfile.parse(spec, 0)
        for spec in ("variance", "tiny:b", "variance:b:k=inf", "night_silent:c")
    ]
    shapes = shape_stores(profiles, [("a", 0), ("b", 0), ("c", 60)], seed=1, origin_ms=0)
    assert shapes["a"].variance == shapes["c"].variance == Variance()
    assert shapes["b"].variance == Variance(dispersion=None)
    assert shapes["b"].profiles == ("variance", "tiny", "variance")
    assert (shapes["b"].clicks, shapes["c"].quiet_min) == (False, ((23 * 60, 7 * 60),))
    tiny_only = shape_stores(profiles[1:2], [("b", 0)], seed=1, origin_ms=0)["b"]
    assert tiny_only.variance is None


def test_variance_stores_keep_their_other_shapes() -> None:
    """A tiny store and a night-silent one under real shops' variance stay tiny and silent."""
    sim = _sim(3, 6, 3.0, "variance", "tiny:store-002", "night_silent:store-003")
    assert sim.store("store-003").utc_offset_min == 0
    events = list(sim.span(9 * HOUR_MS))
    assert {e.topic_family for e in _of(events, "store-002")} == {"shop.orders", "shop.chats"}
    hours = Counter((e.ts_ms - MIDNIGHT_MS) // HOUR_MS for e in _of(events, "store-003"))
    assert set(hours) == {7, 8}  # silent 23:00-07:00
    assert all(sim.store(s).variance is not None for s in ("store-001", "store-002", "store-003"))
