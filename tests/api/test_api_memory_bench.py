"""``shoppulse bench --api-memory`` (cli.bench_api_memory) on a tiny history: both layouts
measured, the packed one smaller, and their answers identical."""

from __future__ import annotations

from cli.bench_api_memory import measure_api_memory


def test_the_bench_measures_both_layouts_on_cloned_worker_minutes() -> None:
    out = measure_api_memory(
        stores=2, days=0.25, source_stores=1, source_minutes=3, hour=12, seed=7
    )
    assert out["minutes_held"] == 2 * 6 * 60
    assert out["answers_identical"] is True
    before, after = out["before"], out["after"]
    assert 0 < after["bytes"] < before["bytes"] / 3
    assert after["bytes_per_minute"] == round(after["bytes"] / out["minutes_held"], 1)
    parts = after["parts_per_minute"]
    assert parts["sketches"] > parts["columns"] > 0
    assert sum(before["parts_per_minute"].values()) > before["bytes_per_minute"] / 2
    assert out["first_today_all"]["cpu_s_packed"] > 0
