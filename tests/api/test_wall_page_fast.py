"""The wall page in Debian Chromium against the API with a directly filled view (no Kafka).

The alert ticker is checked against the contract of ``GET /api/v1/alerts`` by answering
that route in the browser (the route is built separately; the end-to-end ticker test is in
``test_wall_page.py``). Live updates go through the feed's real decode, apply and
broadcast path on the server's event loop.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from playwright.async_api import WebSocketRoute, async_playwright
from playwright.sync_api import Page, Route, expect

from api.app import create_app
from api.clock import DAY_MS, wall_clock_ms
from api.feed import KpiFeed
from api.security import hash_key, new_key
from api.view import KpiView
from shoppulse.settings import Settings
from tests.api.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FULL_HD,
    LAPTOP,
    ConsoleLog,
    chromium,
    contrast_failures,
    fits_one_screen,
    save_artifact,
)
from tests.api.helpers import MIN, make_snap
from tests.api.page_server import PageServer

pytestmark = pytest.mark.integration  # it drives a real browser (Debian Chromium)

WAIT_MS = 20_000


def _alert(
    ident: str, store: str, severity: str, summary: str, *, ack: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "id": ident,
        "labels": {"alertname": ident, "store_id": store, "kpi": "orders", "severity": severity},
        "annotations": {"summary": summary, "description": f"{summary} (details)"},
        "status": "firing",
        "startsAt": "2024-05-01T12:00:00.000Z",
        "endsAt": None,
        "value": 1.0,
        "expected": 2.0,
        "ack": ack,
        "silencedBy": [],
    }


ALERTS = [
    _alert("a-info", "s2", "info", "Traffic above usual"),
    _alert("a-crit", "s1", "critical", "Payment conversion dropped"),
    _alert("a-acked", "s1", "critical", "GMV dip", ack={"by": "ana", "comment": "", "at": "x"}),
    _alert("a-warn", "s2", "warning", "Chat waiting times up"),
]


@pytest.fixture
def filled() -> tuple[KpiView, int]:
    """Two EUR stores with the last 11 minutes (the newest two still open: the one before
    the minute in progress waits for its grace period) and the same minutes yesterday; s2
    has stock warnings."""
    view = KpiView()
    now = wall_clock_ms()
    minute = now - now % MIN
    for back in range(10, -1, -1):
        start = minute - back * MIN
        for day in (1, 0):
            for store, (out, low) in (("s1", (0, 0)), ("s2", (2, 3))):
                view.apply(
                    make_snap(
                        store,
                        start - day * DAY_MS,
                        final=back > 1 or day == 1,  # the last two minutes are open
                        orders_paid=2 if day == 0 else 1,
                        gmv_minor=3000 if day == 0 else 1000,
                        checkouts=6,
                        sessions_started=30,
                        skus_tracked=40,
                        conversations_opened=4,
                        resolutions=3,
                        ratings=2,
                        ratings_positive=2,
                        rating_sum=9,
                        stock_out_skus=out,
                        low_stock_skus=low,
                    )
                )
    return view, minute


@pytest.fixture
def server(filled: tuple[KpiView, int], tmp_path: Path) -> Iterator[PageServer]:
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        "stores:\n  s1: {daily_gmv_target_minor: 100000, currency: EUR, timezone: UTC}\n",
        encoding="utf-8",
    )
    settings = Settings(topic_namespace="unit.", targets_file=targets)
    app = create_app(settings, start_feed=False, view=filled[0], ws_heartbeat_s=0.5)
    srv = PageServer(app).start()
    yield srv
    srv.stop()


class AlertsRoute:
    """Answers ``/api/v1/alerts`` in the browser: the contract's object, a bare list, or the
    404 of an API without the route."""

    def __init__(self) -> None:
        self.mode = "object"
        self.alerts: list[dict[str, Any]] = ALERTS
        self.queries: list[str] = []

    def __call__(self, route: Route) -> None:
        self.queries.append(route.request.url.split("?", 1)[-1])
        if self.mode == "absent":
            route.fulfill(status=404, json={"detail": "Not Found"})
        elif self.mode == "list":
            route.fulfill(status=200, json=self.alerts)
        else:
            route.fulfill(status=200, json={"alerts": self.alerts})


def expected_console_error(text: str) -> bool:
    """404s the page asks for on purpose: the alerts route when absent, a store's target."""
    return "404" in text and ("/api/v1/alerts" in text or "/api/v1/targets" in text)


def gmv_minor(page: Page) -> int:
    return int(re.sub(r"\D", "", page.locator("#gmv-value").inner_text()))


@pytest.mark.timeout(180)
def test_ticker_live_updates_and_store_switch(
    server: PageServer, filled: tuple[KpiView, int], tmp_path: Path
) -> None:
    view, minute = filled
    alerts = AlertsRoute()
    with chromium() as browser:
        context = browser.new_context(viewport=FULL_HD, locale="en-US", timezone_id="UTC")
        page = context.new_page()
        console = ConsoleLog().attach(page)
        page.route("**/api/v1/alerts?*", alerts)
        page.goto(f"{server.base_url}/", timeout=WAIT_MS)
        expect(page.locator("#conn")).to_have_attribute("data-state", "connected")

        # The ticker: unacknowledged first, by severity; acked dimmed; stores linked.
        items = page.locator("#ticker-list li.alert")
        expect(items).to_have_count(4, timeout=WAIT_MS)
        classes = [items.nth(i).get_attribute("class") for i in range(4)]
        assert classes == [
            "alert sev-critical",
            "alert sev-warning",
            "alert sev-info",
            "alert sev-critical acked",
        ]
        expect(items.nth(3)).to_contain_text("acked by ana")
        expect(items.nth(0)).to_contain_text("since May 1, 12:00")  # not today: with the date
        expect(page.locator("#ticker-count")).to_have_text("3 firing, 1 acked")
        assert items.nth(0).locator("a").get_attribute("href") == "/?store=s1"
        assert page.locator("#ticker-list").get_attribute("aria-live") == "polite"
        assert "store=all" in alerts.queries[0]
        assert "status=firing" in alerts.queries[0]
        expect(page.locator("#stock-list")).to_contain_text("s2")
        expect(page.locator("#stock-list")).to_contain_text("2 out of stock")
        assert contrast_failures(page) == []
        page.click("#tv")
        expect(page.locator("html")).to_have_class("tv")
        assert contrast_failures(page) == []
        assert fits_one_screen(page)
        page.click("#tv")

        # One store, over the same websocket; the GMV follows a new revision exactly.
        page.evaluate("() => { window.firstSocket = window.shoppulseWall.socket.ws; }")
        page.select_option("#store", "s1")
        expect(page).to_have_url(re.compile(r"\?store=s1$"))
        expect(page.locator("#gmv-target .pace")).to_contain_text("expected by now")
        page.wait_for_function(
            "() => /\\d/.test(document.querySelector('#gmv-value').innerText)",
            timeout=WAIT_MS,
        )
        assert page.evaluate("() => window.shoppulseWall.socket.ws === window.firstSocket")
        expect(page.locator("#ticker-list li.alert a")).to_have_count(0)  # one store: no links
        assert "store=s1" in alerts.queries[-1]
        before = gmv_minor(page)
        target = httpx.get(f"{server.base_url}/api/v1/targets?store=s1", timeout=10).json()
        assert before == target["gmv_today_minor"] > 0
        feed = KpiFeed(server.app.state.settings, view, server.app.state.broadcaster)
        bigger = make_snap("s1", minute, revision=50, orders_paid=5, gmv_minor=7500)
        server.call(lambda: feed.handle(bigger.to_json()))
        page.wait_for_function(
            "(want) => document.querySelector('#gmv-value').innerText.replace(/\\D/g, '') === want",
            arg=str(before + 4500),
            timeout=WAIT_MS,
        )
        # The minute before the latest was open when the page connected: its next revision
        # adds only what changed.
        previous = make_snap("s1", minute - MIN, revision=2, final=True, gmv_minor=3100)
        server.call(lambda: feed.handle(previous.to_json()))
        page.wait_for_function(
            "(want) => document.querySelector('#gmv-value').innerText.replace(/\\D/g, '') === want",
            arg=str(before + 4500 + 100),
            timeout=WAIT_MS,
        )
        expect(page.locator("#gmv-change")).to_contain_text("vs yesterday")
        expect(page.locator("#gmv-change")).to_have_class(re.compile(r"\bup\b"))
        assert page.locator("#tile-gmv svg .spark-last").count() == 1
        assert page.locator("#tile-gmv svg .spark-ghost").count() == 1
        expect(page.locator("#orders-value")).to_have_text("2.0")
        save_artifact(page, tmp_path, "wall-fast-s1.png")

        # The ticker polls every 5 s: a bare list is understood, a missing route hides it.
        alerts.mode, alerts.alerts = "list", ALERTS[:1]
        expect(items).to_have_count(1, timeout=WAIT_MS)
        alerts.mode = "absent"
        expect(page.locator("#ticker")).to_be_hidden(timeout=WAIT_MS)
        errors = [e for e in console.errors if not expected_console_error(e)]
        assert console.page_errors == []
        assert errors == []
        context.close()


@pytest.mark.timeout(120)
def test_ticker_scrolls_only_without_reduced_motion(server: PageServer, tmp_path: Path) -> None:
    many = AlertsRoute()
    many.alerts = [
        _alert(f"a{i}", f"s{i % 2 + 1}", ("critical", "warning", "info")[i % 3], f"Alert {i}")
        for i in range(15)
    ]
    with chromium() as browser:
        motions: tuple[tuple[Literal["no-preference", "reduce"], bool], ...] = (
            ("no-preference", True),
            ("reduce", False),
        )
        for motion, scrolls in motions:
            context = browser.new_context(viewport=LAPTOP, reduced_motion=motion)
            page = context.new_page()
            page.route("**/api/v1/alerts?*", many)
            page.goto(f"{server.base_url}/?tv=1", timeout=WAIT_MS)
            expect(page.locator("#ticker-list li.alert")).to_have_count(15, timeout=WAIT_MS)
            expect(page.locator("html")).to_have_class("tv")
            track = page.locator("#ticker-list")
            expect(track).to_have_class(re.compile("scrolling") if scrolls else "ticker-track")
            animation = page.evaluate(
                "() => getComputedStyle(document.querySelector('#ticker-list')).animationName"
            )
            assert (animation == "ticker") is scrolls
            if motion == "reduce":
                save_artifact(page, tmp_path, "wall-fast-tv-laptop.png")
            context.close()


def test_page_assets_are_served_with_types_and_etags(filled: tuple[KpiView, int]) -> None:
    app = create_app(Settings(topic_namespace="unit."), start_feed=False, view=filled[0])
    with TestClient(app) as client:
        page = client.get("/")
        assert page.headers["content-type"].startswith("text/html")
        for name in re.findall(r'(?:src|href)="/static/([^"]+)"', page.text):
            assert client.get(f"/static/{name}").status_code == 200
        js = client.get("/static/wall.js")
        assert js.headers["content-type"].startswith("text/javascript")
        for module in re.findall(r'from "\./([a-z]+\.js)"', js.text):
            r = client.get(f"/static/{module}")
            assert r.status_code == 200, module
            assert "http://" not in r.text.replace("http://www.w3.org/2000/svg", "")
        again = client.get("/static/wall.js", headers={"If-None-Match": js.headers["etag"]})
        assert again.status_code == 304
        assert client.get("/static/nope.js").status_code == 404
        assert client.get("/static/..%2Fapp.py").status_code == 404
        assert client.get("/static/wall.exe").status_code == 404
        assert orjson.loads(client.get("/static/missing.css").content)["detail"]


@pytest.mark.timeout(120)
def test_wall_with_api_keys_asks_for_one_and_keeps_it(
    filled: tuple[KpiView, int], tmp_path: Path
) -> None:
    key = new_key()
    settings = Settings(topic_namespace="unit.", api_keys=f"wall:viewer:{hash_key(key)}")
    app = create_app(settings, start_feed=False, view=filled[0], ws_heartbeat_s=0.5)
    srv = PageServer(app).start()
    try:
        with chromium() as browser:
            context = browser.new_context(viewport=LAPTOP, locale="en-US")
            page = context.new_page()
            page.goto(f"{srv.base_url}/", timeout=WAIT_MS)
            expect(page.locator("#access")).to_be_visible(timeout=WAIT_MS)
            expect(page.locator("#conn")).to_have_attribute("data-state", "offline")
            expect(page.locator("#ticker-list")).to_have_text("Alerts need an API key")

            page.goto(f"{srv.base_url}/?store=s1&key={key}", timeout=WAIT_MS)
            expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
            expect(page).to_have_url(re.compile(r"/\?store=s1$"))  # the key left the URL
            expect(page.locator("#access")).to_be_hidden()
            page.wait_for_function(
                "() => /\\d/.test(document.querySelector('#gmv-value').innerText)",
                timeout=WAIT_MS,
            )
            page.goto(f"{srv.base_url}/", timeout=WAIT_MS)  # this browser kept the key
            expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
            expect(page.locator("#store option")).to_have_count(3, timeout=WAIT_MS)
            context.close()
    finally:
        srv.stop()


@pytest.mark.timeout(120)
async def test_an_update_that_arrives_after_the_rest_answer_is_not_counted_twice(
    server: PageServer, filled: tuple[KpiView, int]
) -> None:
    """The websocket lags 1.5 s behind the API here (every message held back in order), so
    the REST answer of a refresh already includes an update the page has not received: the
    page must wait for ``synced`` before it takes its marks, or it counts that update twice.
    """
    view, minute = filled
    lag_s = 1.5

    async def lagging(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        queue: asyncio.Queue[tuple[float, str | bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, message = await queue.get()
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                ws.send(message)

        task = asyncio.get_running_loop().create_task(deliver())
        upstream.on_message(lambda m: queue.put_nowait((time.monotonic() + lag_s, m)))
        upstream.on_close(lambda code, reason: task.cancel())

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            page = await browser.new_page(viewport=FULL_HD, locale="en-US", timezone_id="UTC")
            await page.route_web_socket(re.compile(r".*/ws/live.*"), lagging)
            await page.goto(f"{server.base_url}/?store=s1", timeout=WAIT_MS)
            gmv = page.locator("#gmv-value")
            await page.wait_for_function(
                "() => /\\d/.test(document.querySelector('#gmv-value').innerText)",
                timeout=WAIT_MS,
            )
            await asyncio.sleep(2 * lag_s)  # the connect-time refresh has settled
            before = int(re.sub(r"\D", "", await gmv.inner_text()))
            feed = KpiFeed(server.app.state.settings, view, server.app.state.broadcaster)
            bigger = make_snap("s1", minute, revision=60, orders_paid=5, gmv_minor=7500)
            server.call(lambda: feed.handle(bigger.to_json()))
            await page.evaluate("() => window.shoppulseWall.refreshAll()")
            want = str(before + 4500)
            await page.wait_for_function(
                "(want) => document.querySelector('#gmv-value').innerText.replace(/\\D/g, '')"
                " === want",
                arg=want,
                timeout=WAIT_MS,
            )
            await asyncio.sleep(2 * lag_s)  # long after the held-back update arrived
            assert re.sub(r"\D", "", await gmv.inner_text()) == want
        finally:
            await browser.close()
