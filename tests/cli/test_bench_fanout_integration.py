"""The fan-out benchmark through a real ``shoppulse api`` process on the session's broker:
healthy clients following one store each, stalled clients that never read, and an API
key in the environment that the benchmark's API must not inherit. Its figures are reported,
never asserted (speed belongs to benchmarks, not tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.security import hash_key
from cli.bench_fanout import measure_fanout
from shoppulse.settings import Settings

pytestmark = pytest.mark.integration

CLIENTS = 20
STALLED = 2


def _sane_round(r: dict[str, Any], clients: int, stalled: int) -> None:
    assert (r["clients"], r["connected"], r["dropped"]) == (clients, clients, 0), r
    assert r["stalled"]["clients"] == r["stalled"]["connected"] == stalled, r
    assert 0 <= r["stalled"]["dropped"] <= stalled
    assert r["refused_because"] == {}
    assert r["closed_because"] == {}
    assert 0 <= r["server_slow_drops"] <= stalled
    assert r["updates_sent"] > 0
    assert r["messages"] > 0
    assert 0 < r["delivered_share"] <= 1
    assert 0 <= r["p50_lag_ms"] <= r["p99_lag_ms"] <= r["max_lag_ms"]


def test_fanout_one_store_each_with_stalled_clients_and_keys_in_the_environment(
    settings: Settings, tmp_path: Path
) -> None:
    # Keys in the settings (from SHOPPULSE_API_KEYS on a deployed host): the benchmark's API
    # must run without them, or it would refuse the clients.
    keyed = settings.model_copy(
        update={"api_keys": f"ops:viewer:{hash_key('sp_unknown_to_bench')}"}
    )
    result = measure_fanout(
        keyed,
        tmp_path,
        clients=CLIENTS,
        seconds=3.0,
        stores=5,
        updates_per_s=2.0,
        store_mode="one",
        stalled=STALLED,
    )
    print(json.dumps(result))  # the figures, for the log
    assert result["store_mode"] == "one"
    assert result["baseline_one_client"]["follows"] == "all"
    assert result["fanout"]["follows"] == result["fanout_with_stalled"]["follows"] == "one"
    _sane_round(result["baseline_one_client"], 1, 0)
    _sane_round(result["fanout"], CLIENTS, 0)
    _sane_round(result["fanout_with_stalled"], CLIENTS, STALLED)
    for key in ("p99_ratio_to_baseline", "p99_ratio_stalled_to_fanout"):
        assert result[key] > 0
    # One store each: a client is due its store's updates only, not all of them.
    loaded = result["fanout"]
    assert loaded["messages"] <= loaded["updates_sent"] * CLIENTS / 5 + CLIENTS
