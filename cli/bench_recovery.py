"""Recovery figures of ``shoppulse bench``: a worker restarted after the measured run.

The pipeline's worker has just stopped (SIGTERM, a clean stop). A new worker with the same
group and the same data directory starts, and the bench times, from its process start:

* ``ready_s``: Faust reports the worker ready (its tables' changelogs replayed);
* ``state_s``: the processor has loaded the recovered tables and counts again
  (``state restored`` in its log).

With ``SHOPPULSE_WORKER_STORE=memory://`` every changelog is replayed from the start; with
``rocksdb://`` the local tables are reused after a clean stop and only the changelogs' tails
are read (ADR 15). ``local_tables`` says which happened.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cli.processes import worker_child
from shoppulse.settings import Settings


def measure_recovery(settings: Settings, data_dir: Path, workdir: Path) -> dict[str, Any]:
    """Seconds for a restarted worker (same group, same ``data_dir``) to be ready and to
    have its state back; and what it did with its local tables."""
    child = worker_child(settings, workdir, "restart", data_dir)
    started = time.perf_counter()
    child.start()
    try:
        child.wait_for("Worker]: Ready", 300)
        ready_s = time.perf_counter() - started
        child.wait_for("state restored", 300)
        state_s = time.perf_counter() - started
        log = child.tail(2_000)
    finally:
        child.stop()
    outcome = next(
        (kind for kind in ("reused", "wiped", "empty") if f"local tables {kind}" in log),
        "not kept (memory store)",
    )
    return {
        "store": settings.worker_store,
        "ready_s": round(ready_s, 2),
        "state_s": round(state_s, 2),
        "local_tables": outcome,
    }
