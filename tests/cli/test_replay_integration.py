"""``shoppulse replay`` of a real clickstream sample through the real broker and worker.

The sample is the first rows of the REES46 October 2019 export (tests/data/README.md). It is
replayed with the example mapping docs/mappings/rees46-clickstream.yaml, and every closed
store-minute's funnel is compared, exactly, with counts computed here from the CSV with the
plain ``csv`` module, from the mapping's documented meaning alone (not its code):

* ``view`` → a product_view click, ``cart`` → an add_to_cart click, ``purchase`` → a checkout
  click and a paid order of the row's price (decimal, in cents of the constant USD);
* every row is an event (identical rows too: they are numbered by occurrence);
* sessions / visitors: distinct ``user_session`` / ``user_id`` of the minute's rows;
* one store, ``rees46``; the minute is the UTC floor of ``event_time``.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from cli import replay
from shoppulse import topics
from shoppulse.settings import Settings
from tests.conftest import WorkerFactory
from tests.kafka_helpers import collect_snapshots, finals_by_minute, group_progress, poll_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "rees46_2019-10-01_head5000.csv"
MAPPING = ROOT / "docs" / "mappings" / "rees46-clickstream.yaml"
STORE = "rees46"
FINALS_TIMEOUT_S = 180.0
COMPARED = (
    "events",
    "product_views",
    "page_views",
    "add_to_cart",
    "checkouts",
    "orders_paid",
    "gmv_minor",
    "sessions",
    "visitors",
)


def expected_from_csv(path: Path) -> dict[tuple[str, int], dict[str, int]]:
    """Per (store, minute start ms) the funnel counts, straight from the CSV rows."""
    counts: dict[int, Counter[str]] = {}
    sessions: dict[int, set[str]] = {}
    visitors: dict[int, set[str]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = row["event_time"]
            assert text.endswith(" UTC")
            when = datetime.strptime(text[: -len(" UTC")], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            minute = int(when.timestamp()) // 60 * 60_000
            c = counts.setdefault(minute, Counter())
            kind = row["event_type"]
            if kind == "view":
                c["product_views"] += 1
                c["events"] += 1
            elif kind == "cart":
                c["add_to_cart"] += 1
                c["events"] += 1
            else:
                assert kind == "purchase"
                c["checkouts"] += 1
                c["orders_paid"] += 1
                c["gmv_minor"] += int(Decimal(row["price"]) * 100)
                c["events"] += 2
            sessions.setdefault(minute, set()).add(row["user_session"])
            visitors.setdefault(minute, set()).add(row["user_id"])
    return {
        (STORE, minute): {
            **{name: c[name] for name in COMPARED},
            "sessions": len(sessions[minute]),
            "visitors": len(visitors[minute]),
        }
        for minute, c in counts.items()
    }


def replay_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    replay.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_rees46_sample_replayed_equals_counts_from_the_csv(
    settings: Settings, start_worker: WorkerFactory
) -> None:
    expected = expected_from_csv(SAMPLE)
    assert sum(row["events"] for row in expected.values()) == 4_999 + 54
    assert len(expected) > 60
    start_worker()
    args = replay_args(str(SAMPLE), "--mapping", str(MAPPING), "--no-progress")
    started = time.perf_counter()
    assert replay.run(args, settings) == 0  # read, map, validate, sort, produce and flush
    print(f"replay: {4_999 / (time.perf_counter() - started):,.0f} rows/s to the broker")
    snaps = collect_snapshots(settings, expected, FINALS_TIMEOUT_S)
    finals = finals_by_minute(snaps)
    missing = set(expected) - set(finals)
    assert not missing, (
        f"{len(missing)} minutes never closed, e.g. {sorted(missing)[:3]}; "
        f"worker group's (committed, log end) per input: {group_progress(settings)}"
    )
    assert set(finals) == set(expected), "the worker closed minutes that have no rows"
    for key, want in expected.items():
        (final,) = finals[key]  # exactly one final snapshot per store-minute
        got = {name: final.components.get(name) for name in COMPARED}
        assert got == want, f"minute {key} differs"

    # A second replay of the same file counts nothing twice: the same event ids, in minutes
    # that are closed now, all go to the dead letter as late and no minute is revised.
    assert replay.run(args, settings) == 0
    total = sum(row["events"] for row in expected.values())
    dead = poll_until(settings, topics.DEADLETTER, lambda d: len(d) >= total, 120.0)
    assert Counter(d["reason"] for d in dead) == {"late": total}
    again = finals_by_minute(collect_snapshots(settings, expected, FINALS_TIMEOUT_S))
    assert all(len(again[key]) == 1 for key in expected)
