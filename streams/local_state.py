"""The worker's local table files (RocksDB) are trusted only after a clean shutdown.

The worker writes a table entry to its local store and sends it to the changelog in one
step; a crash can leave local entries whose changelog records were never acknowledged, and
Faust's recovery then replays older changelog records over newer local ones. Like Kafka
Streams after an unclean shutdown, a worker that did not stop cleanly wipes its local tables
and recovers them from the changelogs; one that did reuses them (ADR 15).

>>> import tempfile
>>> tables = Path(tempfile.mkdtemp()) / "tables"
>>> prepare_local_tables(tables)
'empty'
>>> (tables / "open-minutes-0.db").mkdir(parents=True)
>>> prepare_local_tables(tables)  # empty database directories (as Faust makes them)
'empty'
>>> (tables / "open-minutes-0.db" / "000004.log").write_bytes(b"...")
3
>>> prepare_local_tables(tables)  # no marker: the last run did not stop cleanly
'wiped'
>>> (tables / "open-minutes-0.db").mkdir(parents=True)
>>> (tables / "open-minutes-0.db" / "000004.log").write_bytes(b"...")
3
>>> mark_clean_shutdown(tables)
>>> prepare_local_tables(tables), prepare_local_tables(tables)
('reused', 'wiped')
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Final, Literal

MARKER: Final = "CLEAN_SHUTDOWN"


def prepare_local_tables(tabledir: Path) -> Literal["empty", "reused", "wiped"]:
    """Keep local tables after a clean shutdown (consuming its marker), else remove them."""
    marker = tabledir / MARKER
    if marker.exists():
        marker.unlink()
        return "reused"
    if tabledir.exists() and any(path.is_file() for path in tabledir.rglob("*")):
        shutil.rmtree(tabledir)
        return "wiped"
    return "empty"


def mark_clean_shutdown(tabledir: Path) -> None:
    """Record that the local tables match the changelogs (after the worker stopped cleanly)."""
    tabledir.mkdir(parents=True, exist_ok=True)
    (tabledir / MARKER).touch()
