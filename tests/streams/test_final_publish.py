"""What the worker writes to shoppulse.kpis.final (ADR 24): finals, and horizons that are
never after a snapshot of a minute still open."""

from __future__ import annotations

import asyncio
from typing import Any

from shoppulse.final_log import Horizon, decode_final_record, final_key, horizon_key
from shoppulse.snapshot import KpiSnapshot
from streams.app import TopicPublisher
from streams.final_publish import HorizonTracker

MIN = 60_000
FUTURE = 300_000


class RecordingTopic:
    """A Faust topic that records what is sent to it."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


def _snap(store: str, start: int, *, final: bool, revision: int = 1) -> KpiSnapshot:
    return KpiSnapshot(
        store_id=store,
        window_start_ms=start,
        window_end_ms=start + MIN,
        final=final,
        revision=revision,
        currency="EUR",
        components={"orders_paid": revision},
        emitted_at_ms=start + MIN,
    )


def test_a_final_goes_to_both_topics_a_provisional_to_the_kpis_only() -> None:
    kpis, dead, finals = RecordingTopic(), RecordingTopic(), RecordingTopic()
    publisher = TopicPublisher(kpis, dead, finals, {"s1": 4}.__getitem__)
    provisional, final = _snap("s1", MIN, final=False), _snap("s1", MIN, final=True, revision=2)
    asyncio.run(publisher.publish_snapshot(provisional))
    asyncio.run(publisher.publish_snapshot(final))
    asyncio.run(publisher.publish_horizons([Horizon(4, 6, MIN, 2 * MIN)]))
    assert [m["key"] for m in kpis.sent] == [b"s1", b"s1"]
    assert [KpiSnapshot.from_json(m["value"]) for m in kpis.sent] == [provisional, final]
    assert [(m["key"], m["partition"]) for m in finals.sent] == [
        (final_key("s1", MIN), 4),  # the store's source partition
        (horizon_key(4), 4),  # after the final, in the same partition
    ]
    assert decode_final_record(finals.sent[0]["value"]) == final
    assert decode_final_record(finals.sent[1]["value"]) == Horizon(4, 6, MIN, 2 * MIN)


def test_without_a_finals_topic_only_the_kpis_are_written() -> None:
    kpis, dead = RecordingTopic(), RecordingTopic()
    publisher = TopicPublisher(kpis, dead)
    asyncio.run(publisher.publish_snapshot(_snap("s1", MIN, final=True)))
    asyncio.run(publisher.publish_horizons([Horizon(0, 1, MIN, MIN)]))
    assert len(kpis.sent) == 1


def _bounds(horizons: list[Horizon]) -> dict[int, int]:
    return {h.source_partition: h.open_from_ms for h in horizons}


def test_minutes_open_at_a_generations_first_beat_count_from_their_start_less_the_skew() -> None:
    """Restored minutes may have been published by the previous owner as early as their
    first event arrived, which may be up to the accepted skew before the minute."""
    t = HorizonTracker(partitions=2, max_future_ms=FUTURE, margin_ms=0)
    now = 100 * MIN + 30_000
    out = t.update(7, [0, 1], [(("s1", 99 * MIN), 0), (("s2", 100 * MIN), 0)], now)
    assert _bounds(out) == {0: 99 * MIN - FUTURE, 1: 100 * MIN}


def test_minutes_opened_later_count_from_the_beat_before_and_horizons_move_forward() -> None:
    t = HorizonTracker(partitions=1, max_future_ms=FUTURE, margin_ms=0)
    assert _bounds(t.update(1, [0], [], now_ms=10 * MIN + 1_000)) == {0: 10 * MIN}
    # a minute first seen now (even one ahead of the clock) was published after the last
    # beat, 10:01: the horizon written, 10:00, still holds
    assert t.update(1, [0], [(("s1", 12 * MIN), 0)], now_ms=11 * MIN + 2_000) == []
    # it stays the bound while open, however late it gets
    assert t.update(1, [0], [(("s1", 12 * MIN), 0)], now_ms=14 * MIN) == []
    # closed: the horizon moves on to now
    assert _bounds(t.update(1, [0], [], now_ms=14 * MIN + 1_000)) == {0: 14 * MIN}


def test_a_new_generation_writes_every_owned_partition_again_from_the_restored_minutes() -> None:
    t = HorizonTracker(partitions=2, max_future_ms=FUTURE, margin_ms=0)
    t.update(1, [0, 1], [], now_ms=10 * MIN)
    assert t.update(1, [0, 1], [], now_ms=10 * MIN + 1_000) == []
    again = t.update(2, [1], [(("s1", 9 * MIN), 1)], now_ms=10 * MIN + 2_000)
    assert _bounds(again) == {1: 9 * MIN - FUTURE}


def test_a_horizon_is_never_after_any_publication_of_a_minute_open_when_written() -> None:
    """Simulated beats: minutes open and close; every snapshot published (at a beat's time)
    of a minute open when a horizon is written is at or after that horizon."""
    t = HorizonTracker(partitions=1, max_future_ms=FUTURE, margin_ms=0)
    published: dict[tuple[str, int], int] = {}  # first publication of each minute
    open_minutes: set[tuple[str, int]] = set()
    for beat in range(600):
        now = 50 * MIN + beat * 1_000
        if beat % 7 == 0:
            open_minutes.add((f"s{beat % 3}", now // MIN * MIN))
        for key in sorted(open_minutes):
            published.setdefault(key, now)
        for key in [k for k in open_minutes if now >= k[1] + 2 * MIN]:
            open_minutes.discard(key)
        # the horizon is computed just after the beat's publications
        after = now + 300
        for horizon in t.update(1, [0], [(k, 0) for k in sorted(open_minutes)], after):
            assert all(published[k] >= horizon.open_from_ms for k in open_minutes)
