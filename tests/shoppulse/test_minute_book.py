from __future__ import annotations

from shoppulse.events import ClickEvent, ClickKind, OrderEvent, Rejection, ShopEvent
from shoppulse.minute_book import MinuteBook, OpenMinute, StoreClock

T0 = 1_700_000_040_000  # a minute boundary
MIN = 60_000
DAY = 86_400_000


def book() -> MinuteBook:
    return MinuteBook(window_ms=MIN, grace_ms=5_000, idle_ms=10_000, max_future_ms=300_000)


def click(i: int, ts: int, store: str = "s1", session: str = "x") -> ClickEvent:
    return ClickEvent(
        event_id=f"c{i}",
        store_id=store,
        ts_ms=T0 + ts,
        session_id=session,
        visitor_id=f"v{i % 3}",
        kind="impression",
    )


def paid(i: int, ts: int, amount: int, store: str = "s1") -> OrderEvent:
    return OrderEvent(
        event_id=f"o{i}",
        store_id=store,
        ts_ms=T0 + ts,
        order_id=f"o{i}",
        customer_id="c",
        status="paid",
        amount_minor=amount,
        currency="EUR",
    )


def ingest(b: MinuteBook, ev: ShopEvent, arrival: int = 0) -> object:
    return b.ingest(ev, partition=0, arrival_ms=T0 + arrival)


def test_events_fall_into_their_event_time_minute() -> None:
    b = book()
    ingest(b, click(1, 10))
    ingest(b, click(2, MIN - 1))
    ingest(b, click(3, MIN))
    assert sorted(k[1] - T0 for k in b.minutes) == [0, MIN]
    assert b.minutes[("s1", T0)].components.counts["impressions"] == 2


def test_duplicate_event_ids_count_once() -> None:
    b = book()
    assert ingest(b, paid(1, 10, 500)) == "counted"
    assert ingest(b, paid(1, 10, 500)) == "duplicate"
    assert b.minutes[("s1", T0)].components.counts["gmv_minor"] == 500


def test_minute_closes_on_stream_time_plus_grace_not_before() -> None:
    b = book()
    ingest(b, click(1, 10))
    ingest(b, click(2, MIN + 4_999))
    assert b.due(now_ms=T0) == []
    ingest(b, click(3, MIN + 5_000))
    assert [m.window_start_ms for m in b.due(now_ms=T0)] == [T0]


def test_silent_live_store_closes_once_its_minute_has_ended_plus_grace() -> None:
    b = book()
    ingest(b, click(1, 10), arrival=1_000)
    assert b.due(now_ms=T0 + 11_000) == []  # silent for idle_ms, but the minute runs on
    assert b.due(now_ms=T0 + MIN + 4_999) == []
    assert len(b.due(now_ms=T0 + MIN + 5_000)) == 1


def test_quiet_store_keeps_every_on_time_order_of_its_open_minute() -> None:
    """Three orders 15 s apart in one minute, each arriving on time, with silences longer than
    idle_ms between them and the beat running: all three count in one final minute."""
    b = book()
    closed = []
    for i, at in enumerate((2_000, 17_000, 32_000)):
        assert ingest(b, paid(i, at, 100), arrival=at) == "counted"
        for now in range(at + 1_000, at + 15_000, 1_000):
            closed += [b.close(m, emitted_at_ms=T0 + now) for m in b.due(now_ms=T0 + now)]
    assert closed == []
    closed += [b.close(m, emitted_at_ms=T0) for m in b.due(now_ms=T0 + MIN + 5_000)]
    assert [s.components["orders_paid"] for s in closed] == [3]


def test_on_time_event_of_a_lagging_producer_within_grace_is_counted() -> None:
    """A producer that sends up to grace after the event: past the minute's end by the wall
    clock, silent for longer than idle_ms, the minute still waits for end + grace."""
    b = book()
    ingest(b, click(1, 50_000), arrival=50_000)
    assert b.due(now_ms=T0 + MIN + 4_000) == []
    assert ingest(b, click(2, MIN - 1), arrival=MIN + 4_500) == "counted"


def test_silent_store_of_a_producer_lagging_beyond_grace_closes_after_idle_ms() -> None:
    """Grace is the lateness a producer is allowed: one whose events arrive two minutes after
    they happened keeps its minutes open only while it keeps sending (idle_ms apart at most)."""
    b = book()
    lag = 2 * MIN
    ingest(b, click(1, 10_000), arrival=10_000 + lag)
    assert b.due(now_ms=T0 + 10_000 + lag + 9_999) == []
    assert ingest(b, click(2, 40_000), arrival=40_000 + lag) == "counted"
    assert len(b.due(now_ms=T0 + 40_000 + lag + 10_000)) == 1


def test_silent_backfill_closes_its_ended_minutes_after_idle_ms() -> None:
    """History (minutes that ended long ago by the wall clock) closes after idle_ms of silence,
    so a finished backfill shows its last minute as final."""
    b = book()
    ingest(b, click(1, 10), arrival=DAY)
    assert b.due(now_ms=T0 + DAY + 9_999) == []
    assert len(b.due(now_ms=T0 + DAY + 10_000)) == 1


def test_late_event_inside_grace_revises_open_minute() -> None:
    b = book()
    ingest(b, click(1, 10))
    ingest(b, click(2, MIN + 3_000))  # stream time inside grace of minute 0
    assert ingest(b, click(3, 30_000)) == "counted"
    assert b.minutes[("s1", T0)].components.counts["impressions"] == 2


def test_event_for_closed_minute_is_late() -> None:
    b = book()
    ingest(b, click(1, 10))
    ingest(b, click(2, MIN + 6_000))
    (minute,) = b.due(now_ms=T0)
    snap = b.close(minute, emitted_at_ms=T0)
    assert snap.final
    assert snap.revision == 1
    out = ingest(b, click(3, 20_000))
    assert isinstance(out, Rejection)
    assert out.reason == "late"


def test_future_event_is_rejected_and_does_not_move_stream_time() -> None:
    b = book()
    ingest(b, click(1, 10))
    out = ingest(b, click(2, 301_000 + 10))
    assert isinstance(out, Rejection)
    assert out.reason == "future_ts"
    assert b.clocks["s1"].stream_time_ms == T0 + 10


def test_stores_are_independent() -> None:
    b = book()
    ingest(b, click(1, 10, store="a"))
    ingest(b, click(2, 10 * MIN, store="b"))
    assert b.due(now_ms=T0) == []  # b's stream time does not close a's minute


def test_provisional_snapshots_carry_increasing_revisions() -> None:
    b = book()
    ingest(b, paid(1, 10, 700))
    minute = b.minutes[("s1", T0)]
    first = minute.snapshot(final=False, emitted_at_ms=T0)
    assert not minute.dirty
    ingest(b, paid(2, 20, 300))
    second = minute.snapshot(final=False, emitted_at_ms=T0)
    assert (first.revision, second.revision) == (1, 2)
    assert second.kpis["gmv_minor"] == 1000
    assert second.currency == "EUR"


def test_state_round_trip_keeps_ids_components_and_revision() -> None:
    b = book()
    for i in range(5):
        ingest(b, click(i, i * 100, session=f"s{i % 2}"))
    minute = b.minutes[("s1", T0)]
    minute.snapshot(final=False, emitted_at_ms=T0)
    again = OpenMinute.from_state(minute.to_state())
    assert again.event_ids == minute.event_ids
    assert again.components.values() == minute.components.values()
    assert again.components.values()["sessions"] == 2
    assert again.revision == 1
    clock = StoreClock.from_state(b.clocks["s1"].to_state(), arrival_ms=5)
    assert clock.stream_time_ms == b.clocks["s1"].stream_time_ms
    assert clock.last_arrival_ms == 5


def test_segments_hold_exactly_their_events_components_and_restore_the_minute() -> None:
    """A segment takes its components from its minute's growth while it was the tail: the
    segments of a busy minute, written over several persists, add up to the minute (counts
    with the store memory's deltas, distinct sets, paid orders) and restore it whole."""
    from shoppulse.components import Components
    from shoppulse.minute_book import SEGMENT_MAX_EVENTS

    b = book()
    kinds: tuple[ClickKind, ...] = (
        "impression",
        "page_view",
        "product_view",
        "add_to_cart",
        "checkout",
    )
    written: list[bytes] = []
    n = 2 * SEGMENT_MAX_EVENTS + 77
    for i in range(n):
        ev: ShopEvent = ClickEvent(
            event_id=f"c{i}",
            store_id="s1",
            ts_ms=T0 + i * 40 + (i % 7) * 3_000,
            session_id=f"s{i % 41}",
            visitor_id=f"v{i % 97}",
            kind=kinds[i % len(kinds)],
            channel="organic" if i % 3 else "paid",
        )
        if i % 13 == 0:
            ev = paid(i, i * 40, 100 + i)
        assert ingest(b, ev, arrival=i * 40) == "counted"
        if i in (100, 300, 301, 600):  # persists at odd points, also mid-segment
            [minute] = b.minutes.values()
            written.extend(raw for _, raw in minute.take_segments())
    [minute] = b.minutes.values()
    written.extend(raw for _, raw in minute.take_segments())

    segments = [OpenMinute.from_state(raw) for raw in written]
    total = Components()
    for segment in segments:
        assert len(segment.event_ids) <= SEGMENT_MAX_EVENTS
        total.merge(segment.components)
    assert total.values() == minute.components.values()
    assert total.counts["sessions_started"] == 41 > 0
    [restored] = OpenMinute.from_segments(reversed(written)).minutes
    assert restored.components.values() == minute.components.values()
    assert restored.components.sketches() == minute.components.sketches()
    assert restored.event_ids == minute.event_ids
    assert len(restored.event_ids) == n
    assert sorted(restored.paid) == sorted(minute.paid)
    assert restored.currency == "EUR"
    assert restored.journal == minute.journal
