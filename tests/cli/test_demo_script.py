"""The demo's scripted outage is seen and resolved within its first ten minutes whatever the
hour it starts: the demo's own traffic (plan, simulator and incident), counted by the ground
truth, through the worker's detectors, at the hours whose busy region is quietest."""

from __future__ import annotations

import pytest

from cli.demo_script import MINUTE_MS, minutes_up, plan
from shoppulse.snapshot import KpiSnapshot
from shoppulse.store_detectors import StoreDetectors
from tests.groundtruth import ground_truth

DAY0_MS = 1_765_065_600_000  # a midnight UTC
FINAL_AFTER_MS = MINUTE_MS + 5_000
"""A minute's final snapshot comes about a grace (5 s) after its end."""


def _outage_alert_ms(now_ms: int) -> tuple[int | None, int | None]:
    """When the checkout-outage alert fires and resolves, from the live run's start."""
    the_plan = plan(now_ms, 3, 1, 1.05, 5.0, 0.4)
    outage = the_plan.checkout_outage(minutes_up(now_ms + 60_000), 4 * MINUTE_MS)
    sim = the_plan.simulator(seed=1, incidents=(outage,))
    records = []
    for ev in sim.events():
        if ev.ts_ms >= now_ms + 12 * MINUTE_MS:
            break
        if ev.key == the_plan.busy_store:
            records.append({"topic": ev.topic_family, "value": ev.value})
    truth = ground_truth(records)
    detectors = StoreDetectors(the_plan.busy_store)
    fired = resolved = None
    for (store, start), row in sorted(truth.minutes.items(), key=lambda kv: kv[0][1]):
        snap = KpiSnapshot(store, start, start + MINUTE_MS, True, 1, "EUR", row, 0)
        for signal in detectors.on_final(snap):
            if signal["labels"]["alertname"] != "checkout_outage" or start < now_ms:
                continue
            at = start - now_ms + FINAL_AFTER_MS
            if signal["status"] == "firing" and fired is None:
                fired = at
            elif signal["status"] == "resolved" and fired is not None and resolved is None:
                resolved = at
    return fired, resolved


@pytest.mark.parametrize("utc", ["04:00", "07:00", "14:00", "23:00"])
def test_the_outage_fires_and_resolves_within_ten_minutes(utc: str) -> None:
    hours, minutes = (int(x) for x in utc.split(":"))
    fired, resolved = _outage_alert_ms(DAY0_MS + (hours * 60 + minutes) * MINUTE_MS + 17_000)
    assert fired is not None, "the outage was not seen"
    assert resolved is not None, "the outage alert did not resolve"
    assert fired < resolved <= 10 * MINUTE_MS
