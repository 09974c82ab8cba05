"""`shoppulse demo` as a newcomer runs it: real broker, worker, API and simulator; a backfilled
history gives the comparisons with yesterday values at once; live values reach a real websocket;
Ctrl-C stops every process it started."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.sync.client import connect

from cli.broker import free_port
from cli.processes import Child, shoppulse_command

pytestmark = pytest.mark.integration


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_demo_backfills_serves_live_values_and_stops_cleanly(tmp_path: Path) -> None:
    """A shortened history (a day and an hour, the busy store at 1 event/s) so that the test
    stays bounded; the default demo backfills last week's day as well."""
    port = free_port()
    demo = Child(
        "demo",
        shoppulse_command(
            "demo",
            "--port",
            str(port),
            "--stores",
            "3",
            "--rate",
            "1",
            "--history-days",
            "1.05",
            "--incident-after",
            "0",
            "--data-dir",
            str(tmp_path / "demo"),
        ),
        tmp_path / "demo.log",
    )
    demo.start()
    assert demo.process is not None
    try:
        demo.wait_for("Backfilling 25 h of history for 3 stores", 180)
        began = time.monotonic()
        demo.wait_for("Dashboard: http://127.0.0.1:", 600)
        backfill_s = time.monotonic() - began
        assert "counted by the worker in" in demo.tail(50)
        print(f"backfill of 25 h took {backfill_s:.1f} s")
        children = _children_of(demo.process.pid)
        assert len(children) == 4  # kafka, worker, api, dispatcher (the simulator is a thread)
        base = f"http://127.0.0.1:{port}"
        assert "ShopPulse" in httpx.get(f"{base}/", timeout=10).text
        for store in ("all", "store-001", "store-002", "store-003"):
            kpis = httpx.get(
                f"{base}/api/v1/kpis", params={"store": store, "window": "1h"}, timeout=10
            ).json()
            yesterday = kpis["comparisons"]["yesterday"]
            assert kpis["comparison_windows"]["yesterday"]["minutes"] >= 50, kpis
            assert yesterday.get("orders"), yesterday
            assert kpis["comparison_windows"]["last_week"]["minutes"] == 0
        with connect(f"ws://127.0.0.1:{port}/ws/live?store=all", open_timeout=10) as ws:
            first = orjson.loads(ws.recv(timeout=10))
            assert first["type"] == "snapshot"
            update: dict[str, Any] = {}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and update.get("type") != "update":
                update = orjson.loads(ws.recv(timeout=30))
            assert update["type"] == "update"
            assert update["snapshot"]["store_id"].startswith("store-")
            assert update["snapshot"]["components"]["events"] > 0
        stores = httpx.get(f"{base}/api/v1/stores", timeout=10).json()["stores"]
        assert {s["store_id"] for s in stores} <= {"store-001", "store-002", "store-003"}
    finally:
        demo.process.send_signal(signal.SIGINT)
        code = demo.process.wait(timeout=60)
    assert code == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in children):
        time.sleep(0.2)
    assert not [p for p in children if _alive(p)], "the demo left processes behind"
