"""The wall page in Debian Chromium against the real pipeline: broker, worker, API.

Simulated shop events (tests/api/traffic.py) flow through the session's Kafka broker
and a real ``shoppulse worker``; the real ``shoppulse api`` serves the page on a fixed
loopback port and is restarted mid-test. Every wait is bounded. Screenshots go to the
test's ``tmp_path`` (and ``$SHOPPULSE_ARTIFACTS_DIR`` when set); with
``SHOPPULSE_UPDATE_SCREENSHOT=1`` the populated page is also saved as ``docs/img/wall.png``
and ``docs/img/wall-tv.png``.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaProducer
from playwright.sync_api import Page, expect

from cli.broker import free_port
from kafka_io.config import kafka_python_config
from shoppulse.alert_shape import alert
from shoppulse.settings import Settings
from shoppulse.timeutil import format_ts_ms
from shoppulse.topics import ALERTS
from simulator.incidents import Incident
from tests.api.api_process import ApiProcess
from tests.api.browser import (
    FULL_HD,
    LAPTOP,
    ConsoleLog,
    chromium,
    contrast_failures,
    fits_one_screen,
    save_artifact,
    screenshot_on_failure,
    texts_checked,
    update_docs_screenshot,
)
from tests.api.traffic import LiveTraffic, wall_ms
from tests.conftest import WorkerFactory

pytestmark = pytest.mark.integration

WAIT_MS = 60_000
DASH = "\u2013"
TARGETS = """
stores:
  store-001: {daily_gmv_target_minor: 4_000_000, currency: EUR, timezone: Europe/Berlin}
  store-002: {daily_gmv_target_minor: 3_000_000, currency: USD, timezone: America/New_York}
  store-003: {daily_gmv_target_minor: 2_000_000, currency: GBP, timezone: Europe/London}
"""


@pytest.fixture
def wall_settings(settings: Settings, tmp_path: Path) -> Settings:
    targets = tmp_path / "targets.yaml"
    targets.write_text(TARGETS, encoding="utf-8")
    return settings.model_copy(update={"targets_file": targets})


def unexpected_errors(console: ConsoleLog) -> list[str]:
    return [*console.page_errors, *console.errors]


def text_of(page: Page, selector: str) -> str:
    return page.locator(selector).inner_text(timeout=WAIT_MS).strip()


def wait_text_change(page: Page, selector: str, old: str, timeout_ms: int = WAIT_MS) -> str:
    page.wait_for_function(
        "([sel, old]) => { const t = document.querySelector(sel).innerText.trim();"
        " return t !== old && t !== '' && !t.startsWith('\u2013'); }",
        arg=[selector, old],
        timeout=timeout_ms,
    )
    return text_of(page, selector)


def wait_filled(page: Page, selector: str, timeout_ms: int = WAIT_MS) -> str:
    return wait_text_change(page, selector, DASH, timeout_ms)


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def money_digits(minor: int) -> str:
    """The digits the page shows for an amount in cents: whole units from 1,000 up."""
    if minor >= 100_000:
        return str(math.floor(minor / 100 + 0.5))
    return str(minor)


def get_json(base: str, path: str, **params: str) -> Any:
    r = httpx.get(f"{base}{path}", params=params, timeout=10.0)
    r.raise_for_status()
    return r.json()


def wait_settled(base: str, store: str, timeout_s: float = 90.0) -> dict[str, Any]:
    """Today's rollup once every minute of ``store`` is final and two reads agree."""
    deadline = time.monotonic() + timeout_s
    previous: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        body: dict[str, Any] = get_json(base, "/api/v1/kpis", store=store, window="today")
        if body["final"] and previous is not None and previous["components"] == body["components"]:
            return body
        previous = body
        time.sleep(2.0)
    raise AssertionError(f"the minutes of {store} did not settle in {timeout_s} s")


@pytest.mark.timeout(600)
def test_wall_page_follows_the_pipeline_and_survives_an_api_restart(
    wall_settings: Settings, start_worker: WorkerFactory, tmp_path: Path
) -> None:
    started = time.monotonic()
    start_worker()
    traffic = LiveTraffic(
        wall_settings, stores=3, seed=41, backlog_s=600, events_per_s=40.0, yesterday_s=420
    ).start()
    api = ApiProcess(wall_settings, free_port(), tmp_path)
    try:
        assert traffic.backlog_done.wait(60), "the backlog was not produced"
        api.start()
        base = api.base_url
        with chromium() as browser:
            context = browser.new_context(
                viewport=FULL_HD, locale="en-US", timezone_id="Europe/Berlin"
            )
            page = context.new_page()
            console = ConsoleLog().attach(page)
            with screenshot_on_failure(page, tmp_path):
                page.goto(f"{base}/", wait_until="domcontentloaded", timeout=WAIT_MS)

                # All stores: connected, every tile filled, money per currency, numbers moving.
                expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
                expect(page.locator("#store option")).to_have_count(4, timeout=WAIT_MS)
                # The worker is still reading the backlog: the page says so until it is done.
                expect(page.locator("#catching-up")).to_be_hidden(timeout=180_000)
                gmv = wait_filled(page, "#gmv-value")
                page.wait_for_function(
                    "() => ['\u20ac', '$', '\u00a3'].every("
                    "(c) => document.querySelector('#gmv-value').innerText.includes(c))",
                    timeout=WAIT_MS,
                )
                for tile in ("orders", "aov", "visitors", "conversion"):
                    wait_filled(page, f"#{tile}-value")
                gmv = text_of(page, "#gmv-value")
                wait_text_change(page, "#gmv-value", gmv)
                impressions = text_of(page, "#funnel-steps li[data-step=impressions] .step-count")
                wait_text_change(
                    page, "#funnel-steps li[data-step=impressions] .step-count", impressions
                )
                assert int(page.locator("#tile-orders svg.spark").get_attribute("data-points") or 0)
                page.wait_for_selector("#tile-orders svg.spark .spark-last", timeout=WAIT_MS)
                # Three currencies: no per-minute money line summed across them.
                expect(page.locator("#tile-gmv .spark-note")).to_be_visible()
                expect(page.locator("#tile-gmv svg.spark")).to_be_hidden()
                assert "No stock data yet" not in text_of(page, "#stock-list")
                assert not page.locator("#stale").is_visible()
                assert texts_checked(page) > 40
                assert contrast_failures(page) == []
                save_artifact(page, tmp_path, "wall-all.png")

                # The store selector follows one store over the same websocket.
                page.evaluate("() => { window.firstSocket = window.shoppulseWall.socket.ws; }")
                page.select_option("#store", "store-001")
                expect(page).to_have_url(re.compile(r"\?store=store-001$"))
                expect(page.locator("#gmv-foot")).to_contain_text("Europe/Berlin")
                expect(page.locator("#gmv-target")).to_be_visible(timeout=WAIT_MS)
                expect(page.locator("#gmv-target .pace")).to_contain_text("expected by now")
                page.wait_for_function(
                    "() => document.querySelector('#gmv-value').innerText.includes('\u20ac')",
                    timeout=WAIT_MS,
                )
                assert page.evaluate("() => window.shoppulseWall.socket.ws === window.firstSocket")
                compared = re.compile(r"\b(up|down|flat)\b")  # yesterday's minutes are held
                for tile in ("gmv", "orders", "aov", "visitors", "conversion"):
                    expect(page.locator(f"#{tile}-change")).to_have_class(compared, timeout=WAIT_MS)
                gmv = text_of(page, "#gmv-value")
                wait_text_change(page, "#gmv-value", gmv)
                for tile in ("orders", "aov", "visitors", "conversion"):
                    wait_filled(page, f"#{tile}-value")
                page.wait_for_selector("#tile-gmv svg.spark .spark-last", timeout=WAIT_MS)
                expect(page.locator("#tile-gmv .spark-note")).to_be_hidden()
                # While events flow, the live funnel agrees with REST (no minute counted twice).
                for step in ("impressions", "orders_paid"):
                    shown = int(digits(text_of(page, f"li[data-step={step}] .step-count")))
                    rest = get_json(base, "/api/v1/kpis", store="store-001", window="today")
                    truth = rest["components"][step]
                    assert abs(shown - truth) <= max(10, truth // 33), (step, shown, truth)
                page.wait_for_timeout(1500)  # let the flash animation end
                assert contrast_failures(page) == []
                shot = save_artifact(page, tmp_path, "wall-store-001.png")
                update_docs_screenshot(shot, "wall.png")

                # TV mode: dark, larger numbers, in the URL; AA contrast there too.
                size_before = page.evaluate(
                    "() => parseFloat(getComputedStyle(document.querySelector('#orders-value'))"
                    ".fontSize)"
                )
                page.click("#tv")
                expect(page.locator("html")).to_have_class(re.compile(r"\btv\b"))
                expect(page).to_have_url(re.compile(r"store=store-001&tv=1$"))
                page.wait_for_timeout(1500)
                size_tv = page.evaluate(
                    "() => parseFloat(getComputedStyle(document.querySelector('#orders-value'))"
                    ".fontSize)"
                )
                assert size_tv > size_before * 1.1
                background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
                assert sum(int(v) for v in re.findall(r"\d+", background)[:3]) < 3 * 40
                assert fits_one_screen(page)
                assert contrast_failures(page) == []
                shot = save_artifact(page, tmp_path, "wall-store-001-tv.png")
                update_docs_screenshot(shot, "wall-tv.png")

                # A laptop screen: nothing spills out sideways.
                page.set_viewport_size(LAPTOP)
                page.click("#tv")
                expect(page.locator("html")).not_to_have_class(re.compile(r"\btv\b"))
                assert page.evaluate(
                    "() => document.documentElement.scrollWidth <= window.innerWidth"
                )
                save_artifact(page, tmp_path, "wall-laptop.png")
                page.set_viewport_size(FULL_HD)
                assert unexpected_errors(console) == []

                # The API restarts: the page says so, reconnects by itself and moves on.
                api.stop()
                expect(page.locator("#conn")).to_have_attribute(
                    "data-state", re.compile("reconnecting|offline"), timeout=20_000
                )
                expect(page.locator("#stale")).to_contain_text("stale since", timeout=10_000)
                save_artifact(page, tmp_path, "wall-reconnecting.png")
                api.start()
                expect(page.locator("#conn")).to_have_attribute(
                    "data-state", "connected", timeout=30_000
                )
                expect(page.locator("#stale")).to_be_hidden(timeout=30_000)
                gmv = text_of(page, "#gmv-value")
                wait_text_change(page, "#gmv-value", gmv)

                # Traffic stops: once every minute is final the page equals the REST answers.
                traffic.stop()
                today = wait_settled(base, "store-001")
                target = get_json(base, "/api/v1/targets", store="store-001")
                page.wait_for_function(
                    "(want) => document.querySelector('#gmv-value').innerText.replace(/\\D/g, '')"
                    " === want",
                    arg=money_digits(target["gmv_today_minor"]),
                    timeout=40_000,
                )
                for step in ("impressions", "product_views", "add_to_cart", "checkouts"):
                    page.wait_for_function(
                        "([step, want]) => document.querySelector("
                        "`#funnel-steps li[data-step=${step}] .step-count`)"
                        ".innerText.replace(/\\D/g, '') === want",
                        arg=[step, str(today["components"][step])],
                        timeout=40_000,
                    )
                paid = digits(text_of(page, "#funnel-steps li[data-step=orders_paid] .step-count"))
                assert paid == str(today["components"]["orders_paid"])
            context.close()
    finally:
        traffic.stop()
        api.stop()
    print(f"wall page test: {time.monotonic() - started:.0f} s, {traffic.total} events")


@pytest.mark.timeout(400)
def test_alert_of_an_injected_incident_appears_in_the_ticker(
    wall_settings: Settings, start_worker: WorkerFactory, tmp_path: Path
) -> None:
    """Incidents are injected into the simulated traffic: a conversion drop at store-001 and
    a stock-out at store-002.

    The detectors need about a day of history before they score, so the conversion drop's
    alert is produced to ``shoppulse.alerts`` here, shaped by ``shoppulse.alert_shape``: it
    shows in the ticker (critical, linked to its store), dimmed once acknowledged through
    the API, and leaves when resolved. Inventory rules need no history: the pipeline's own
    alert for the stock-out then shows in the ticker as well.
    """
    start_worker()
    now = wall_ms()
    incidents = [
        Incident("conversion_drop", "store-001", now - 240_000, now + 3_600_000, 0.3),
        Incident("stock_out", "store-002", now - 240_000, now + 3_600_000, 0.1),
    ]
    traffic = LiveTraffic(
        wall_settings, stores=3, seed=43, backlog_s=300, events_per_s=30.0, incidents=incidents
    ).start()
    api = ApiProcess(wall_settings, free_port(), tmp_path)
    producer = KafkaProducer(**kafka_python_config(wall_settings), acks="all")
    try:
        assert traffic.backlog_done.wait(60)
        api.start()
        with chromium() as browser:
            page = browser.new_page(viewport=FULL_HD, locale="en-US")
            console = ConsoleLog().attach(page)
            with screenshot_on_failure(page, tmp_path):
                page.goto(f"{api.base_url}/", wait_until="domcontentloaded", timeout=WAIT_MS)
                expect(page.locator("#stock-list")).to_contain_text("store-002", timeout=WAIT_MS)
                expect(page.locator("#ticker")).to_be_visible()
                items = page.locator("#ticker-list li.alert")

                # The conversion drop's alert, produced in the pipeline's shape.
                record = alert(
                    name="conversion_drop",
                    store_id="store-001",
                    kpi="payment_conversion",
                    severity="critical",
                    status="firing",
                    starts_at_ms=incidents[0].start_ms + 120_000,
                    value=0.016,
                    expected=0.052,
                    summary="Payment conversion dropped",
                    description="store-001: payment_conversion is 0.016 against 0.052 expected",
                )
                topic = wall_settings.topic(ALERTS)
                producer.send(topic, key=b"store-001", value=orjson.dumps(record))
                producer.flush(timeout=20)
                drop = items.filter(has_text="Payment conversion dropped")
                expect(drop).to_have_count(1, timeout=20_000)  # the ticker polls every 5 s
                expect(drop).to_have_class(re.compile(r"\bsev-critical\b"))
                link = drop.locator("a.alert-store")
                expect(link).to_have_text("store-001")
                assert link.get_attribute("href") == "/?store=store-001"
                assert contrast_failures(page, "#ticker *") == []
                save_artifact(page, tmp_path, "wall-alert.png")

                acked = httpx.post(
                    f"{api.base_url}/api/v1/alerts/{record['fingerprint']}/ack",
                    json={"by": "ana", "comment": "checking the payment provider"},
                    timeout=10.0,
                )
                assert acked.status_code == 200, acked.text
                expect(drop).to_have_class(re.compile(r"\backed\b"), timeout=20_000)
                expect(drop).to_contain_text("acked by ana")
                assert contrast_failures(page, "#ticker *") == []

                resolved = {**record, "status": "resolved", "endsAt": format_ts_ms(wall_ms())}
                producer.send(topic, key=b"store-001", value=orjson.dumps(resolved))
                producer.flush(timeout=20)
                expect(drop).to_have_count(0, timeout=20_000)
                assert unexpected_errors(console) == []

                # The pipeline's own alert for the stock-out (the worker's alerting agent).
                stock_out = items.filter(has_text="out of stock")
                expect(
                    stock_out, "the worker published no stock-out alert for store-002"
                ).to_have_count(1, timeout=90_000)
                expect(stock_out).to_have_class(re.compile(r"\bsev-critical\b"))
                expect(stock_out.locator("a.alert-store")).to_have_text("store-002")
                save_artifact(page, tmp_path, "wall-alerts.png")
    finally:
        producer.close(timeout=10)
        traffic.stop()
        api.stop()
