"""``shoppulse rules check FILE``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from alerts import rules_check
from alerts.rules import DEFAULT_RULES_PATH
from tests.alerts.rules_fixtures import one_rule


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="shoppulse rules")
    rules_check.add_arguments(parser)
    return rules_check.run(parser.parse_args(list(argv)), None)


def test_default_rules_are_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("check", str(DEFAULT_RULES_PATH)) == 0
    assert capsys.readouterr().out == "OK: 7 rules\n"


def test_errors_with_line_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(
        one_rule(
            "    kind: threshold\n    kpi: nope\n    op: '<'\n    value: 1\n    severity: loud\n"
        ),
        encoding="utf-8",
    )
    assert _run("check", str(bad)) == 1
    err = capsys.readouterr().err.splitlines()
    assert (
        err[0]
        == f"{bad}:line 4: rules[0].kpi: unknown KPI 'nope'; the KPIs are listed in docs/kpis.md"
    )
    assert err[1].startswith(f"{bad}:line 7: rules[0].severity:")


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("check", str(tmp_path / "nope.yaml")) == 1
    assert "cannot read" in capsys.readouterr().err


def test_only_check_is_an_action() -> None:
    with pytest.raises(SystemExit):
        _run("lint", "x.yaml")
