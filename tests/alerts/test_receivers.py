from __future__ import annotations

import pytest

from alerts.receivers import (
    DEFAULT_RECEIVERS,
    EXAMPLE,
    EXAMPLE_ENV,
    ReceiversError,
    load_receivers,
)


def _errors(text: str, env: dict[str, str] | None = None) -> tuple[str, ...]:
    with pytest.raises(ReceiversError) as info:
        load_receivers(text, env=env or {})
    return info.value.errors


def test_the_example_and_the_default_load() -> None:
    cfg = load_receivers(EXAMPLE, env=EXAMPLE_ENV)
    assert [r.kind for r in cfg.receivers] == ["log", "slack", "webhook", "email", "alertmanager"]
    mail = cfg.receiver("ops-mail")
    assert mail.backoff.max_attempts == 8
    assert mail.options["password"] == "pw"
    assert mail.options["recipients"] == ("ops@example.com",)
    assert cfg.receiver("console").backoff.max_attempts == 5
    assert cfg.alertmanager_resend_s == 60.0
    assert load_receivers(DEFAULT_RECEIVERS, env={}).route({}) == ("console",)


def test_secrets_come_from_the_environment_and_never_show_in_repr() -> None:
    cfg = load_receivers(EXAMPLE, env=EXAMPLE_ENV)
    hook = cfg.receiver("oncall-hook")
    assert hook.options["secret"] == "s3cret"
    assert "s3cret" not in repr(hook)
    assert "s3cret" not in repr(cfg)


def test_a_missing_secret_names_the_variable_and_its_line() -> None:
    errors = _errors(EXAMPLE, env={"SHOPPULSE_SLACK_URL": "http://x/"})
    assert any("line 11:" in e and "SHOPPULSE_WEBHOOK_SECRET is not set" in e for e in errors), (
        errors
    )
    assert any("SHOPPULSE_SMTP_PASSWORD is not set" in e for e in errors)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "receivers: [{name: a, log: {}, slack: {url: 'http://x'}}]\nroutes: [{receivers: [a]}]",
            "line 1: receivers[0]: needs exactly one of log, slack, webhook, email, alertmanager",
        ),
        (
            "receivers:\n  - {name: a, log: {}}\n  - {name: a, log: {}}\n"
            "routes: [{receivers: [a]}]",
            "line 3: receivers[1].name: duplicate receiver 'a'",
        ),
        (
            "receivers: [{name: a, webhook: {url: 'ftp://x', secret_env: S}}]\n"
            "routes: [{receivers: [a]}]",
            "receivers[0].webhook.url: must be an http:// or https:// URL",
        ),
        (
            "receivers: [{name: a, log: {}}]\nroutes:\n  - {receivers: [a], match_re: {x: '('}}",
            "line 3: routes[0].match_re.x: bad regular expression",
        ),
        (
            "receivers: [{name: a, log: {}, retry: {attempts: 0}}]\nroutes: [{receivers: [a]}]",
            "receivers[0].retry.attempts: Input should be greater than or equal to 1",
        ),
        (
            "receivers: [{name: a, log: {}}]\nroutes: []",
            "routes: List should have at least 1 item",
        ),
        (
            "receivers: [{name: a, log: {}, timeout: 5 minutes}]\nroutes: [{receivers: [a]}]",
            "receivers[0].timeout",
        ),
    ],
)
def test_errors_are_precise(text: str, expected: str) -> None:
    errors = _errors(text, env={"S": "x"})
    assert any(expected in e for e in errors), errors


def test_routes_first_match_wins_unless_continue() -> None:
    cfg = load_receivers(
        """
receivers: [{name: a, log: {}}, {name: b, log: {}}, {name: c, log: {}}]
routes:
  - {match: {severity: critical}, receivers: [a], continue: true}
  - {match: {severity: critical, store_id: s1}, receivers: [b, a]}
  - {receivers: [c]}
""",
        env={},
    )
    assert cfg.route({"severity": "critical", "store_id": "s1"}) == ("a", "b")
    assert cfg.route({"severity": "critical", "store_id": "s2"}) == ("a", "c")
    assert cfg.route({"severity": "warning"}) == ("c",)


def test_durations_accept_seconds_as_numbers() -> None:
    cfg = load_receivers(
        "retry: {initial: 0.05, max: 0.2, attempts: 3}\ntimeout: 2\n"
        "receivers: [{name: a, log: {}}]\nroutes: [{receivers: [a]}]",
        env={},
    )
    r = cfg.receiver("a")
    assert r.backoff.delays() == (0.05, 0.1)
    assert r.timeout_s == 2.0
