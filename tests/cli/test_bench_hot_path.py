"""The in-process hot-path harness: it counts the bench's traffic exactly as the worker would
(no dead letters, every minute published) and reports each phase's share."""

from __future__ import annotations

from cli import bench_hot_path


def test_the_harness_counts_the_bench_traffic_and_reports_its_phases() -> None:
    start = 1_700_000_040_000
    records = bench_hot_path.make_records(3_000, stores=3, seed=7, start_ms=start)
    assert len(records) == 3_000
    assert {r.partition for r in records} <= set(range(4))
    out = bench_hot_path.measure(records, start, profile=True)
    assert out["events"] == 3_000
    assert out["dead_letters"] == 0
    assert out["snapshots"] > 0
    shares = out["phases_share"]
    assert set(shares) == set(bench_hot_path.PHASES)
    assert 0 < shares["decode"] < shares["process"] <= 1
    assert shares["ingest.minute_add"] < shares["ingest"]
