"""Loading alert rules: the shipped defaults, overrides, and errors with line numbers."""

from __future__ import annotations

import pytest

from alerts.rules import (
    DEFAULT_RULES_PATH,
    Rule,
    RulesError,
    load_default_rules,
    load_rules,
    parse_duration_ms,
)
from alerts.yaml_spec import node_line
from tests.alerts.rules_fixtures import one_rule, three_kinds

GOOD = three_kinds(repeat_interval="1h", flap_window="2m")


def _error(text: str) -> str:
    with pytest.raises(RulesError) as info:
        load_rules(text)
    assert len(info.value.errors) == 1, info.value.errors
    return info.value.errors[0]


def test_default_rules_load_with_the_seed_article_marks() -> None:
    rs = load_default_rules()
    by = {r.name: r for r in rs.rules}
    assert (by["first_response_slow"].kpi, by["first_response_slow"].op) == (
        "first_response_p90_s",
        ">",
    )
    assert by["first_response_slow"].value == 30
    assert (by["resolution_rate_low"].kpi, by["resolution_rate_low"].op) == ("resolution_rate", "<")
    assert by["resolution_rate_low"].value == 0.9
    assert (by["roas_low"].kpi, by["roas_low"].op, by["roas_low"].value) == ("roas", "<", 4)
    assert {r.signal for r in rs.of_kind("anomaly")} == {
        "conversion_drop",
        "traffic_drop",
        "stock_out",
        "checkout_outage",
    }
    assert by["checkout_outage"].severity == "critical"
    assert rs.for_signal("conversion_drop") == (by["conversion_drop"],)
    assert DEFAULT_RULES_PATH.name == "default_rules.yaml"


def test_fields_and_per_store_overrides() -> None:
    rs = load_rules(GOOD)
    assert (rs.repeat_interval_ms, rs.flap_window_ms) == (3_600_000, 120_000)
    rule = rs.rules[0]
    assert (rule.for_ms, rule.labels["team"], rule.summary) == (
        180_000,
        "marketing",
        "ROAS below {threshold}",
    )
    own = rule.for_store("store-001")
    assert isinstance(own, Rule)
    assert (own.value, own.for_ms, own.severity) == (2.5, 300_000, "critical")
    assert rule.for_store("store-002") is None
    assert rule.for_store("store-003") is rule


def test_rate_of_change_rule() -> None:
    rs = load_rules(
        one_rule(
            "    kind: rate_of_change\n    kpi: sessions\n    window: 10m\n"
            '    op: "<"\n    value: -0.5\n'
        )
    )
    assert (rs.rules[0].window_ms, rs.rules[0].breaches(-0.6), rs.rules[0].breaches(-0.4)) == (
        600_000,
        True,
        False,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            one_rule('    kind: threshold\n    kpi: nope\n    op: "<"\n    value: 1\n'),
            "line 4: rules[0].kpi: unknown KPI 'nope'",
            id="unknown-kpi",
        ),
        pytest.param(
            one_rule('    kind: threshold\n    kpi: roas\n    op: "=<"\n    value: 1\n'),
            "line 5: rules[0].op: Input should be '>', '>=', '<' or '<='",
            id="bad-op",
        ),
        pytest.param(
            one_rule(
                '    kind: threshold\n    kpi: roas\n    op: "<"\n    value: 1\n'
                "    for: 3 minutes\n"
            ),
            "line 7: rules[0].for: bad duration '3 minutes'",
            id="bad-duration",
        ),
        pytest.param(
            one_rule(
                '    kind: threshold\n    kpi: roas\n    op: "<"\n    value: 1\n'
                "    severity: page\n"
            ),
            "line 7: rules[0].severity: Input should be 'info', 'warning' or 'critical'",
            id="bad-severity",
        ),
        pytest.param(
            one_rule(
                '    kind: threshold\n    kpi: roas\n    op: "<"\n    value: 1\n'
                "    annotations:\n      summary: ok {value}\n"
                "      description: '{store} is {value}'\n"
            ),
            "line 9: rules[0].annotations.description: unknown placeholder {store}",
            id="unknown-placeholder",
        ),
        pytest.param(
            one_rule(
                '    kind: threshold\n    kpi: roas\n    op: "<"\n    value: 1\n'
                "    stores:\n      store-001:\n        value: 2\n        threshold: 3\n"
            ),
            "line 10: rules[0].stores.store-001.threshold: unknown field",
            id="override-unknown-field",
        ),
        pytest.param(
            one_rule(
                '    kind: threshold\n    kpi: roas\n    op: "<"\n    value: 1\n'
                "    annotations:\n      summary: '{value:.2f}'\n"
            ),
            "line 8: rules[0].annotations.summary: placeholder {value} takes no format spec",
            id="format-spec",
        ),
        pytest.param(
            one_rule("    kind: anomaly\n    signal: stock_out\n    labels: {page: 'p-{value}'}\n"),
            "line 5: rules[0].labels.page: unknown placeholder {value} in a label",
            id="label-template-with-a-value",
        ),
        pytest.param(
            one_rule(
                '    kind: threshold\n    kpi: payment_conversion\n    op: "<"\n    value: 0.01\n'
                "    window: 10m\n"
            ),
            "line 7: rules[0].window: payment_conversion reads sessions, which minutes do not sum",
            id="window-over-distinct-counts",
        ),
        pytest.param(
            one_rule("    kind: anomaly\n    signal: conversion_drop\n    value: 3\n"),
            "line 5: rules[0].value: not allowed for kind anomaly",
            id="field-of-another-kind",
        ),
        pytest.param(
            one_rule('    kind: threshold\n    kpi: roas\n    op: "<"\n'),
            "line 2: rules[0]: value: required for kind threshold",
            id="missing-kind-field",
        ),
        pytest.param(
            one_rule("    kind: anomaly\n    signal: stock_out\n    labels: {severity: x}\n"),
            "line 5: rules[0].labels.severity: reserved label",
            id="reserved-label",
        ),
        pytest.param(
            "rules:\n  - {name: a, kind: anomaly, signal: x}\n"
            "  - {name: a, kind: anomaly, signal: y}\n",
            "line 3: rules[1].name: duplicate rule name 'a'",
            id="duplicate-name",
        ),
        pytest.param("rules: []\nextra: 1\n", "line 2: extra: unknown field", id="top-level"),
        pytest.param("- 1\n", "rules: expected a YAML mapping", id="not-a-mapping"),
    ],
)
def test_errors_name_the_line_and_field_path(text: str, expected: str) -> None:
    assert _error(text).startswith(expected)


def test_all_errors_are_reported() -> None:
    text = one_rule(
        '    kind: threshold\n    kpi: nope\n    op: "=="\n    value: 1\n    severity: loud\n'
    )
    with pytest.raises(RulesError) as info:
        load_rules(text)
    assert [e.split(":")[0] for e in info.value.errors] == ["line 4", "line 5", "line 7"]


def test_yaml_syntax_error_is_a_rules_error() -> None:
    with pytest.raises(RulesError, match="not valid YAML"):
        load_rules("rules: [\n")


def test_durations() -> None:
    assert parse_duration_ms("0m") == 0
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration_ms("5")


def test_node_line_without_a_document() -> None:
    assert node_line(None, ("rules", 0)) is None
