"""Notifiers: message rendering, retries, HMAC, and real local HTTP / SMTP servers."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
from collections.abc import Mapping
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from alerts.notifiers.alertmanager import to_alertmanager
from alerts.notifiers.base import Backoff, DeliveryError, DeliveryResult, deliver_with_retries
from alerts.notifiers.email import EmailNotifier
from alerts.notifiers.factory import build_notifier
from alerts.notifiers.message import render_text, slack_payload, title
from alerts.notifiers.slack import SlackNotifier
from alerts.notifiers.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookNotifier,
    sign,
    verify_signature,
)
from alerts.receivers import load_receivers
from shoppulse.alert_shape import alert
from tests.alerts.conftest import RecordingHandler, RecordingServer, TlsSmtp

T0 = 1_700_000_040_000
DASH = "http://dash.local/"


def firing() -> dict[str, Any]:
    return alert(
        name="conversion_drop",
        store_id="s1",
        kpi="payment_conversion",
        severity="critical",
        status="firing",
        starts_at_ms=T0,
        value=0.021,
        expected=0.034,
        summary="Payment conversion dropped",
        description="s1: 0.021 against 0.034 expected",
    )


def resolved() -> dict[str, Any]:
    return dict(firing(), status="resolved", endsAt="2023-11-14T22:44:30.000Z")


# ---------------------------------------------------------------- a recording HTTP server


async def no_sleep(_: float) -> None:
    return None


FAST = Backoff(initial_s=0.01, factor=2, max_s=0.05, max_attempts=4)


# ---------------------------------------------------------------- message


def test_message_firing_has_what_where_how_bad_since_severity_link() -> None:
    text = render_text(firing(), "http://host/?range=1h")
    assert text.splitlines()[0] == "[FIRING] Payment conversion dropped (s1)"
    assert "Store: s1" in text
    assert "Severity: critical" in text
    assert "0.021 against 0.034 expected (-38.2%)" in text
    assert "Since: 2023-11-14T22:14:00.000Z" in text
    assert "Resolved" not in text
    assert "Dashboard: http://host/?range=1h&store=s1" in text


def test_message_resolved_has_end_and_duration() -> None:
    text = render_text(resolved(), DASH)
    assert text.startswith("[RESOLVED] ")
    assert "Resolved: 2023-11-14T22:44:30.000Z (after 30m 30s)" in text


def test_message_threshold_without_expected() -> None:
    a = dict(firing(), expected=None)
    a["annotations"] = dict(a["annotations"], threshold="4")
    assert "payment_conversion = 0.021 (threshold 4)" in render_text(a, DASH)


def test_slack_payload_has_text_and_blocks() -> None:
    payload = slack_payload(firing(), DASH)
    assert payload["text"] == render_text(firing(), DASH)
    flat = json.dumps(payload["blocks"])
    assert title(firing()) in flat
    assert "<http://dash.local/?store=s1|Open dashboard>" in flat
    assert "0.021 against 0.034 expected" in flat


def test_text_is_ascii_for_ascii_input() -> None:
    assert render_text(resolved(), DASH).isascii()


# ---------------------------------------------------------------- backoff and retries


def test_backoff_delays() -> None:
    assert Backoff(1, 2, 10, 6).delays() == (1, 2, 4, 8, 10)
    assert Backoff(0.5, 3, 100, 1).delays() == ()
    with pytest.raises(ValueError, match="max_attempts"):
        Backoff(1, 2, 10, 0)


class Scripted:
    def __init__(self, *errors: DeliveryError | None) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def send(self, alert: Mapping[str, Any]) -> None:
        self.calls += 1
        err = self.errors.pop(0) if self.errors else None
        if err is not None:
            raise err


async def test_retries_then_success_uses_backoff_delays() -> None:
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    n = Scripted(DeliveryError(True, "503"), DeliveryError(True, "503"), None)
    result = await deliver_with_retries(n, firing(), Backoff(1, 2, 10, 5), sleep=sleep)
    assert result == DeliveryResult(ok=True, attempts=3)
    assert slept == [1, 2]


async def test_retries_stop_on_non_retryable() -> None:
    err = DeliveryError(False, "400 bad")
    n = Scripted(DeliveryError(True, "503"), err, None)
    result = await deliver_with_retries(n, firing(), Backoff(1, 2, 10, 5), sleep=no_sleep)
    assert result == DeliveryResult(ok=False, attempts=2, error=err)
    assert n.calls == 2


async def test_retries_give_up_after_max_attempts() -> None:
    n = Scripted(*[DeliveryError(True, "503")] * 10)
    result = await deliver_with_retries(n, firing(), Backoff(1, 2, 10, 3), sleep=no_sleep)
    assert not result.ok
    assert result.attempts == 3 == n.calls
    assert result.error is not None
    assert result.error.retryable


# ---------------------------------------------------------------- HMAC


def test_hmac_sign_and_verify() -> None:
    body = b'{"alert":{"x":1}}'
    header = sign("s3cret", 1_700_000_000, body)
    assert verify_signature("s3cret", "1700000000", body, header, now_s=1_700_000_010)
    assert verify_signature(b"s3cret", 1_700_000_000, body, header, now_s=1_699_999_800)


@pytest.mark.parametrize(
    ("secret", "ts", "body", "now"),
    [
        ("s3cret", "1700000000", b'{"alert":{"x":2}}', 1_700_000_010),  # tampered body
        ("other", "1700000000", b'{"alert":{"x":1}}', 1_700_000_010),  # wrong secret
        ("s3cret", "1700000001", b'{"alert":{"x":1}}', 1_700_000_010),  # tampered timestamp
        ("s3cret", "1700000000", b'{"alert":{"x":1}}', 1_700_000_301),  # stale
        ("s3cret", "1700000000", b'{"alert":{"x":1}}', 1_699_999_699),  # from the future
        ("s3cret", "17e8", b'{"alert":{"x":1}}', 1_700_000_010),  # not an integer
    ],
)
def test_hmac_verify_rejects(secret: str, ts: str, body: bytes, now: int) -> None:
    header = sign("s3cret", 1_700_000_000, b'{"alert":{"x":1}}')
    assert not verify_signature(secret, ts, body, header, now_s=now)


def test_hmac_verify_rejects_malformed_header() -> None:
    body = b"{}"
    good = sign("k", 100, body)
    assert not verify_signature("k", "100", body, good.removeprefix("sha256="), now_s=100)
    assert not verify_signature("k", "100", body, good[:-1] + "\u00e9", now_s=100)


# ---------------------------------------------------------------- Slack over real HTTP


async def test_slack_posts_payload(http_server: RecordingServer) -> None:
    notifier = SlackNotifier(http_server.url + "/hook", DASH, timeout_s=5)
    await notifier.send(firing())
    [req] = http_server.snapshot()
    assert req.path == "/hook"
    assert req.headers["Content-Type"] == "application/json"
    assert req.json() == slack_payload(firing(), DASH)


async def test_slack_retries_503_then_succeeds(http_server: RecordingServer) -> None:
    http_server.fail_next = 2
    notifier = SlackNotifier(http_server.url + "/hook", DASH, timeout_s=5)
    result = await deliver_with_retries(notifier, firing(), FAST)
    assert result == DeliveryResult(ok=True, attempts=3)
    assert len(http_server.snapshot()) == 3


async def test_slack_4xx_is_not_retried(http_server: RecordingServer) -> None:
    http_server.fail_next, http_server.fail_status = 5, 404
    notifier = SlackNotifier(http_server.url + "/hook", DASH, timeout_s=5)
    result = await deliver_with_retries(notifier, firing(), FAST)
    assert not result.ok
    assert result.attempts == 1
    assert result.error is not None
    assert not result.error.retryable
    assert "HTTP 404" in result.error.reason


async def test_slack_429_is_retryable(http_server: RecordingServer) -> None:
    http_server.fail_next, http_server.fail_status = 1, 429
    notifier = SlackNotifier(http_server.url + "/hook", DASH, timeout_s=5)
    with pytest.raises(DeliveryError) as info:
        await notifier.send(firing())
    assert info.value.retryable


async def test_connection_refused_is_retryable() -> None:
    server = RecordingServer()
    server.start()
    url = server.url
    server.stop()  # nothing listens on that port now
    with pytest.raises(DeliveryError) as info:
        await SlackNotifier(url, DASH, timeout_s=2).send(firing())
    assert info.value.retryable


# ---------------------------------------------------------------- webhook over real HTTP


async def test_webhook_signed_and_verifiable(http_server: RecordingServer) -> None:
    now = 1_700_000_000.7
    notifier = WebhookNotifier(
        http_server.url + "/in", "k3y", dashboard_url=DASH, timeout_s=5, clock=lambda: now
    )
    await notifier.send(resolved())
    [req] = http_server.snapshot()
    assert req.json() == {
        "alert": resolved(),
        "title": "[RESOLVED] Payment conversion dropped (s1)",
        "text": render_text(resolved(), DASH),
        "dashboard": "http://dash.local/?store=s1",
    }
    ts = req.headers[TIMESTAMP_HEADER]
    assert ts == "1700000000"
    assert verify_signature("k3y", ts, req.body, req.headers[SIGNATURE_HEADER], now_s=now)
    # What a receiver in any language computes: HMAC-SHA256 over "<timestamp>." + body.
    expected = hmac.new(b"k3y", b"1700000000." + req.body, hashlib.sha256).hexdigest()
    assert req.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert not verify_signature("k3y", ts, req.body + b" ", req.headers[SIGNATURE_HEADER], now)


async def test_webhook_retries_503_then_succeeds(http_server: RecordingServer) -> None:
    http_server.fail_next = 3
    notifier = WebhookNotifier(http_server.url + "/in", "k3y", timeout_s=5)
    result = await deliver_with_retries(notifier, firing(), FAST)
    assert result == DeliveryResult(ok=True, attempts=4)
    reqs = http_server.snapshot()
    assert len(reqs) == 4
    for req in reqs:
        assert verify_signature(
            "k3y",
            req.headers[TIMESTAMP_HEADER],
            req.body,
            req.headers[SIGNATURE_HEADER],
            now_s=float(req.headers[TIMESTAMP_HEADER]),
        )


async def test_webhook_exhausts_attempts(http_server: RecordingServer) -> None:
    http_server.fail_next = 100
    notifier = WebhookNotifier(http_server.url + "/in", "k3y", timeout_s=5)
    result = await deliver_with_retries(notifier, firing(), FAST)
    assert not result.ok
    assert result.attempts == 4
    assert len(http_server.snapshot()) == 4


# ---------------------------------------------------------------- e-mail over real SMTP


async def test_email_delivered(smtp_server: tuple[Controller, RecordingHandler]) -> None:
    controller, handler = smtp_server
    port = controller.port
    notifier = EmailNotifier(
        host="127.0.0.1",
        port=port,
        sender="shoppulse@example.com",
        recipients=["oncall@example.com", "ops@example.com"],
        dashboard_url=DASH,
        timeout_s=5,
    )
    await notifier.send(resolved())
    [(mail_from, rcpts, msg)] = handler.envelopes
    assert mail_from == "shoppulse@example.com"
    assert rcpts == ["oncall@example.com", "ops@example.com"]
    assert msg["Subject"] == "[RESOLVED] Payment conversion dropped (s1)"
    assert msg["To"] == "oncall@example.com, ops@example.com"
    body = msg.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert body.decode().replace("\r\n", "\n").strip() == render_text(resolved(), DASH)


async def test_email_starttls_unsupported_is_not_retryable(
    smtp_server: tuple[Controller, RecordingHandler],
) -> None:
    controller, _ = smtp_server
    port = controller.port
    notifier = EmailNotifier(
        host="127.0.0.1",
        port=port,
        sender="a@example.com",
        recipients=["b@example.com"],
        dashboard_url=DASH,
        starttls=True,
        timeout_s=5,
    )
    with pytest.raises(DeliveryError) as info:
        await notifier.send(firing())
    assert not info.value.retryable


async def test_email_over_starttls_with_login_from_a_receivers_file(
    tls_smtp_server: TlsSmtp,
) -> None:
    """STARTTLS against a private CA (``ca_file``), then AUTH with the password the file
    names by its environment variable: the path a production receiver takes."""
    cfg = load_receivers(
        f"""
receivers:
  - name: mail
    email: {{host: 127.0.0.1, port: {tls_smtp_server.controller.port}, starttls: true,
             ca_file: "{tls_smtp_server.ca_file}", username: alerts,
             password_env: SMTP_PASSWORD, from: shoppulse@example.com, to: [ops@example.com]}}
routes:
  - receivers: [mail]
""",
        env={"SMTP_PASSWORD": tls_smtp_server.password},
    )
    await build_notifier(cfg.receivers[0], DASH).send(firing())
    [(mail_from, rcpts, msg)] = tls_smtp_server.handler.envelopes
    assert (mail_from, rcpts) == ("shoppulse@example.com", ["ops@example.com"])
    assert msg["Subject"] == title(firing())


@pytest.mark.parametrize(
    ("starttls", "password", "reason"),
    [(True, "wrong", "SMTP 535"), (False, TlsSmtp.password, "SMTP server does not support")],
)
async def test_email_bad_login_or_no_starttls_is_not_retried(
    tls_smtp_server: TlsSmtp, starttls: bool, password: str, reason: str
) -> None:
    notifier = EmailNotifier(
        host="127.0.0.1",
        port=tls_smtp_server.controller.port,
        sender="a@example.com",
        recipients=["b@example.com"],
        dashboard_url=DASH,
        starttls=starttls,
        username="alerts",
        password=password,
        timeout_s=5,
        ssl_context=ssl.create_default_context(cafile=str(tls_smtp_server.ca_file)),
    )
    with pytest.raises(DeliveryError) as info:
        await notifier.send(firing())
    assert not info.value.retryable
    assert info.value.reason.startswith(reason)
    assert tls_smtp_server.handler.envelopes == []


async def test_email_connection_refused_is_retryable() -> None:
    server = RecordingServer()
    server.start()
    port = int(server.url.rsplit(":", 1)[1])
    server.stop()
    notifier = EmailNotifier(
        host="127.0.0.1",
        port=port,
        sender="a@example.com",
        recipients=["b@example.com"],
        dashboard_url=DASH,
        timeout_s=2,
    )
    with pytest.raises(DeliveryError) as info:
        await notifier.send(firing())
    assert info.value.retryable


# ---------------------------------------------------------------- Alertmanager mapping (pure)


def test_alertmanager_mapping_firing_has_no_ends_at() -> None:
    am = to_alertmanager(firing(), DASH, now_ms=T0 + 60_000)
    assert "endsAt" not in am
    assert am["startsAt"] == "2023-11-14T22:14:00.000Z"
    assert am["generatorURL"] == "http://dash.local/?store=s1"
    assert all(isinstance(v, str) for v in am["labels"].values())
    assert all(isinstance(v, str) for v in am["annotations"].values())
    assert am["annotations"]["expected"] == "0.034"


def test_alertmanager_mapping_resolved_ends_at_not_after_now() -> None:
    now = T0 + 600_000
    am = to_alertmanager(resolved(), DASH, now_ms=now)
    assert am["endsAt"] == "2023-11-14T22:24:00.000Z"  # endsAt 22:44:30 clamped to now
    missing = dict(resolved(), endsAt=None)
    assert to_alertmanager(missing, DASH, now_ms=now)["endsAt"] == "2023-11-14T22:24:00.000Z"


def test_alertmanager_labels_stringified() -> None:
    a = firing()
    a["labels"] = dict(a["labels"], shard=3, empty="", gone=None)
    labels = to_alertmanager(a, DASH, now_ms=T0)["labels"]
    assert labels["shard"] == "3"
    assert "empty" not in labels
    assert "gone" not in labels
