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
