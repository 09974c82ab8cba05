"""The seeded traffic generator: determinism, validity, realism and incidents."""

from __future__ import annotations

import hashlib
import itertools
import statistics
from collections import Counter, defaultdict

import orjson
import pytest

from shoppulse.events import ChatEvent, OrderEvent, Rejection, decode_event
from simulator.funnel import CHANNELS
from simulator.incidents import Incident
from simulator.simulation import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    SimEvent,
    Simulator,
    diurnal_factor,
    parse_duration_ms,
)
from simulator.store_profiles import TrafficProfile

MIDNIGHT_MS = 1_699_920_000_000  # 2023-11-14T00:00:00Z
NOON_MS = MIDNIGHT_MS + 12 * HOUR_MS


def _signature(events: list[SimEvent]) -> list[tuple[str, str, bytes]]:
    return [(e.topic_family, e.key, orjson.dumps(e.value)) for e in events]


@pytest.fixture(scope="module")
def day() -> tuple[Simulator, list[SimEvent]]:
    """A whole day of three stores at a low rate (≈ 260k events)."""
    sim = Simulator(stores=3, seed=11, start_ms=MIDNIGHT_MS, events_per_s=3.0)
    return sim, list(sim.span(DAY_MS))


def test_same_seed_same_events_and_other_seed_differs() -> None:
    a = Simulator(stores=4, seed=3, start_ms=NOON_MS, events_per_s=200.0).take(5000)
    b = Simulator(stores=4, seed=3, start_ms=NOON_MS, events_per_s=200.0).take(5000)
    c = Simulator(stores=4, seed=4, start_ms=NOON_MS, events_per_s=200.0).take(5000)
    assert _signature(a) == _signature(b)
    assert _signature(a) != _signature(c)


def test_resumable_calls_continue_the_same_stream() -> None:
    whole = Simulator(stores=2, seed=9, start_ms=NOON_MS, events_per_s=100.0).take(3000)
    sim = Simulator(stores=2, seed=9, start_ms=NOON_MS, events_per_s=100.0)
    parts = sim.take(1000) + list(sim.until(sim.now_ms + 5_000))
    parts += sim.take(3000 - len(parts))
    assert _signature(parts) == _signature(whole)


def test_until_stops_at_the_end_and_advances_the_clock() -> None:
    sim = Simulator(stores=2, seed=1, start_ms=NOON_MS, events_per_s=100.0)
    first = list(sim.until(NOON_MS + 30_000))
    assert first
    assert all(NOON_MS <= e.ts_ms < NOON_MS + 30_000 for e in first)
    assert sim.now_ms >= NOON_MS + 30_000
    assert all(e.ts_ms >= NOON_MS + 30_000 for e in sim.take(100))


def test_twenty_thousand_events_span_minutes_of_event_time() -> None:
    # Generation speed is not asserted (quality bars are benchmarks, not timed tests);
    # this takes about 0.3 s.
    events = Simulator(stores=5, seed=2, start_ms=NOON_MS, events_per_s=80.0).take(20_000)
    span_ms = events[-1].ts_ms - events[0].ts_ms
    assert 2 * MINUTE_MS < span_ms < 10 * MINUTE_MS


def test_events_decode_and_are_ordered_and_unique(
    day: tuple[Simulator, list[SimEvent]],
) -> None:
    _, events = day
    ids = set()
    ts_kinds: Counter[str] = Counter()
    previous = events[0].ts_ms
    for ev in events:
        decoded = decode_event(ev.topic_family, orjson.dumps(ev.value))
        assert not isinstance(decoded, Rejection), (decoded, ev.value)
        assert decoded.ts_ms == ev.ts_ms
        assert decoded.store_id == ev.key == ev.value["store_id"]
        assert ev.ts_ms >= previous
        previous = ev.ts_ms
        ids.add(ev.value["event_id"])
        ts_kinds[type(ev.value["ts"]).__name__] += 1
    assert len(ids) == len(events)
    assert ts_kinds["int"] > 0
    assert ts_kinds["str"] > 0  # some RFC 3339, all valid


def test_daily_volume_matches_the_requested_rate(day: tuple[Simulator, list[SimEvent]]) -> None:
    _, events = day
    assert 0.85 * 3.0 * 86_400 < len(events) < 1.15 * 3.0 * 86_400


def test_funnel_is_monotonic_per_store(day: tuple[Simulator, list[SimEvent]]) -> None:
    sim, events = day
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for ev in events:
        kind = ev.value.get("kind") if ev.topic_family == "shop.clicks" else None
        if kind:
            counts[ev.key][kind] += 1
        elif ev.topic_family == "shop.orders":
            counts[ev.key][ev.value["status"]] += 1
    assert set(counts) == {s.store_id for s in sim.stores}
    for c in counts.values():
        assert c["impression"] >= c["product_view"] >= c["add_to_cart"] >= c["checkout"]
        assert c["checkout"] >= c["placed"] >= c["paid"] > 0
        assert c["shipped"] > 0
        assert c["cancelled"] > 0
    # Store sizes differ, largest first.
    sessions = [counts[s.store_id]["page_view"] for s in sim.stores]
    assert sessions == sorted(sessions, reverse=True)


def test_diurnal_shape_per_store(day: tuple[Simulator, list[SimEvent]]) -> None:
    sim, events = day
    for store in sim.stores:
        per_hour = Counter(
            (store.local_ms(ev.ts_ms) % DAY_MS) // HOUR_MS
            for ev in events
            if ev.key == store.store_id and ev.topic_family == "shop.clicks"
        )
        night, noon, afternoon, evening = per_hour[4], per_hour[12], per_hour[16], per_hour[20]
        assert night < 0.25 * noon
        assert afternoon < noon < evening
        assert afternoon < 0.8 * evening


def test_diurnal_factor_shape() -> None:
    values = [diurnal_factor(m * MINUTE_MS) for m in range(1440)]
    assert sum(values) / 1440 == pytest.approx(1.0)
    assert min(values) == pytest.approx(diurnal_factor(4 * HOUR_MS), rel=0.3)
    assert 20 * 60 <= values.index(max(values)) < 21 * 60  # the evening peak
    noon_peak = max(values[11 * 60 : 14 * 60])
    assert min(values[14 * 60 : 18 * 60]) < 0.6 * noon_peak  # an afternoon dip


def test_orders_are_consistent(day: tuple[Simulator, list[SimEvent]]) -> None:
    sim, events = day
    currencies: dict[str, set[str]] = defaultdict(set)
    history: dict[str, list[str]] = defaultdict(list)
    customers: Counter[tuple[str, str]] = Counter()
    for ev in events:
        if ev.topic_family != "shop.orders":
            continue
        order = decode_event("shop.orders", orjson.dumps(ev.value))
        assert isinstance(order, OrderEvent)
        assert order.amount_minor == sum(i.qty * i.unit_price_minor for i in order.items)
        assert order.cost_minor is not None
        assert 0 < order.cost_minor < order.amount_minor
        currencies[order.store_id].add(order.currency)
        history[order.order_id].append(order.status)
        if order.status == "paid":
            customers[(order.store_id, order.customer_id)] += 1
    assert all(len(c) == 1 for c in currencies.values())
    assert len({next(iter(c)) for c in currencies.values()}) == len(sim.stores)
    allowed = {
        ("placed",),
        ("placed", "paid"),
        ("placed", "cancelled"),
        ("placed", "paid", "cancelled"),
        ("placed", "paid", "shipped"),
        ("placed", "paid", "shipped", "refunded"),
    }
    assert {tuple(h) for h in history.values()} <= allowed
    assert any(n > 1 for n in customers.values())  # repeat customers


def test_paid_channel_clicks_carry_ad_cost(day: tuple[Simulator, list[SimEvent]]) -> None:
    _, events = day
    clicks = [e.value for e in events if e.topic_family == "shop.clicks"]
    costs = [c for c in clicks if "cost_minor" in c]
    assert costs
    assert all(c["channel"] == "paid" and c["cost_minor"] > 0 for c in costs)
    assert {c["channel"] for c in clicks} == set(CHANNELS)


def test_chats_have_a_lifecycle(day: tuple[Simulator, list[SimEvent]]) -> None:
    _, events = day
    kinds: Counter[str] = Counter()
    ratings: Counter[int] = Counter()
    nps = complaints = 0
    for ev in events:
        if ev.topic_family != "shop.chats":
            continue
        chat = decode_event("shop.chats", orjson.dumps(ev.value))
        assert isinstance(chat, ChatEvent)
        kinds[chat.kind] += 1
        if chat.kind == "opened":
            assert chat.complaint is not None
            complaints += chat.complaint
        if chat.kind == "rated":
            assert chat.rating is not None
            ratings[chat.rating] += 1
            nps += chat.nps is not None
        if chat.kind in ("agent_message", "resolved", "rated", "transferred", "escalated"):
            assert chat.agent_id
    assert set(kinds) == {
        "opened",
        "customer_message",
        "agent_message",
        "transferred",
        "escalated",
        "resolved",
        "rated",
    }
    assert kinds["opened"] > kinds["resolved"] > kinds["rated"] > 0
    assert set(ratings) == {1, 2, 3, 4, 5}
    assert 0 < nps < kinds["rated"]
    assert 0 < complaints < kinds["opened"]


def test_inventory_falls_with_sales_and_restocks(day: tuple[Simulator, list[SimEvent]]) -> None:
    sim, events = day
    levels: dict[str, list[int]] = defaultdict(list)
    for ev in events:
        if ev.topic_family == "shop.inventory":
            levels[ev.value["sku"]].append(ev.value["on_hand"])
    assert len(levels) == sum(len(s.skus) for s in sim.stores)  # the initial levels
    falls = rises = 0
    for series in levels.values():
        for a, b in itertools.pairwise(series):
            falls += b < a
            rises += b > a
    assert falls > 1000
    assert rises > 0  # restocks


def _window(events: list[SimEvent], store: str, start_ms: int, end_ms: int) -> list[SimEvent]:
    return [e for e in events if e.key == store and start_ms <= e.ts_ms < end_ms]


def test_conversion_drop_lowers_paid_conversion() -> None:
    start, end = NOON_MS + 10 * MINUTE_MS, NOON_MS + 70 * MINUTE_MS
    incident = Incident("conversion_drop", "store-001", start, end, 0.2)
    sim = Simulator(stores=2, seed=5, start_ms=NOON_MS, incidents=[incident], diurnal=False)
    events = list(sim.span(80 * MINUTE_MS))

    def paid_share(store: str, lo: int, hi: int) -> float:
        statuses = Counter(
            e.value["status"]
            for e in _window(events, store, lo, hi)
            if e.topic_family == "shop.orders"
        )
        return statuses["paid"] / max(1, statuses["placed"])

    during = paid_share("store-001", start + MINUTE_MS, end)
    other = paid_share("store-002", start + MINUTE_MS, end)
    before = paid_share("store-001", NOON_MS, start)
    assert during < 0.35
    assert before > 0.75
    assert other > 0.75


def test_traffic_spike_multiplies_sessions() -> None:
    start, end = NOON_MS + 10 * MINUTE_MS, NOON_MS + 20 * MINUTE_MS
    incident = Incident.parse("traffic_spike:store-002:+10m:10m:3", origin_ms=NOON_MS)
    assert (incident.start_ms, incident.end_ms) == (start, end)
    sim = Simulator(stores=2, seed=5, start_ms=NOON_MS, incidents=[incident], diurnal=False)
    events = list(sim.span(25 * MINUTE_MS))

    def sessions(store: str, lo: int, hi: int) -> int:
        return len(
            {
                e.value["session_id"]
                for e in _window(events, store, lo, hi)
                if e.topic_family == "shop.clicks"
            }
        )

    before = sessions("store-002", NOON_MS, start)
    during = sessions("store-002", start, end)
    assert 2.3 * before < during < 3.7 * before
    other_ratio = sessions("store-001", start, end) / sessions("store-001", NOON_MS, start)
    assert 0.8 < other_ratio < 1.25


def test_chat_surge_multiplies_chats_and_slows_answers() -> None:
    start, end = NOON_MS + 10 * MINUTE_MS, NOON_MS + 20 * MINUTE_MS
    incident = Incident("chat_surge", "*", start, end, 5.0)
    sim = Simulator(stores=2, seed=5, start_ms=NOON_MS, incidents=[incident], diurnal=False)
    events = list(sim.span(25 * MINUTE_MS))
    opened = Counter(
        (e.ts_ms >= start) + (e.ts_ms >= end)
        for e in events
        if e.topic_family == "shop.chats" and e.value["kind"] == "opened"
    )
    assert opened[1] > 3.5 * opened[0]  # the surge window vs the 10 minutes before


def test_stock_out_empties_best_sellers_until_the_end() -> None:
    start, end = NOON_MS + 5 * MINUTE_MS, NOON_MS + 15 * MINUTE_MS
    incident = Incident("stock_out", "store-001", start, end, 0.1)
    sim = Simulator(stores=2, seed=5, start_ms=NOON_MS, incidents=[incident], diurnal=False)
    events = list(sim.span(20 * MINUTE_MS))
    out = {f"store-001-sku-{k:03d}" for k in range(1, 5)}  # 10% of 40 SKUs
    at_start = {
        e.value["sku"]: e.value["on_hand"]
        for e in events
        if e.topic_family == "shop.inventory" and e.ts_ms == start
    }
    assert at_start == dict.fromkeys(out, 0)
    carts_during = [
        e.value["sku"]
        for e in _window(events, "store-001", start, end)
        if e.topic_family == "shop.clicks" and e.value["kind"] == "add_to_cart"
    ]
    assert carts_during
    assert not out & set(carts_during)
    carts_before = [
        e.value["sku"]
        for e in _window(events, "store-001", NOON_MS, start)
        if e.topic_family == "shop.clicks" and e.value["kind"] == "add_to_cart"
    ]
    assert out & set(carts_before)  # best sellers sell when in stock
    restocked = {
        e.value["sku"]: e.value["on_hand"]
        for e in events
        if e.topic_family == "shop.inventory" and e.ts_ms == end
    }
    assert set(restocked) == out
    assert all(v > 0 for v in restocked.values())


@pytest.mark.parametrize(
    "spec",
    [
        "conversion_drop:store-001:+10m",
        "meltdown:store-001:+10m:5m",
        "traffic_spike::+10m:5m",
        "traffic_spike:store-001:+10m:0m",
        "traffic_spike:store-001:+10m:5m:-1",
        "traffic_spike:store-001:soon:5m",
    ],
)
def test_bad_incident_specs_are_rejected(spec: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        Incident.parse(spec, origin_ms=NOON_MS)


def test_incident_for_unknown_store_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown store"):
        Simulator(
            stores=2,
            seed=1,
            start_ms=NOON_MS,
            incidents=[Incident("stock_out", "store-009", NOON_MS, NOON_MS + 1)],
        )


def test_parse_duration() -> None:
    assert parse_duration_ms("1d") == DAY_MS
    with pytest.raises(ValueError, match="duration"):
        parse_duration_ms("ten minutes")


# -- real shops' variance (the ``variance`` profile) ------------------------------------

#: Tuesday 2023-11-14 06:00 UTC: six hours of one local day for stores up to UTC+9.
VARIANCE_START_MS = MIDNIGHT_MS + 6 * HOUR_MS
VARIANCE_MINUTES = 360


def _digest(events: list[SimEvent]) -> str:
    h = hashlib.sha256()
    for e in events:
        h.update(e.topic_family.encode())
        h.update(e.key.encode())
        h.update(orjson.dumps(e.value))
        h.update(str(e.ts_ms).encode())
    return h.hexdigest()[:16]


def _variance(spec: str = "variance") -> list[TrafficProfile]:
    return [TrafficProfile.parse(spec, origin_ms=VARIANCE_START_MS)]


def _sessions_per_minute(events: list[SimEvent], start_ms: int, minutes: int) -> list[int]:
    """New sessions per minute: a session's first click (its landing page view) starts it."""
    seen: set[str] = set()
    per: Counter[int] = Counter()
    for e in events:
        if e.topic_family == "shop.clicks" and e.value["session_id"] not in seen:
            seen.add(e.value["session_id"])
            per[(e.ts_ms - start_ms) // MINUTE_MS] += 1
    return [per[m] for m in range(minutes)]


def _payment_lags(events: list[SimEvent]) -> Counter[int]:
    """Minutes from each paid order's checkout click to its payment."""
    checkout: dict[str, int] = {}
    lags: Counter[int] = Counter()
    for e in events:
        if e.topic_family == "shop.clicks" and e.value["kind"] == "checkout":
            checkout[e.value["session_id"]] = e.ts_ms
        elif e.topic_family == "shop.orders" and e.value["status"] == "paid":
            lags[e.ts_ms // MINUTE_MS - checkout[e.value["session_id"]] // MINUTE_MS] += 1
    return lags


@pytest.fixture(scope="module")
def dispersed() -> list[SimEvent]:
    """Six flat hours of one store, ~100 sessions a minute, under the variance profile with
    only its gamma factor per minute (and payment lag) left: ≈ 250k events."""
    spec = "variance:day_sd=0,shift_days=0,wander_sd=0,conversion_sd=0"
    sim = Simulator(
        1, 3, VARIANCE_START_MS, None, diurnal=False, sessions_per_min=100, profiles=_variance(spec)
    )
    return list(sim.span(VARIANCE_MINUTES * MINUTE_MS))


def test_without_a_profile_the_stream_is_unchanged() -> None:
    """Pinned: the tame stream (with incidents, and with the other profiles) is byte for byte
    what it was before the variance profile existed."""
    incidents = [
        Incident.parse("conversion_drop:store-001:+1m:3m", NOON_MS),
        Incident.parse("traffic_spike:*:+2m:1m", NOON_MS),
    ]
    tame = Simulator(3, 5, NOON_MS, 200.0, incidents=incidents).take(20_000)
    assert _digest(tame) == "309a08d0ad0f7f54"
    specs = ("tiny:store-002", "burst:store-001:every=1h", "night_silent:store-003")
    profiles = [TrafficProfile.parse(spec, NOON_MS) for spec in specs]
    shaped = Simulator(3, 5, NOON_MS, 200.0, profiles=profiles).take(20_000)
    assert _digest(shaped) == "4ffe318c567f7742"
    assert all(s.variance is None for s in Simulator(3, 5, NOON_MS, profiles=profiles).stores)


def test_variance_is_deterministic_per_seed_and_differs_from_tame() -> None:
    def run(seed: int, profiles: list[TrafficProfile]) -> str:
        return _digest(Simulator(3, seed, NOON_MS, 200.0, profiles=profiles).take(6000))

    assert run(3, _variance()) == run(3, _variance())
    assert run(3, _variance()) != run(4, _variance())
    assert run(3, _variance()) != run(3, [])


def test_sessions_per_minute_are_dispersed_above_poisson_by_mu_squared_over_k(
    dispersed: list[SimEvent],
) -> None:
    counts = _sessions_per_minute(dispersed, VARIANCE_START_MS, VARIANCE_MINUTES)
    mean, var = statistics.mean(counts), statistics.variance(counts)
    assert mean == pytest.approx(100 * 1.0, rel=0.05)  # a Tuesday: weekday factor 1
    # Var = μ + μ²/k with k = 100: twice Poisson here (sd of the estimate ≈ 8 %).
    assert var / mean == pytest.approx(1 + mean / 100, rel=0.25)
    assert var / mean > 1.6
    tame = Simulator(1, 3, VARIANCE_START_MS, None, diurnal=False, sessions_per_min=100)
    tame_counts = _sessions_per_minute(list(tame.span(60 * MINUTE_MS)), VARIANCE_START_MS, 60)
    assert statistics.variance(tame_counts) / statistics.mean(tame_counts) < 1.4  # Poisson


def test_payments_land_zero_to_three_minutes_after_their_checkout(
    dispersed: list[SimEvent],
) -> None:
    lags = _payment_lags(dispersed)
    paid = sum(lags.values())
    assert paid > 1500
    assert set(lags) == {0, 1, 2, 3}
    shares = [lags[m] / paid for m in range(4)]
    assert shares == pytest.approx([0.4, 0.3, 0.2, 0.1], abs=0.04)
    # Each order is placed between its checkout and its payment.
    placed: dict[str, int] = {}
    checkout: dict[str, int] = {}
    for e in dispersed:
        if e.topic_family == "shop.clicks" and e.value["kind"] == "checkout":
            checkout[e.value["session_id"]] = e.ts_ms
        elif e.topic_family == "shop.orders" and e.value["status"] == "placed":
            placed[e.value["order_id"]] = e.ts_ms
        elif e.topic_family == "shop.orders" and e.value["status"] == "paid":
            assert checkout[e.value["session_id"]] < placed[e.value["order_id"]] < e.ts_ms
    # Tame payments come seconds after the order: within a minute of the checkout.
    tame = Simulator(1, 3, VARIANCE_START_MS, None, diurnal=False, sessions_per_min=100)
    assert set(_payment_lags(list(tame.span(20 * MINUTE_MS)))) <= {0, 1}


def test_the_weekday_pattern_shows_in_the_daily_sessions() -> None:
    """Friday, Saturday and Sunday of a store at UTC+1 with only its weekday factors left:
    the daily sessions go as 0.92 : 1.12 : 1.18."""
    friday_ms = MIDNIGHT_MS + 3 * DAY_MS - HOUR_MS  # 2023-11-17T00:00 at UTC+1
    spec = "variance:day_sd=0,shift_days=0,wander_sd=0,k=inf"
    profiles = [TrafficProfile.parse(spec, origin_ms=friday_ms)]
    sim = Simulator(1, 2, friday_ms, None, sessions_per_min=4, profiles=profiles)
    assert sim.store("store-001").utc_offset_min == 60
    counts = _sessions_per_minute(list(sim.span(3 * DAY_MS)), friday_ms, 3 * 1440)
    days = [sum(counts[d * 1440 : (d + 1) * 1440]) for d in range(3)]
    assert days[0] == pytest.approx(4 * 1440 * 0.92, rel=0.06)
    assert days[1] / days[0] == pytest.approx(1.12 / 0.92, rel=0.06)
    assert days[2] / days[0] == pytest.approx(1.18 / 0.92, rel=0.06)


def test_daily_sessions_follow_the_drawn_level() -> None:
    """A week of real shops' variance: each local day's sessions are the store's rate times
    that day's drawn level (weekday x day factor x shift), give or take the wander."""
    sim = Simulator(1, 5, MIDNIGHT_MS - HOUR_MS, None, sessions_per_min=2, profiles=_variance())
    track = sim.store("store-001").variance
    assert track is not None
    counts = _sessions_per_minute(list(sim.span(7 * DAY_MS)), MIDNIGHT_MS - HOUR_MS, 7 * 1440)
    ratios = []
    for d in range(7):
        level = track.level(MIDNIGHT_MS + d * DAY_MS)
        assert 0.7 * 0.92 * 0.6 <= level <= 1.4 * 1.18 * 1.6
        ratios.append(sum(counts[d * 1440 : (d + 1) * 1440]) / (2 * 1440 * level))
    assert all(0.8 < r < 1.2 for r in ratios), ratios
    levels = {round(track.level(MIDNIGHT_MS + d * DAY_MS), 6) for d in range(7)}
    assert len(levels) == 7  # every day its own level
