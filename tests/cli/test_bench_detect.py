"""`shoppulse bench-detect`: options, the JSON line, the tables and the traffic comparison."""

from __future__ import annotations

import argparse
import json
import re

import pytest
from rich.console import Console

from cli import bench_detect
from shoppulse.settings import Settings

SMALL = ("--days", "1", "--stores-per-size", "1", "--jobs", "1", "--sizes", "small,large")


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench_detect.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_are_honest_traffic_over_four_weeks() -> None:
    args = parse()
    assert (args.traffic, args.days, args.warmup_days, args.stores_per_size, args.seed) == (
        "honest",
        28,
        2,
        2,
        7,
    )
    assert len(args.kinds) == 8
    assert args.sizes == ("tiny", "small", "large")


def test_kinds_and_sizes_are_checked() -> None:
    assert parse("--kinds", "gmv_dip, traffic_drop").kinds == ["traffic_drop", "gmv_dip"]
    with pytest.raises(SystemExit):
        parse("--kinds", "meteor")
    with pytest.raises(SystemExit):
        parse("--sizes", "huge")


def test_json_is_one_line_of_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code = bench_detect.run(parse(*SMALL, "--kinds", "gmv_dip", "--json"), Settings())
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert len(out) == 1
    data = json.loads(out[0])
    assert data["traffic"] == "honest"
    assert [(r["kind"], r["size"]) for r in data["incidents"]] == [
        ("gmv_dip", "small"),
        ("gmv_dip", "large"),
    ]
    assert set(data["false_alarms_per_store_day_all_detectors"]) == {"small", "large", "all"}


def test_both_traffics_print_tables_and_their_comparison(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_detect, "Console", lambda **kw: Console(width=100, **kw))
    code = bench_detect.run(
        parse(*SMALL, "--kinds", "traffic_drop", "--traffic", "both"), Settings()
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Detection delay, honest traffic" in out
    assert "Detection delay, poisson traffic" in out
    assert "traffic drop -50%" in out
    totals = [line for line in out.splitlines() if re.match(r"\s*all detectors\s+\d", line)]
    assert len(totals) == 3  # two runs and the comparison
    assert "Same run, traffic compared" in out


def test_both_traffics_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    bench_detect.run(
        parse(*SMALL, "--kinds", "chat_surge", "--traffic", "both", "--json"), Settings()
    )
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"honest", "poisson", "comparison"}
    assert data["poisson"]["traffic_parameters"]["dispersion"] is None


def test_bad_sizes_of_a_run_exit() -> None:
    with pytest.raises(SystemExit):
        bench_detect.run(parse("--days", "0"), Settings())
