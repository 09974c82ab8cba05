"""`shoppulse bench` on the session's broker: it runs the real worker and prints one JSON line.
Its figures are reported, never asserted (speed belongs to benchmarks, not tests)."""

from __future__ import annotations

import argparse
import json

import pytest

from cli import bench
from shoppulse.settings import Settings

pytestmark = pytest.mark.integration


def test_bench_prints_one_json_line_with_the_same_run_limit(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--events", "3000", "--stores", "3", "--external"])
    assert bench.run(args, settings) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["events"] == 3000
    assert sum(result["topics"].values()) == 3000
    for key in ("seconds", "events_per_s", "limit_events_per_s", "worker_ready_s"):
        assert result[key] > 0
    assert result["ratio"] == pytest.approx(
        result["events_per_s"] / result["limit_events_per_s"], rel=0.01
    )
    recovery = result["recovery"]
    assert 0 < recovery["ready_s"] <= recovery["state_s"]
    assert recovery["store"] == settings.worker_store


def test_bench_fanout_reports_clients_and_push_lag_against_one_client(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--fanout", "20", "--fanout-seconds", "3", "--external"])
    assert bench.run(args, settings) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1])
    loaded, baseline = result["fanout"], result["baseline_one_client"]
    assert result["store_mode"] == "all"
    assert (loaded["clients"], loaded["connected"], loaded["dropped"]) == (20, 20, 0)
    assert (baseline["clients"], baseline["connected"], baseline["dropped"]) == (1, 1, 0)
    stalled = result["fanout_with_stalled"]  # by default 1 % of the clients, at least one
    assert (stalled["clients"], stalled["connected"]) == (20, 20)
    assert stalled["stalled"]["clients"] == stalled["stalled"]["connected"] == 1
    assert result["p99_ratio_stalled_to_fanout"] > 0
    assert loaded["updates_sent"] > 0
    assert 0 < loaded["messages"] <= 20 * loaded["updates_sent"]
    assert 0 <= loaded["p50_lag_ms"] <= loaded["p99_lag_ms"] <= loaded["max_lag_ms"]
    assert baseline["delivered_share"] > 0


def test_bench_api_restart_reports_both_starts_with_the_same_minutes(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(
        ["--api-restart", "--restart-stores", "2", "--restart-days", "0.02", "--external"]
    )
    assert bench.run(args, settings) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1])
    assert result["same_minutes"] is True
    minutes = 2 * (int(0.02 * 24 * 60) + 1)  # and the current one, open
    assert result["minutes"] in (minutes - 2, minutes)  # -2: the current one not yet published
    full, finals = result["full"], result["finals"]
    assert full["records_read"] == result["produced"]["kpis"]
    assert full["tail_from_ms"] is None
    assert finals["tail_from_ms"] is not None
    assert finals["records_read"] < full["records_read"]
