"""The KPI feed's start from shoppulse.kpis.final (ADR 24), without Kafka: what it does with
the finals and horizons it reads, and where it then reads shoppulse.kpis from."""

from __future__ import annotations

from api.broadcast import Broadcaster
from api.feed import KpiFeed
from api.view import KpiView
from shoppulse.final_log import Horizon
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot

MIN = 60_000
NOW = 1_800_000_000_000 // MIN * MIN + 30_000


def _feed(partitions: int = 2) -> KpiFeed:
    settings = Settings(topic_partitions=partitions, topic_namespace="unit.")
    return KpiFeed(settings, KpiView(clock=lambda: NOW), Broadcaster())


def _snap(start: int, *, final: bool, revision: int) -> KpiSnapshot:
    return KpiSnapshot(
        store_id="s1",
        window_start_ms=start,
        window_end_ms=start + MIN,
        final=final,
        revision=revision,
        currency="EUR",
        components={"orders_paid": revision},
        emitted_at_ms=start + MIN,
    )


def test_finals_are_applied_and_horizons_kept() -> None:
    feed = _feed()
    final = _snap(NOW - 3 * MIN, final=True, revision=5)
    assert feed.handle_final(final.to_json(), "f[0]@0") == final
    assert feed.handle_final(Horizon(0, 2, NOW - MIN, NOW).to_json(), "f[0]@1") is None
    assert feed.view.latest("s1") == final
    assert feed.horizons == [Horizon(0, 2, NOW - MIN, NOW)]
    # an older provisional of the same minute read afterwards from shoppulse.kpis changes nothing
    assert feed.handle(_snap(NOW - 3 * MIN, final=False, revision=4).to_json()) is None
    assert feed.view.latest("s1") == final


def test_bad_and_provisional_records_among_the_finals_are_counted_and_skipped() -> None:
    feed = _feed()
    for raw in (
        None,
        b"{",
        b'{"horizon": {}}',
        _snap(NOW - MIN, final=False, revision=1).to_json(),
    ):
        assert feed.handle_final(raw, "f[0]@0") is None
    assert feed.stats.bad_records == 4
    assert feed.view.stores() == []


def test_the_tail_starts_at_the_horizon_but_never_before_the_cutoff() -> None:
    feed = _feed()
    cutoff = feed.view.cutoff_ms()
    assert feed._tail_start_ms() == cutoff  # no horizons: shoppulse.kpis from the cutoff
    feed.tail_from_ms = NOW - 2 * MIN
    assert feed._tail_start_ms() == NOW - 2 * MIN
    feed.tail_from_ms = cutoff - 10 * MIN
    assert feed._tail_start_ms() == cutoff


def test_the_finals_are_read_from_the_cutoff_less_the_accepted_clock_skew() -> None:
    feed = _feed()
    skew_ms = int(feed.settings.max_future_skew_s * 1000)
    assert feed._finals_start_ms() < feed.view.cutoff_ms() - skew_ms


def test_until_the_finals_are_read_the_feed_is_not_ready_and_says_so() -> None:
    feed = _feed()
    assert not feed.caught_up
    status = feed.status()
    assert status["finals_topic"] == "unit.shoppulse.kpis.final"
    assert status["tail_from_ms"] is None
    assert _feed().reason == "not started"
