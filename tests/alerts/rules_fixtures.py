"""Alert-rules YAML documents shared by the tests of the rules (tests/alerts) and of the
worker that loads them (tests/streams), so that each document is written once."""

from __future__ import annotations

from alerts.rules import DEFAULT_RULES_PATH


def three_kinds(*, repeat_interval: str, flap_window: str) -> str:
    """A rules file with one rule of each kind: ``roas_low`` (threshold ``roas < 4`` for 3m,
    with labels, templated annotations and per-store overrides), ``conversion_drop``
    (anomaly, critical) and ``sessions_collapse`` (rate of change over 5m)."""
    return f"""\
repeat_interval: {repeat_interval}
flap_window: {flap_window}
rules:
  - name: roas_low
    kind: threshold
    kpi: roas
    op: "<"
    value: 4
    for: 3m
    severity: warning
    labels: {{team: marketing}}
    annotations:
      summary: "ROAS below {{threshold}}"
      description: "{{store_id}}: {{kpi}} is {{value}}, threshold {{threshold}}"
    stores:
      s2: {{value: 2}}
      s3: {{disabled: true}}
      store-001: {{value: 2.5, for: 5m, severity: critical}}
      store-002: {{disabled: true}}
  - name: conversion_drop
    kind: anomaly
    signal: conversion_drop
    severity: critical
    annotations:
      description: "{{store_id}}: {{kpi}} is {{value}} against {{expected}} expected"
  - name: sessions_collapse
    kind: rate_of_change
    kpi: sessions
    window: 5m
    op: "<"
    value: -0.5
"""


def one_rule(body: str) -> str:
    """A file with a single rule ``r1`` whose fields are ``body`` (lines 3 onwards), so
    that an error's line number is the line of ``body`` plus 2."""
    return "rules:\n  - name: r1\n" + body


#: Threshold rules on the stock KPIs, to append to a file's ``rules:`` list.
STOCK_THRESHOLDS = """\
  - {name: cover_short, kind: threshold, kpi: days_of_cover, op: "<", value: 1}
  - {name: units_low, kind: threshold, kpi: on_hand_units, op: "<", value: 10}
"""


def default_rules_and(extra_rules: str) -> str:
    """The shipped default rules (alerts/default_rules.yaml), with ``extra_rules`` (items of
    its ``rules:`` list, indented as in :data:`STOCK_THRESHOLDS`) appended."""
    return DEFAULT_RULES_PATH.read_text(encoding="utf-8").rstrip("\n") + "\n" + extra_rules
