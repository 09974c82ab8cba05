"""``shoppulse dispatcher`` as a real process against the real broker and real receivers.

Receivers: a recording HTTP server (Slack-compatible and signed webhooks), ``aiosmtpd`` for
e-mail, and a real Alertmanager forwarding to the recording server. Alert records are
produced with kafka-python, as the worker's alerting agent would; the last test drives the
whole pipeline from simulated events with an injected stock-out.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiosmtpd.controller import Controller
from kafka import KafkaProducer

from alerts.actions import Matcher, Silence
from alerts.notifiers.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from cli.broker import free_port
from cli.processes import Child, shoppulse_command
from shoppulse import topics
from shoppulse.alert_shape import alert
from shoppulse.settings import Settings
from simulator.incidents import Incident
from simulator.simulation import Simulator
from tests.alerts.conftest import RecordingHandler, RecordingServer, wait_for
from tests.api.test_feed_integration import _wait_ready, running_api
from tests.conftest import WorkerFactory
from tests.kafka_helpers import poll_until, producer

pytestmark = pytest.mark.integration

SECRET = "hook-secret-for-tests"
HOOK_ENV = "SHOPPULSE_TEST_HOOK_SECRET"
READY_S = 60.0
DELIVERY_S = 60.0
DispatcherFactory = Callable[..., Child]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _alert(store: str, status: str = "firing", *, starts_ms: int, name: str = "roas_low") -> Any:
    return alert(
        name=name,
        store_id=store,
        kpi="roas",
        severity="critical",
        status=status,  # type: ignore[arg-type]
        starts_at_ms=starts_ms,
        ends_at_ms=starts_ms + 120_000 if status == "resolved" else None,
        value=3.1,
        expected=None,
        summary="ROAS below 4",
        description=f"{store}: roas is 3.1, below the 4 mark",
        source="rule",
    )


def _send(settings: Settings, *records: Any, topic: str = topics.ALERTS) -> None:
    p = producer(settings)
    for record in records:
        key = str(record.get("labels", {}).get("store_id", record.get("id", ""))).encode()
        p.send(settings.topic(topic), key=key, value=orjson.dumps(record))
    p.flush()
    p.close()


@pytest.fixture
def start_dispatcher(settings: Settings, tmp_path: Path) -> Iterator[DispatcherFactory]:
    """Start ``shoppulse dispatcher`` with a receivers file; waits until it has its partitions."""
    children: list[Child] = []

    def _start(receivers_yaml: str, name: str = "dispatcher", metrics_port: int = 0) -> Child:
        path = tmp_path / "receivers.yaml"
        path.write_text(receivers_yaml)
        s = settings.model_copy(
            update={
                "receivers_file": path,
                "dashboard_url": "http://wall.example/",
                "dispatcher_metrics_port": metrics_port,
                "dispatcher_drain_s": 2.0,
            }
        )
        env = s.to_env() | {HOOK_ENV: SECRET}
        child = Child(
            name=name,
            argv=shoppulse_command("dispatcher"),
            log_path=tmp_path / f"{name}-{len(children)}.log",
            env=env,
        )
        children.append(child)
        child.start()
        child.wait_for("dispatcher ready", READY_S)
        return child

    yield _start
    for child in children:
        child.stop()


def _by_path(server: RecordingServer, path: str) -> list[Any]:
    return [r for r in server.snapshot() if r.path == path]


def _statuses(server: RecordingServer, path: str, key: Callable[[Any], Any]) -> list[Any]:
    return [key(r.json()) for r in _by_path(server, path)]


def test_firing_and_resolved_reach_slack_webhook_email_and_alertmanager(
    settings: Settings,
    start_dispatcher: DispatcherFactory,
    http_server: RecordingServer,
    smtp_server: tuple[Controller, RecordingHandler],
    alertmanager: str,
) -> None:
    controller, mail = smtp_server
    start_dispatcher(
        f"""
retry: {{initial: 0.2, factor: 2, max: 1, attempts: 4}}
timeout: 5
alertmanager_resend: 2
receivers:
  - {{name: slack, slack: {{url: "{http_server.url}/slack"}}}}
  - {{name: hook, webhook: {{url: "{http_server.url}/hook", secret_env: {HOOK_ENV}}}}}
  - name: mail
    email: {{host: 127.0.0.1, port: {controller.port}, from: shoppulse@example.com,
             to: [ops@example.com]}}
  - {{name: am, alertmanager: {{url: "{alertmanager}"}}}}
routes:
  - receivers: [slack, hook, mail, am]
"""
    )
    starts = _now_ms() - 180_000
    http_server.fail_next = 1  # the first POST (whichever receiver) fails once and is retried
    _send(settings, _alert("store-007", starts_ms=starts))

    def am_status(payload: Any) -> str:
        return str(payload["status"])

    def everywhere(status: str) -> bool:
        slack = [
            t
            for t in _statuses(http_server, "/slack", lambda p: p["text"])
            if t.startswith(f"[{status.upper()}]")
        ]
        hook = _statuses(http_server, "/hook", lambda p: p["alert"]["status"])
        am = _statuses(http_server, "/am", am_status)
        subjects = [str(m["Subject"]) for _, _, m in mail.envelopes]
        return (
            bool(slack)
            and status in hook
            and status in am
            and any(s.startswith(f"[{status.upper()}]") for s in subjects)
        )

    wait_for("a firing message in every channel", lambda: everywhere("firing"), DELIVERY_S)
    _send(settings, _alert("store-007", "resolved", starts_ms=starts))
    wait_for("a resolved message in every channel", lambda: everywhere("resolved"), DELIVERY_S)

    # The messages say what, where, how bad, since when, and link to the store's dashboard.
    firing_mail = next(m for _, _, m in mail.envelopes if str(m["Subject"]).startswith("[FIR"))
    assert firing_mail["Subject"] == "[FIRING] ROAS below 4 (store-007)"
    payload = firing_mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    body = payload.decode()
    assert "Store: store-007" in body
    assert "KPI: roas = 3.1" in body
    assert "Dashboard: http://wall.example/?store=store-007" in body
    slack_texts = _statuses(http_server, "/slack", lambda p: p["text"])
    assert any(t.startswith("[RESOLVED] ROAS below 4 (store-007)") for t in slack_texts)

    # Every webhook request is signed over its timestamp and body.
    hooks = _by_path(http_server, "/hook")
    for req in hooks:
        headers = {k.lower(): v for k, v in req.headers.items()}
        assert verify_signature(
            SECRET,
            headers[TIMESTAMP_HEADER.lower()],
            req.body,
            headers[SIGNATURE_HEADER.lower()],
            now_s=time.time(),
        )
        assert not verify_signature(
            "wrong",
            headers[TIMESTAMP_HEADER.lower()],
            req.body,
            headers[SIGNATURE_HEADER.lower()],
            now_s=time.time(),
        )
    assert all(r.json()["alert"]["notificationId"] for r in hooks)
    assert all(r.json()["alert"]["labels"]["store_id"] == "store-007" for r in hooks)


def test_a_dispatcher_killed_mid_delivery_loses_nothing(
    settings: Settings,
    start_dispatcher: DispatcherFactory,
    http_server: RecordingServer,
    record_property: Callable[[str, object], None],
) -> None:
    receivers = f"""
retry: {{initial: 0.2, attempts: 5}}
receivers:
  - {{name: hook, webhook: {{url: "{http_server.url}/hook", secret_env: {HOOK_ENV}}}}}
routes:
  - receivers: [hook]
"""
    http_server.delay_s = 0.6  # each POST is recorded, then answered 0.6 s later
    first = start_dispatcher(receivers, name="first")
    starts = _now_ms() - 60_000
    stores = [f"store-{i:03d}" for i in range(12)]
    _send(settings, *(_alert(s, starts_ms=starts) for s in stores))

    wait_for("a few deliveries", lambda: len(_by_path(http_server, "/hook")) >= 3, DELIVERY_S)
    first.kill()  # SIGKILL in the middle of a delivery: no drain, no final commit
    start_dispatcher(receivers, name="second")

    def delivered() -> Counter[str]:
        return Counter(
            r.json()["alert"]["labels"]["store_id"] for r in _by_path(http_server, "/hook")
        )

    wait_for("every alert delivered", lambda: set(delivered()) == set(stores), DELIVERY_S)
    counts = delivered()
    duplicates = sum(counts.values()) - len(counts)
    print(f"12 alerts, {sum(counts.values())} deliveries, {duplicates} duplicates after kill -9")
    record_property("duplicates_after_kill", duplicates)
    assert set(counts) == set(stores)
    # Only deliveries not yet committed at the kill can repeat: at most the ones in flight.
    assert duplicates <= settings.dispatcher_max_in_flight
    # Per receiver, order is kept: nobody got a store twice before every earlier store once.
    ids = [r.json()["alert"]["notificationId"] for r in _by_path(http_server, "/hook")]
    assert len(set(ids)) == len(stores)


def test_silence_suppresses_failing_and_slow_receivers_do_not_block_others(
    settings: Settings, start_dispatcher: DispatcherFactory, http_server: RecordingServer
) -> None:
    slow = RecordingServer(delay_s=1.5)
    slow.start()
    try:
        now = _now_ms()
        silence = Silence(
            id="maint-1",
            matchers=(Matcher("store_id", "store-mute"),),
            starts_at_ms=now - 60_000,
            ends_at_ms=now + 3_600_000,
            created_by="ana",
            comment="maintenance",
            updated_at_ms=now,
        )
        _send(settings, silence.to_record(), topic=topics.ALERT_ACTIONS)
        http_server.fail_paths = frozenset({"/down"})
        metrics_port = free_port()
        start_dispatcher(
            f"""
retry: {{initial: 0.1, factor: 2, max: 0.4, attempts: 3}}
receivers:
  - {{name: fast, slack: {{url: "{http_server.url}/fast"}}}}
  - {{name: down, slack: {{url: "{http_server.url}/down"}}}}
  - {{name: slow, slack: {{url: "{slow.url}/slow"}}}}
routes:
  - receivers: [fast, down, slow]
""",
            metrics_port=metrics_port,
        )
        stores = [f"store-{i}" for i in range(5)]
        _send(
            settings,
            *(_alert(s, starts_ms=now - 60_000) for s in [*stores[:2], "store-mute", *stores[2:]]),
        )

        def fast_stores() -> set[str]:
            return {
                str(p["text"]).split("(")[-1].split(")")[0]
                for p in _statuses(http_server, "/fast", lambda p: p)
            }

        wait_for("the fast receiver has every alert", lambda: fast_stores() == set(stores), 30)
        # The slow receiver (1.5 s a message) is still behind; it did not hold up the fast one.
        assert len(_by_path(slow, "/slow")) < len(stores)
        assert "store-mute" not in fast_stores()

        undeliverable = poll_until(
            settings, topics.UNDELIVERABLE, lambda r: len(r) >= len(stores), 30.0
        )
        assert sorted(u["alert"]["labels"]["store_id"] for u in undeliverable) == sorted(stores)
        assert {u["receiver"] for u in undeliverable} == {"down"}
        assert all(u["attempts"] == 3 and "HTTP 503" in u["reason"] for u in undeliverable)
        assert len(_by_path(http_server, "/down")) == 3 * len(stores)

        wait_for("the slow receiver catches up", lambda: len(_by_path(slow, "/slow")) == 5, 30)
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        assert 'shoppulse_notifications_suppressed_total{reason="silenced"} 1.0' in metrics
        assert 'shoppulse_notifications_total{outcome="failed",receiver="down"} 5.0' in metrics
        assert 'shoppulse_notifications_total{outcome="delivered",receiver="fast"} 5.0' in metrics
    finally:
        slow.stop()


def test_an_injected_stock_out_is_notified_firing_then_resolved(
    settings: Settings,
    start_worker: WorkerFactory,
    start_dispatcher: DispatcherFactory,
    http_server: RecordingServer,
    smtp_server: tuple[Controller, RecordingHandler],
    alertmanager: str,
) -> None:
    """Simulated traffic with a stock-out from minute 5 to 15 → worker (detector signal,
    alert rule) → dispatcher → Slack, webhook, e-mail and Alertmanager, firing then resolved."""
    controller, mail = smtp_server
    start_worker()
    start_dispatcher(
        f"""
retry: {{initial: 0.2, attempts: 4}}
alertmanager_resend: 2
receivers:
  - {{name: slack, slack: {{url: "{http_server.url}/slack"}}}}
  - {{name: hook, webhook: {{url: "{http_server.url}/hook", secret_env: {HOOK_ENV}}}}}
  - name: mail
    email: {{host: 127.0.0.1, port: {controller.port}, from: shoppulse@example.com,
             to: [ops@example.com]}}
  - {{name: am, alertmanager: {{url: "{alertmanager}"}}}}
routes:
  - {{match: {{alertname: stock_out}}, receivers: [slack, hook, mail, am]}}
"""
    )
    start = _now_ms() - 40 * 60_000
    start -= start % 60_000
    sim = Simulator(
        stores=1,
        seed=5,
        start_ms=start,
        incidents=[Incident("stock_out", "store-001", start + 5 * 60_000, start + 15 * 60_000)],
        diurnal=False,
        sessions_per_min=20,
    )
    p: KafkaProducer = producer(settings)
    for ev in sim.until(start + 30 * 60_000):
        p.send(settings.topic(ev.topic_family), key=ev.key.encode(), value=orjson.dumps(ev.value))
    p.flush()

    def channels(status: str) -> dict[str, bool]:
        return {
            "slack": any(
                t.startswith(f"[{status.upper()}] SKUs out of stock")
                for t in _statuses(http_server, "/slack", lambda p: p["text"])
            ),
            "hook": status in _statuses(http_server, "/hook", lambda p: p["alert"]["status"]),
            "mail": any(
                str(m["Subject"]).startswith(f"[{status.upper()}] SKUs out of stock")
                for _, _, m in mail.envelopes
            ),
            "alertmanager": status in _statuses(http_server, "/am", lambda p: p["status"]),
        }

    wait_for("firing in every channel", lambda: all(channels("firing").values()), 120)
    wait_for("resolved in every channel", lambda: all(channels("resolved").values()), 120)
    hook = [r.json()["alert"] for r in _by_path(http_server, "/hook")]
    assert {(a["labels"]["alertname"], a["labels"]["store_id"]) for a in hook} == {
        ("stock_out", "store-001")
    }


def _metric(port: int, line_start: str) -> float | None:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_a_silence_made_through_the_api_mutes_a_store_while_the_dispatcher_runs(
    settings: Settings, start_dispatcher: DispatcherFactory, http_server: RecordingServer
) -> None:
    """An operator silences a store through ``POST /api/v1/silences`` while the dispatcher is
    running: the store's next alert is not sent, the others are, and deleting the silence
    lets the store's alerts through again."""
    metrics_port = free_port()
    start_dispatcher(
        f"""
retry: {{initial: 0.2, attempts: 3}}
receivers:
  - {{name: hook, webhook: {{url: "{http_server.url}/hook", secret_env: {HOOK_ENV}}}}}
routes:
  - receivers: [hook]
""",
        metrics_port=metrics_port,
    )
    with running_api(settings) as base:
        _wait_ready(base)
        created = httpx.post(
            f"http://{base}/api/v1/silences",
            json={
                "matchers": [{"name": "store_id", "value": "store-mute"}],
                "duration": "1h",
                "createdBy": "ana",
                "comment": "till the shop is back",
            },
            timeout=15,
        )
        assert created.status_code == 201, created.text
        wait_for(
            "the dispatcher knows the silence",
            lambda: _metric(metrics_port, "shoppulse_silences_active") == 1.0,
            DELIVERY_S,
        )
        starts = _now_ms() - 60_000
        _send(
            settings, _alert("store-mute", starts_ms=starts), _alert("store-ok", starts_ms=starts)
        )

        def hooked() -> list[str]:
            return _statuses(http_server, "/hook", lambda p: p["alert"]["labels"]["store_id"])

        wait_for("the other store's alert", lambda: "store-ok" in hooked(), DELIVERY_S)
        wait_for(
            "the silenced one counted",
            lambda: (
                _metric(metrics_port, 'shoppulse_notifications_suppressed_total{reason="silenced"}')
                == 1.0
            ),
            DELIVERY_S,
        )
        assert "store-mute" not in hooked()

        deleted = httpx.delete(f"http://{base}/api/v1/silences/{created.json()['id']}", timeout=15)
        assert deleted.status_code == 200, deleted.text
        wait_for(
            "the dispatcher sees it expired",
            lambda: _metric(metrics_port, "shoppulse_silences_active") == 0.0,
            DELIVERY_S,
        )
        _send(settings, _alert("store-mute", starts_ms=starts + 60_000))
        wait_for("the store's alerts flow again", lambda: "store-mute" in hooked(), DELIVERY_S)


def test_re_sends_keep_a_firing_alert_active_in_alertmanager_past_its_resolve_timeout(
    settings: Settings,
    start_dispatcher: DispatcherFactory,
    http_server: RecordingServer,
    impatient_alertmanager: str,
) -> None:
    """Alertmanager resolves an alert without ``endsAt`` that is not re-sent within its
    ``resolve_timeout`` (3 s here); the dispatcher re-sends firing alerts every second, so
    the alert stays active until the resolved record ends it."""
    start_dispatcher(
        f"""
retry: {{initial: 0.2, attempts: 3}}
alertmanager_resend: 1
receivers:
  - {{name: am, alertmanager: {{url: "{impatient_alertmanager}"}}}}
routes:
  - receivers: [am]
"""
    )
    starts = _now_ms() - 60_000
    _send(settings, _alert("store-am", starts_ms=starts))

    def states() -> list[str]:
        alerts = httpx.get(
            f"{impatient_alertmanager}/api/v2/alerts",
            params={"filter": 'store_id="store-am"'},
            timeout=5,
        ).json()
        return [str(a["status"]["state"]) for a in alerts]

    wait_for("the alert active in Alertmanager", lambda: states() == ["active"], DELIVERY_S)
    time.sleep(10.0)  # over three resolve timeouts without a new state change
    assert states() == ["active"]
    am = _statuses(http_server, "/am", lambda p: p["status"])
    assert "firing" in am
    assert "resolved" not in am

    _send(settings, _alert("store-am", "resolved", starts_ms=starts))
    wait_for(
        "the resolution forwarded",
        lambda: "resolved" in _statuses(http_server, "/am", lambda p: p["status"]),
        DELIVERY_S,
    )
