"""The alert lifecycle: pending, firing, resolved, dedup, repeat, flap hold, overrides."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alerts.evaluation import Evaluation
from alerts.lifecycle import AlertEngine
from alerts.notifiers.message import how_bad
from alerts.rules import DEFAULT_RULES_PATH, RuleSet, load_rules
from shoppulse.alert_shape import alert
from shoppulse.kpis import derive_kpis
from shoppulse.snapshot import KpiSnapshot
from shoppulse.store_detectors import StoreDetectors
from shoppulse.timeutil import format_ts_ms
from tests.alerts.rules_fixtures import STOCK_THRESHOLDS, default_rules_and, three_kinds

M = 60_000
T0 = 1_700_000_040_000  # a minute boundary

RULES = three_kinds(repeat_interval="10m", flap_window="0m")


def _rules(**top: str) -> RuleSet:
    text = RULES
    for key, value in top.items():
        text = text.replace(f"{key}: ", f"{key}: {value}  # ", 1)
    return load_rules(text)


def _feed(
    engine: AlertEngine, store: str, values: Sequence[float | None], start: int = 0
) -> list[list[dict[str, Any]]]:
    """One final minute per value of ``roas``; the alerts each minute produced."""
    return [
        engine.on_minute(store, T0 + (start + i) * M, {"roas": v}) for i, v in enumerate(values)
    ]


def _statuses(per_minute: list[list[dict[str, Any]]]) -> list[str]:
    return [",".join(a["status"] for a in out) or "-" for out in per_minute]


def test_pending_until_for_then_firing_then_resolved() -> None:
    engine = AlertEngine(_rules())
    out = _feed(engine, "s1", [5.0, 3.0, 3.5, 3.0, 3.9, 4.5])
    assert _statuses(out) == ["-", "-", "-", "firing", "-", "resolved"]
    firing, resolved = out[3][0], out[5][0]
    assert firing["labels"] == {
        "alertname": "roas_low",
        "store_id": "s1",
        "kpi": "roas",
        "severity": "warning",
        "team": "marketing",
    }
    assert firing["startsAt"] == format_ts_ms(T0 + 1 * M)  # when the condition began
    assert (firing["endsAt"], firing["value"], firing["expected"]) == (None, 3.0, 4.0)
    assert firing["annotations"]["summary"] == "ROAS below 4"
    assert firing["annotations"]["description"] == "s1: roas is 3, threshold 4"
    assert resolved["fingerprint"] == firing["fingerprint"]
    assert resolved["startsAt"] == firing["startsAt"]
    assert resolved["endsAt"] == format_ts_ms(T0 + 5 * M)  # the first clear minute
    assert resolved["value"] == 4.5
    assert engine.states == {}


def test_shape_matches_alert_shape() -> None:
    engine = AlertEngine(_rules(**{"for": "0m"}))
    (fired,) = engine.on_minute("s1", T0, {"roas": 1.0})
    reference = alert(
        name="x",
        store_id="s",
        kpi="k",
        severity="info",
        status="firing",
        starts_at_ms=T0,
        value=1.0,
        expected=2.0,
        summary="",
        description="",
    )
    assert set(fired) == set(reference)
    # A rule's alert adds its condition, for the message's "how bad".
    assert set(fired["annotations"]) == set(reference["annotations"]) | {"op", "threshold"}
    assert (fired["annotations"]["op"], fired["annotations"]["threshold"]) == ("<", "4")


def test_rate_of_change_alerts_carry_the_values_compared_and_keep_them_over_a_restart() -> None:
    rules = load_rules(
        """
rules:
  - {name: drop, kind: rate_of_change, kpi: sessions, window: 2m, op: "<", value: -0.5}
"""
    )
    engine = AlertEngine(rules)
    engine.on_minute("s1", T0, {"sessions": 100.0})
    engine.on_minute("s1", T0 + M, {"sessions": 90.0})
    (fired,) = engine.on_minute("s1", T0 + 2 * M, {"sessions": 40.0})
    assert fired["value"] == -0.6
    assert (
        fired["annotations"].items() >= {"before": "100", "after": "40", "window_s": "120"}.items()
    )
    restored = AlertEngine.from_state(rules, engine.to_state())
    (res,) = restored.on_minute("s1", T0 + 3 * M, {"sessions": 95.0})  # +5.6 % on 90
    assert res["status"] == "resolved"
    assert res["annotations"]["before"] == "90"
    assert "from 90 to 95" in how_bad(res)


def test_pending_dropped_when_condition_clears_before_for() -> None:
    engine = AlertEngine(_rules())
    assert _statuses(_feed(engine, "s1", [3.0, 3.0, 5.0, 3.0, 3.0])) == ["-"] * 5
    assert [s.phase for s in engine.states.values()] == ["pending"]


def test_dedup_and_republished_minutes() -> None:
    engine = AlertEngine(_rules())
    out = _feed(engine, "s1", [3.0] * 8)
    assert _statuses(out) == ["-", "-", "firing", "-", "-", "-", "-", "-"]
    # the same minute (or an older one) published again changes nothing
    assert engine.on_minute("s1", T0 + 7 * M, {"roas": 9.0}) == []
    assert engine.on_minute("s1", T0 + 3 * M, {"roas": 9.0}) == []
    assert len(engine.states) == 1


def test_repeat_interval_re_emits_while_firing() -> None:
    engine = AlertEngine(_rules())  # repeat_interval 10m
    out = _feed(engine, "s1", [3.0] * 25)
    firing_at = [i for i, s in enumerate(_statuses(out)) if s == "firing"]
    assert firing_at == [2, 12, 22]
    starts = {out[i][0]["startsAt"] for i in firing_at}
    assert starts == {format_ts_ms(T0)}


def test_no_repeat_when_interval_is_zero() -> None:
    engine = AlertEngine(_rules(), repeat_interval_ms=0)
    assert _statuses(_feed(engine, "s1", [3.0] * 30)).count("firing") == 1


def test_flap_window_holds_the_resolution() -> None:
    engine = AlertEngine(_rules(), flap_window_ms=3 * M)
    values = [3.0, 3.0, 3.0, 5.0, 5.0, 3.0, 5.0, 5.0, 5.0, 5.0]
    out = _feed(engine, "s1", values)
    # fires at minute 2; clears at 3-4 (held), back at 5 (stays firing, nothing emitted),
    # clears from minute 6 and resolves after 3 clear minutes (minute 8)
    assert _statuses(out) == ["-", "-", "firing", "-", "-", "-", "-", "-", "resolved", "-"]
    resolved = out[8][0]
    assert resolved["startsAt"] == format_ts_ms(T0)
    assert resolved["endsAt"] == format_ts_ms(T0 + 6 * M)


def test_a_rules_own_flap_window_wins_over_the_files() -> None:
    text = RULES.replace("flap_window: 0m", "flap_window: 3m").replace(
        "    for: 3m\n", "    for: 0m\n    flap_window: 2m\n", 1
    )
    rules = load_rules(text)
    assert (rules.flap_window_ms, rules.rules[0].flap_window_ms) == (3 * M, 2 * M)
    assert rules.rules[1].flap_window_ms is None
    out = _feed(AlertEngine(rules), "s1", [3.0, 5.0, 5.0, 5.0])
    # clears at minute 1, resolved once clear for 2m (minutes 1-2), not 3m
    assert _statuses(out) == ["firing", "-", "resolved", "-"]


def test_the_default_checkout_outage_rule_resolves_at_once() -> None:
    rules = load_rules(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    outage = rules.get("checkout_outage")
    assert outage is not None
    assert outage.flap_window_ms == 0 < rules.flap_window_ms


def test_without_flap_window_a_flap_re_fires() -> None:
    engine = AlertEngine(_rules(**{"for": "0m"}))
    out = _feed(engine, "s1", [3.0, 5.0, 3.0, 5.0])
    assert _statuses(out) == ["firing", "resolved", "firing", "resolved"]


def test_no_data_changes_nothing() -> None:
    engine = AlertEngine(_rules())
    out = _feed(engine, "s1", [3.0, None, 3.0, 3.0])
    assert _statuses(out) == ["-", "-", "firing", "-"]  # for (3m) elapsed since minute 0
    assert out[2][0]["startsAt"] == format_ts_ms(T0)
    assert engine.on_minute("s1", T0 + 4 * M, {"roas": None}) == []  # no data: not resolved
    assert [s.phase for s in engine.states.values()] == ["firing"]


def test_per_store_override_threshold_and_disabled() -> None:
    engine = AlertEngine(_rules(**{"for": "0m"}))
    assert engine.on_minute("s2", T0, {"roas": 3.0}) == []  # s2's threshold is 2
    (fired,) = engine.on_minute("s2", T0 + M, {"roas": 1.5})
    assert (fired["expected"], fired["annotations"]["summary"]) == (2.0, "ROAS below 2")
    assert _statuses(_feed(engine, "s3", [0.1] * 5)) == ["-"] * 5  # disabled for s3
    assert [a["labels"]["store_id"] for a in engine.on_minute("s1", T0, {"roas": 3.0})] == ["s1"]


def _signal(status: str, starts: int, ends: int | None = None) -> dict[str, Any]:
    return alert(
        name="conversion_drop",
        store_id="s1",
        kpi="payment_conversion",
        severity="warning",
        status="firing" if status == "firing" else "resolved",
        starts_at_ms=starts,
        ends_at_ms=ends,
        value=0.021,
        expected=0.034,
        summary="Payment conversion dropped",
        description="",
    )


def test_anomaly_rule_from_signals() -> None:
    engine = AlertEngine(_rules())
    (fired,) = engine.on_signal(_signal("firing", T0))
    assert fired["status"] == "firing"
    assert fired["labels"]["alertname"] == "conversion_drop"
    assert fired["labels"]["kpi"] == "payment_conversion"
    assert fired["labels"]["severity"] == "critical"  # the rule's, not the signal's
    assert (fired["value"], fired["expected"]) == (0.021, 0.034)
    assert (
        fired["annotations"]["description"]
        == "s1: payment_conversion is 0.021 against 0.034 expected"
    )
    assert engine.on_signal(_signal("firing", T0)) == []  # duplicate signal
    (resolved,) = engine.on_signal(_signal("resolved", T0, T0 + 5 * M))
    assert resolved["status"] == "resolved"
    assert resolved["endsAt"] == format_ts_ms(T0 + 5 * M)
    assert resolved["fingerprint"] == fired["fingerprint"]
    other = alert(
        name="traffic_spike",
        store_id="s1",
        kpi="sessions",
        severity="warning",
        status="firing",
        starts_at_ms=T0,
        value=1.0,
        expected=0.5,
        summary="",
        description="",
    )
    assert engine.on_signal(other) == []  # no rule for it


def test_anomaly_rule_with_for_needs_ticks() -> None:
    text = RULES.replace("    severity: critical\n", "    severity: critical\n    for: 3m\n")
    engine = AlertEngine(load_rules(text))
    assert engine.on_signal(_signal("firing", T0)) == []
    assert engine.tick(T0 + 2 * M) == []
    (fired,) = engine.tick(T0 + 3 * M)
    assert fired["status"] == "firing"
    assert engine.tick(T0 + 4 * M) == []
    # time passing without input (a quiet store) does not promote a pending alert
    quiet = AlertEngine(load_rules(text))
    quiet.on_signal(_signal("firing", T0))
    assert quiet.tick(T0 + 10 * M, promote_pending=False) == []
    assert [a["status"] for a in quiet.tick(T0 + 10 * M)] == ["firing"]
    # a signal that resolves while still pending emits nothing
    engine2 = AlertEngine(load_rules(text))
    engine2.on_signal(_signal("firing", T0))
    assert engine2.on_signal(_signal("resolved", T0, T0 + M)) == []
    assert engine2.states == {}


def test_rate_of_change() -> None:
    engine = AlertEngine(_rules())
    sessions = [100, 100, 100, 100, 100, 100, 40, 45, 60, 90]
    out = [
        [
            a
            for a in engine.on_minute("s1", T0 + i * M, {"sessions": s})
            if a["labels"]["alertname"] == "sessions_collapse"
        ]
        for i, s in enumerate(sessions)
    ]
    # minute 6 is 60 % below minute 1; minute 7 55 % below minute 2; minute 8 only 40 %
    assert _statuses(out) == ["-"] * 6 + ["firing", "-", "resolved", "-"]
    assert out[6][0]["value"] == -0.6
    assert out[6][0]["expected"] == -0.5


def test_rate_of_change_without_history_is_no_data() -> None:
    engine = AlertEngine(_rules())
    (ev,) = [
        e
        for e in engine.evaluator.evaluate("s1", T0, {"sessions": 10})  # type: ignore[union-attr]
        if e.rule.kind == "rate_of_change"
    ]
    assert ev.active is None


def test_observe_directly() -> None:
    rules = _rules(**{"for": "0m"})
    rule = rules.rules[0]
    engine = AlertEngine(rules)
    (fired,) = engine.observe(Evaluation(rule, "s9", T0, True, 1.0, 4.0))
    assert fired["labels"]["store_id"] == "s9"
    (res,) = engine.observe(Evaluation(rule, "s9", T0 + M, False, 5.0, 4.0))
    assert res["status"] == "resolved"


def test_engine_state_round_trip_continues_the_same_lifecycle() -> None:
    from alerts.lifecycle import AlertEngine
    from alerts.rules import load_rules

    rules = load_rules(
        """
rules:
  - {name: roas_low, kind: threshold, kpi: roas, op: "<", value: 4, for: 2m}
  - {name: sessions_fall, kind: rate_of_change, kpi: sessions, window: 2m, op: "<", value: -0.5}
"""
    )
    t = 1_700_000_040_000
    a = AlertEngine(rules)
    a.on_minute("s1", t, {"roas": 3.0, "sessions": 100.0})
    b = AlertEngine.from_state(rules, a.to_state())
    assert b.to_state() == a.to_state()
    out_a = a.on_minute("s1", t + 60_000, {"roas": 3.0, "sessions": 90.0})
    out_b = b.on_minute("s1", t + 60_000, {"roas": 3.0, "sessions": 90.0})
    assert out_a == out_b
    assert [x["status"] for x in out_b] == ["firing"]
    fall_a = a.on_minute("s1", t + 120_000, {"roas": 3.0, "sessions": 20.0})
    fall_b = b.on_minute("s1", t + 120_000, {"roas": 3.0, "sessions": 20.0})
    assert fall_a == fall_b
    assert [x["labels"]["alertname"] for x in fall_b] == ["sessions_fall"]


def test_label_templates_are_filled_with_the_alert_identity_before_the_fingerprint() -> None:
    rules = load_rules(
        """
rules:
  - name: roas_low
    kind: threshold
    kpi: roas
    op: "<"
    value: 4
    labels: {page: "oncall-{store_id}", about: "{rule}/{kpi}/{severity}"}
"""
    )
    engine = AlertEngine(rules)
    (s1,) = engine.on_minute("s1", T0, {"roas": 1.0})
    (s2,) = engine.on_minute("s2", T0, {"roas": 1.0})
    assert s1["labels"]["page"] == "oncall-s1"
    assert s1["labels"]["about"] == "roas_low/roas/warning"
    assert s2["labels"]["page"] == "oncall-s2"
    assert s1["fingerprint"] != s2["fingerprint"]


def test_a_threshold_window_judges_summed_minutes_and_survives_a_restart() -> None:
    rules = load_rules(
        """
rules:
  - {name: unresolved, kind: threshold, kpi: resolution_rate, op: "<", value: 0.9, window: 3m}
"""
    )
    engine = AlertEngine(rules)
    busy = {"conversations_opened": 20, "resolutions": 20}
    assert engine.on_minute("s1", T0, {"resolution_rate": 1.0}, busy) == []
    # One unresolved chat in a quiet minute: 0 % on its own, 20/21 over the window.
    quiet = {"conversations_opened": 1}
    assert engine.on_minute("s1", T0 + M, {"resolution_rate": 0.0}, quiet) == []
    restored = AlertEngine.from_state(rules, engine.to_state())
    (fired,) = restored.on_minute(
        "s1", T0 + 2 * M, {"resolution_rate": 0.0}, {"conversations_opened": 2}
    )
    assert fired["value"] == 20 / 23
    # The busy minute leaves the window: 0 resolved of 3, still firing, nothing new to say.
    assert restored.on_minute("s1", T0 + 3 * M, {}, {"conversations_opened": 0}) == []
    assert restored.states[fired["fingerprint"]].value == 0.0


def test_stock_rules_stay_quiet_for_a_store_without_stock_data() -> None:
    """Threshold rules on stock KPIs and the default rules' stock anomaly rule, fed the
    final minutes (and the detector signals) of a store whose orders carry units but that
    has no shop.inventory feed: no SKU tracked, so no stock alert."""
    stock_rules = load_rules(
        default_rules_and(
            STOCK_THRESHOLDS
            + """\
  - {name: any_out, kind: threshold, kpi: stock_out_skus, op: ">", value: 0}
  - {name: projected, kind: anomaly, signal: stockout_projected}
"""
        )
    )
    engine, detectors = AlertEngine(stock_rules), StoreDetectors("s1", warmup=5)
    gauges = {"on_hand_units": 0, "skus_tracked": 0, "low_stock_skus": 0, "stock_out_skus": 0}
    out: list[dict[str, Any]] = []
    for i in range(60):
        snap = KpiSnapshot(
            store_id="s1",
            window_start_ms=T0 + i * M,
            window_end_ms=T0 + (i + 1) * M,
            final=True,
            revision=1,
            currency="EUR",
            components={"orders_paid": 4, "gmv_minor": 8_000, "units_sold": 12, **gauges},
            emitted_at_ms=T0 + (i + 1) * M,
        )
        for signal in detectors.on_final(snap):
            out += engine.on_signal(signal)
        out += engine.on_minute("s1", snap.window_start_ms, snap.kpis, snap.components)
    assert [a["labels"]["alertname"] for a in out] == []
    # The same rules do fire once the store tracks a SKU at 0.
    gauges |= {"skus_tracked": 1, "stock_out_skus": 1}
    kpis = derive_kpis({"units_sold": 12, **gauges})
    fired = engine.on_minute("s1", T0 + 60 * M, kpis, gauges)
    assert sorted(a["labels"]["alertname"] for a in fired) == [
        "any_out",
        "cover_short",
        "units_low",
    ]
