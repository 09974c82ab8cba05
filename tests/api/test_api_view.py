"""Unit tests of the pure materialised view."""

from __future__ import annotations

import dataclasses

from api.clock import DAY_MS
from api.rollups import ALL_STORES
from api.store_minutes import supersedes
from api.view import KpiView
from shoppulse.components import Components, sum_values
from shoppulse.kpis import derive_kpis
from shoppulse.snapshot import KpiSnapshot
from tests.api.helpers import MIN, MINUTE, FakeClock, make_snap


def test_apply_is_idempotent(view: KpiView) -> None:
    s = make_snap()
    assert view.apply(s)
    assert not view.apply(s)
    assert view.stats.applied == 1
    assert view.stats.ignored_stale == 1
    assert view.latest("s1") == s


def test_highest_revision_wins_in_any_order(view: KpiView) -> None:
    r3 = make_snap(revision=3, orders_paid=9)
    r2 = make_snap(revision=2, orders_paid=5)
    assert view.apply(r3)
    assert not view.apply(r2)
    assert view.latest("s1") == r3


def test_final_wins_over_provisional_of_same_or_lower_revision(view: KpiView) -> None:
    final = make_snap(revision=2, final=True)
    assert view.apply(make_snap(revision=2))
    assert view.apply(final)
    assert not view.apply(make_snap(revision=2))
    assert not view.apply(make_snap(revision=1))
    assert view.latest("s1") == final
    newer = make_snap(revision=3, final=True, orders_paid=7)
    assert view.apply(newer)
    assert view.latest("s1") == newer


def test_supersedes_rules() -> None:
    prov, final = make_snap(revision=1), make_snap(revision=1, final=True)
    assert supersedes(prov, None)
    assert supersedes(final, prov)
    assert not supersedes(prov, final)
    assert supersedes(make_snap(revision=2), final)


def test_rollups_equal_sums_of_minutes(view: KpiView) -> None:
    minutes = [
        make_snap(start=MINUTE - i * MIN, final=i > 0, orders_paid=i + 1, gmv_minor=1000 * (i + 1))
        for i in range(70)
    ]
    for s in reversed(minutes):
        view.apply(s)
    for window, n in (("5m", 5), ("1h", 60)):
        r = view.rollup("s1", window)  # type: ignore[arg-type]
        expected = sum_values(s.components for s in minutes[:n])
        assert r.minutes == n
        assert r.start_ms == MINUTE + MIN - n * MIN
        assert r.end_ms == MINUTE + MIN
        assert not r.final  # the current minute is provisional
        for name, value in expected.items():
            assert r.components[name] == value
        kpis = derive_kpis(expected)
        assert r.kpis["aov_minor"] == kpis["aov_minor"]
        assert r.kpis["ctr"] == kpis["ctr"]
        assert r.kpis["gmv_minor"] == sum(1000 * (i + 1) for i in range(n))


def test_rollup_reports_distinct_components_unavailable(view: KpiView) -> None:
    view.apply(make_snap(start=MINUTE - MIN))
    view.apply(make_snap())
    r = view.rollup("s1", "5m")
    assert r.components["visitors"] is None
    assert r.components["sessions"] is None
    assert r.kpis["visitors"] is None
    assert r.kpis["payment_conversion"] is None
    assert set(r.unavailable_components) == {"visitors", "sessions"}
    assert set(r.unavailable_kpis) == {
        "visitors",
        "sessions",
        "payment_conversion",
        "new_customer_conversion",
    }
    assert r.notes
    one = view.rollup("s1", "1m")
    assert one.components["sessions"] == 40
    assert one.kpis["payment_conversion"] == 2 / 40
    assert one.unavailable_components == ()
    assert one.revision == 1


def test_today_starts_at_utc_midnight(view: KpiView, clock: FakeClock) -> None:
    midnight = clock.now_ms - clock.now_ms % DAY_MS
    view.apply(make_snap(start=midnight - MIN, orders_paid=100))  # yesterday
    view.apply(make_snap(start=midnight, orders_paid=1))
    view.apply(make_snap(start=MINUTE, orders_paid=2))
    r = view.rollup("s1", "today")
    assert r.start_ms == midnight
    assert r.minutes == 2
    assert r.components["orders_paid"] == 3


def test_eviction_keeps_back_to_an_hour_before_the_same_day_last_week(clock: FakeClock) -> None:
    view = KpiView(clock=clock)
    midnight = clock.now_ms - clock.now_ms % DAY_MS
    cutoff = midnight - 7 * DAY_MS - 60 * MIN
    assert view.cutoff_ms() == cutoff
    assert not view.apply(make_snap(start=cutoff - MIN))  # too old
    assert view.stats.ignored_too_old == 1
    assert view.apply(make_snap(start=cutoff))
    assert view.apply(make_snap(start=midnight - 3 * DAY_MS))  # the days between are kept
    assert view.apply(make_snap(start=MINUTE))
    assert view.minute_count("s1") == 3
    clock.now_ms += DAY_MS  # a day later, the first minute is more than 8 days old
    assert view.evict() == 1
    assert view.minute_count("s1") == 2
    clock.now_ms += 8 * DAY_MS
    assert view.evict() == 2
    assert view.stores() == []


def test_minutes_before_yesterday_are_kept_slim_but_roll_up_the_same(clock: FakeClock) -> None:
    view = KpiView(clock=clock)
    midnight = clock.now_ms - clock.now_ms % DAY_MS
    week_ago = MINUTE - 7 * DAY_MS
    yesterday = MINUTE - DAY_MS
    for start in (week_ago, week_ago + MIN, yesterday, MINUTE):
        view.apply(make_snap(start=start, orders_paid=2, final=True))
    assert view.minutes("s1", week_ago, week_ago + 2 * MIN)[0].kpis == {}
    assert view.minutes("s1", yesterday, yesterday + MIN)[0].kpis["orders"] == 2
    r = view.rollup_range("s1", week_ago, week_ago + 2 * MIN)
    assert r.components["orders_paid"] == 4
    assert r.kpis["aov_minor"] == 1500.0
    # A store's latest minute keeps its KPIs even when cold (the wall page shows them).
    view.apply(make_snap("idle", start=week_ago))
    latest = view.latest("idle")
    assert latest is not None
    assert latest.kpis["orders"] == 2
    # At midnight yesterday's minutes turn cold and are slimmed by the next eviction.
    clock.now_ms = midnight + DAY_MS + 30_000
    view.evict()
    assert view.minutes("s1", yesterday, yesterday + MIN)[0].kpis == {}
    assert view.minutes("s1", MINUTE, MINUTE + MIN)[0].kpis["orders"] == 2  # still the latest


def test_history_minutes_bound(clock: FakeClock) -> None:
    view = KpiView(history_minutes=10, clock=clock)
    assert not view.apply(make_snap(start=MINUTE - 11 * MIN))
    assert view.apply(make_snap(start=MINUTE - 9 * MIN))
    clock.now_ms += 5 * MIN
    view.apply(make_snap(start=MINUTE + 5 * MIN))  # apply also evicts, at most once a minute
    assert view.minute_count("s1") == 1


def test_all_stores_sum_and_latest_minute(view: KpiView) -> None:
    view.apply(make_snap("a", start=MINUTE - MIN, orders_paid=1, gmv_minor=100))
    view.apply(make_snap("a", start=MINUTE, orders_paid=2, gmv_minor=200))
    view.apply(make_snap("b", start=MINUTE, orders_paid=3, gmv_minor=300))
    assert view.stores() == ["a", "b"]
    latest = view.rollup(ALL_STORES, "1m")
    assert latest.start_ms == MINUTE
    assert latest.store_count == 2
    assert latest.components["orders_paid"] == 5
    assert latest.components["sessions"] is None  # not additive across stores
    assert latest.currency == "EUR"
    r = view.rollup(ALL_STORES, "5m")
    assert r.components["orders_paid"] == 6
    assert r.kpis["gmv_minor"] == 600
    assert r.kpis["aov_minor"] == 100.0


def test_all_stores_with_mixed_currencies_nulls_money(view: KpiView) -> None:
    view.apply(make_snap("eu", currency="EUR"))
    view.apply(make_snap("us", currency="USD"))
    r = view.rollup(ALL_STORES, "5m")
    assert r.currency is None
    assert r.components["gmv_minor"] is None
    assert r.kpis["gmv_minor"] is None
    assert r.kpis["aov_minor"] is None
    assert r.kpis["orders"] == 4
    assert "gmv_minor" in r.unavailable_components
    assert any("currencies" in n for n in r.notes)
    # one store alone keeps its money values
    assert view.rollup("eu", "5m").kpis["gmv_minor"] == 3000


def test_history_points(view: KpiView) -> None:
    for i in range(3):
        view.apply(make_snap("a", start=MINUTE - i * MIN, orders_paid=i))
        view.apply(make_snap("b", start=MINUTE - i * MIN, orders_paid=10))
    points = view.history("a", MINUTE - 2 * MIN, MINUTE + MIN)
    assert [p.start_ms for p in points] == [MINUTE - 2 * MIN, MINUTE - MIN, MINUTE]
    assert points[0].components["sessions"] == 40
    total = view.history(ALL_STORES, MINUTE - 2 * MIN, MINUTE + MIN)
    assert [p.components["orders_paid"] for p in total] == [12, 11, 10]


def test_out_of_order_minutes_are_sorted(view: KpiView) -> None:
    for offset in (0, 3, 1, 2):
        view.apply(make_snap(start=MINUTE - offset * MIN))
    starts = [s.window_start_ms for s in view.minutes("s1", 0, MINUTE + MIN)]
    assert starts == sorted(starts)
    assert view.latest("s1") is not None
    assert view.latest("s1").window_start_ms == MINUTE  # type: ignore[union-attr]


def _sketched(store: str, start: int, visitors: range, sessions: range) -> KpiSnapshot:
    minute = Components()
    minute.distinct["visitors"].update(f"v{i}" for i in visitors)
    minute.distinct["sessions"].update(f"s{i}" for i in sessions)
    base = make_snap(store, start, visitors=len(visitors), sessions=len(sessions), orders_paid=3)
    return dataclasses.replace(base, sketches=minute.sketches())


def test_rollups_estimate_distinct_counts_from_merged_minute_sketches(view: KpiView) -> None:
    # Five minutes whose visitors overlap: the union has 900 visitors, not 5 x 300 = 1500.
    for i in range(5):
        view.apply(
            _sketched(
                "s1", MINUTE - i * MIN, range(i * 150, i * 150 + 300), range(i * 200, i * 200 + 200)
            )
        )
    r = view.rollup("s1", "5m")
    assert r.minutes == 5
    assert set(r.approximate_components) == {"visitors", "sessions"}
    assert r.relative_standard_error is not None
    four_se = 4 * r.relative_standard_error
    assert abs(r.components["visitors"] - 900) <= four_se * 900  # type: ignore[operator]
    assert abs(r.components["sessions"] - 1000) <= four_se * 1000  # type: ignore[operator]
    assert r.kpis["payment_conversion"] == 15 / r.components["sessions"]  # type: ignore[operator]
    assert "visitors" not in r.unavailable_components
    single = view.rollup("s1", "1m")
    assert single.approximate_components == ()  # one store-minute is exact


def test_all_stores_distinct_count_merges_across_stores(view: KpiView) -> None:
    view.apply(_sketched("s1", MINUTE, range(0, 400), range(0, 400)))
    view.apply(_sketched("s2", MINUTE, range(200, 600), range(1000, 1400)))
    r = view.rollup(ALL_STORES, "1m")
    assert r.store_count == 2
    four_se = 4 * (r.relative_standard_error or 0)
    assert abs(r.components["visitors"] - 600) <= four_se * 600  # type: ignore[operator]


def test_a_minute_without_sketch_makes_distinct_rollups_unavailable(view: KpiView) -> None:
    view.apply(_sketched("s1", MINUTE, range(10), range(10)))
    view.apply(make_snap("s1", MINUTE - MIN))  # an older snapshot without sketches
    r = view.rollup("s1", "5m")
    assert r.components["visitors"] is None
    assert "visitors" in r.unavailable_components


def test_rollups_take_stock_gauges_from_each_stores_latest_minute(view: KpiView) -> None:
    view.apply(
        make_snap(
            "s1", MINUTE - MIN, on_hand_units=50, skus_tracked=5, stock_out_skus=1, units_sold=6
        )
    )
    view.apply(
        make_snap("s1", MINUTE, on_hand_units=44, skus_tracked=5, stock_out_skus=2, units_sold=6)
    )
    view.apply(
        make_snap("s2", MINUTE, on_hand_units=100, skus_tracked=5, stock_out_skus=0, units_sold=0)
    )
    r = view.rollup("s1", "5m")
    assert r.components["on_hand_units"] == 44  # a level, not 50 + 44
    assert r.components["stock_out_skus"] == 2
    every = view.rollup(ALL_STORES, "5m")
    assert every.components["on_hand_units"] == 144
    assert every.kpis["days_of_cover"] is not None


def test_a_store_without_stock_data_has_null_stock_kpis_not_zero(view: KpiView) -> None:
    """No shop.inventory feed: the gauges are 0 with no SKU tracked, the KPIs null."""
    for start in (MINUTE - MIN, MINUTE):
        view.apply(
            make_snap(
                "s1",
                start,
                units_sold=6,
                on_hand_units=0,
                skus_tracked=0,
                low_stock_skus=0,
                stock_out_skus=0,
            )
        )
    stock_kpis = ("on_hand_units", "stock_out_skus", "days_of_cover", "projected_stockout_h")
    for rollup in (view.rollup("s1", "1m"), view.rollup("s1", "5m"), view.rollup(ALL_STORES, "5m")):
        assert [rollup.kpis[k] for k in stock_kpis] == [None] * len(stock_kpis)
        assert rollup.kpis["sales_velocity_units_per_h"]
