"""`shoppulse demo` in a browser: the scripted checkout outage raises a critical alert on the
wall's ticker, the dispatcher prints its message, and the alert resolves, all within the live
run's first ten minutes (the real broker, worker, API, dispatcher and Debian Chromium).

The demo's traffic through the detectors offline, at every hour of a day: the outage (1
minute into the live run, for 4 minutes) fires 2-4 minutes into it and resolves 1-3 minutes
after it ends; a minute is final a few seconds after its end."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cli.broker import free_port
from cli.processes import Child, shoppulse_command
from tests.api.browser import FULL_HD, ConsoleLog, chromium, save_artifact, screenshot_on_failure

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]

SUMMARY = "Checkouts stopped turning into paid orders"
BOUND_S = 10 * 60
WATCH = re.compile(r"Watch: at (\d\d:\d\d) (store-\d{3})'s checkouts stop")


def test_the_demo_incident_fires_on_the_ticker_and_resolves(tmp_path: Path) -> None:
    """A day of history (the checkout-outage detector, a rate, is warm after 30 minutes; the
    default demo backfills last week too), then the default demo's outage."""
    port = free_port()
    demo = Child(
        "demo",
        shoppulse_command(
            "demo",
            "--port",
            str(port),
            "--history-days",
            "1.05",
            "--data-dir",
            str(tmp_path / "d"),
        ),
        tmp_path / "demo.log",
    )
    demo.start()
    assert demo.process is not None
    try:
        demo.wait_for("Dashboard: http://127.0.0.1:", 600)
        live = time.monotonic()
        demo.wait_for("Watch: at", 10)
        match = WATCH.search(demo.tail(40))
        assert match, demo.tail(40)
        store = match.group(2)
        with chromium() as browser:
            page = browser.new_page(viewport=FULL_HD, locale="en-US")
            console = ConsoleLog().attach(page)
            with screenshot_on_failure(page, tmp_path):
                page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
                expect(page.locator("#ticker")).to_be_visible(timeout=60_000)
                outage = page.locator("#ticker-list li.alert").filter(has_text=SUMMARY)
                left_s = BOUND_S - (time.monotonic() - live)
                expect(outage).to_have_count(1, timeout=left_s * 1000)
                fired_s = time.monotonic() - live
                expect(outage).to_have_class(re.compile(r"\bsev-critical\b"))
                expect(outage.locator("a.alert-store")).to_have_text(store)
                save_artifact(page, tmp_path, "demo-outage.png")
                left_s = BOUND_S - (time.monotonic() - live)
                expect(outage).to_have_count(0, timeout=max(left_s, 1) * 1000)
                resolved_s = time.monotonic() - live
            assert console.page_errors == []
        print(f"outage alert on the ticker {fired_s:.0f} s, gone {resolved_s:.0f} s after live")
        printed = [line for line in demo.tail(400).splitlines() if "alert: " in line]
        assert any(store in line for line in printed), printed
    finally:
        demo.process.send_signal(signal.SIGINT)
        code = demo.process.wait(timeout=60)
    assert code == 0
