"""The dispatcher's receivers and routes, from a YAML file.

The format (``alerts/receivers.example.yaml`` is a complete example)::

    retry: {initial: 1s, factor: 2, max: 1m, attempts: 5}   # defaults for every receiver
    timeout: 10s                       # one delivery attempt
    alertmanager_resend: 1m            # re-send firing alerts to Alertmanager this often
    receivers:
      - name: console                  # unique; routes refer to it
        log: {}                        # the plain-text message in the dispatcher's log
      - name: ops-slack
        slack: {url_env: SHOPPULSE_SLACK_URL}       # or url: https://...
      - name: oncall-hook
        webhook: {url: "https://hooks.example/x", secret_env: SHOPPULSE_WEBHOOK_SECRET}
      - name: ops-mail
        email: {host: smtp.example.com, port: 587, starttls: true, username: alerts,
                password_env: SHOPPULSE_SMTP_PASSWORD, from: shoppulse@example.com,
                to: [ops@example.com]}   # ca_file: /path/ca.pem for a private CA
        retry: {attempts: 8}          # overrides the defaults for this receiver
      - name: am
        alertmanager: {url: "http://127.0.0.1:9093"}
    routes:                            # in order; the first match wins unless continue: true
      - match: {severity: critical}    # label equals value
        receivers: [ops-slack, ops-mail]
        continue: true
      - match_re: {store_id: "store-0[0-4][0-9]"}   # anchored regular expression
        receivers: [oncall-hook]
      - receivers: [console, am]       # no matchers: everything (else)

Secrets are never in the file: a webhook secret, an SMTP password and (optionally) a Slack
URL are read from the environment variable the file names; a missing variable is an error
that names the variable. Durations are ``1s``/``1m``/``1h`` or a number of seconds.

>>> cfg = load_receivers('''
... receivers:
...   - {name: console, log: {}}
... routes:
...   - {receivers: [console]}
... ''', env={})
>>> [r.name for r in cfg.receivers], cfg.routes[0].receivers
(['console'], ('console',))
>>> load_receivers('''
... receivers:
...   - {name: console, log: {}}
... routes:
...   - {receivers: [konsole]}
... ''', env={})
Traceback (most recent call last):
...
alerts.receivers.ReceiversError: line 5: routes[0].receivers[0]: unknown receiver 'konsole'
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, Literal, TypeVar

from pydantic import AfterValidator, Field

from alerts.notifiers.base import Backoff
from alerts.rules import parse_duration_ms
from alerts.yaml_spec import SpecError, at_line, field_path, load_spec
from shoppulse.yaml_validation import StrictSpec

ReceiverKind = Literal["log", "slack", "webhook", "email", "alertmanager"]
RECEIVER_KINDS: Final[tuple[ReceiverKind, ...]] = (
    "log",
    "slack",
    "webhook",
    "email",
    "alertmanager",
)
_ENV_NAME_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ReceiversError(SpecError):
    """A receivers file that does not parse or validate."""


def _seconds(value: str | float) -> float:
    if isinstance(value, str):
        return parse_duration_ms(value) / 1000
    if value < 0:
        raise ValueError("must not be negative")
    return float(value)


def _check_duration(value: str | float) -> str | float:
    _seconds(value)
    return value


def _check_env_name(value: str) -> str:
    if not _ENV_NAME_RE.match(value):
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


def _check_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


Duration = Annotated[str | float, AfterValidator(_check_duration)]
EnvName = Annotated[str, AfterValidator(_check_env_name)]
Url = Annotated[str, AfterValidator(_check_url)]


class _RetrySpec(StrictSpec):
    initial: Duration | None = None
    factor: float | None = Field(default=None, ge=1)
    max: Duration | None = None
    attempts: int | None = Field(default=None, ge=1, le=100)


class _LogSpec(StrictSpec):
    pass


class _SlackSpec(StrictSpec):
    url: Url | None = None
    url_env: EnvName | None = None


class _WebhookSpec(StrictSpec):
    url: Url
    secret_env: EnvName


class _EmailSpec(StrictSpec):
    host: str
    port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    ca_file: str | None = None
    username: str | None = None
    password_env: EnvName | None = None
    from_: str = Field(alias="from")
    to: list[str] = Field(min_length=1)


class _AlertmanagerSpec(StrictSpec):
    url: Url


class _ReceiverSpec(StrictSpec):
    name: str = Field(min_length=1, max_length=100)
    log: _LogSpec | None = None
    slack: _SlackSpec | None = None
    webhook: _WebhookSpec | None = None
    email: _EmailSpec | None = None
    alertmanager: _AlertmanagerSpec | None = None
    retry: _RetrySpec = _RetrySpec()
    timeout: Duration | None = None


class _RouteSpec(StrictSpec):
    match: dict[str, str] = Field(default_factory=dict)
    match_re: dict[str, str] = Field(default_factory=dict)
    receivers: list[str] = Field(min_length=1)
    continue_: bool = Field(default=False, alias="continue")


class _FileSpec(StrictSpec):
    retry: _RetrySpec = _RetrySpec()
    timeout: Duration = "10s"
    alertmanager_resend: Duration = "1m"
    receivers: list[_ReceiverSpec] = Field(min_length=1)
    routes: list[_RouteSpec] = Field(min_length=1)


# --- compiled -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceiverConfig:
    """One receiver: its kind, the settings of that kind (secrets resolved), its policy."""

    name: str
    kind: ReceiverKind
    options: Mapping[str, object]
    backoff: Backoff
    timeout_s: float

    def __repr__(self) -> str:  # options may hold secrets; never print them
        return f"ReceiverConfig(name={self.name!r}, kind={self.kind!r})"


@dataclass(frozen=True, slots=True)
class RouteConfig:
    match: Mapping[str, str]
    match_re: Mapping[str, re.Pattern[str]]
    receivers: tuple[str, ...]
    continue_: bool

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Every ``match`` label equal and every ``match_re`` label fully matched (a missing
        label is the empty string)."""
        return all(labels.get(k, "") == v for k, v in self.match.items()) and all(
            p.fullmatch(labels.get(k, "")) is not None for k, p in self.match_re.items()
        )


@dataclass(frozen=True, slots=True)
class DispatcherConfig:
    receivers: tuple[ReceiverConfig, ...]
    routes: tuple[RouteConfig, ...]
    alertmanager_resend_s: float

    def receiver(self, name: str) -> ReceiverConfig:
        for r in self.receivers:
            if r.name == name:
                return r
        raise KeyError(name)

    def route(self, labels: Mapping[str, str]) -> tuple[str, ...]:
        """The receivers of an alert with these labels, each once, in route order.

        >>> cfg = load_receivers(EXAMPLE, env=EXAMPLE_ENV)
        >>> cfg.route({"severity": "critical", "store_id": "store-001"})
        ('ops-slack', 'ops-mail', 'oncall-hook')
        >>> cfg.route({"severity": "warning", "store_id": "store-077"})
        ('console', 'am')
        """
        out: list[str] = []
        for route in self.routes:
            if route.matches(labels):
                out.extend(r for r in route.receivers if r not in out)
                if not route.continue_:
                    break
        return tuple(out)


#: The receivers file used when none is configured: every alert in the dispatcher's log.
DEFAULT_RECEIVERS: Final = """\
receivers:
  - {name: console, log: {}}
routes:
  - {receivers: [console]}
"""

EXAMPLE_PATH: Final = Path(__file__).with_name("receivers.example.yaml")
EXAMPLE: Final = EXAMPLE_PATH.read_text(encoding="utf-8") if EXAMPLE_PATH.exists() else ""
#: Environment that satisfies the example's ``*_env`` references (for its doctest).
EXAMPLE_ENV: Final = {
    "SHOPPULSE_SLACK_URL": "http://127.0.0.1:9/slack",
    "SHOPPULSE_WEBHOOK_SECRET": "s3cret",
    "SHOPPULSE_SMTP_PASSWORD": "pw",
}


def load_receivers(text: str, env: Mapping[str, str] | None = None) -> DispatcherConfig:
    """Parse and validate a receivers document; secrets come from ``env`` (default:
    ``os.environ``). :class:`ReceiversError` lists every problem with its line."""
    environ = os.environ if env is None else env
    try:
        spec, root = load_spec(text, _FileSpec, "receivers")
    except SpecError as exc:
        raise ReceiversError(exc.errors) from None
    errors: list[str] = []

    def err(loc: tuple[str | int, ...], msg: str) -> None:
        errors.append(at_line(root, loc, f"{field_path(loc)}: {msg}"))

    receivers: list[ReceiverConfig] = []
    names: dict[str, int] = {}
    for i, r in enumerate(spec.receivers):
        if r.name in names:
            err(("receivers", i, "name"), f"duplicate receiver {r.name!r}")
        names.setdefault(r.name, i)
        compiled = _compile_receiver(spec, r, environ, err)
        if compiled is not None:
            receivers.append(compiled)
    routes: list[RouteConfig] = []
    for i, route in enumerate(spec.routes):
        for j, name in enumerate(route.receivers):
            if name not in names:
                err(("routes", i, "receivers", j), f"unknown receiver {name!r}")
        patterns: dict[str, re.Pattern[str]] = {}
        for label, pattern in route.match_re.items():
            try:
                patterns[label] = re.compile(pattern)
            except re.error as exc:
                err(("routes", i, "match_re", label), f"bad regular expression: {exc}")
        routes.append(
            RouteConfig(
                match=dict(route.match),
                match_re=patterns,
                receivers=tuple(route.receivers),
                continue_=route.continue_,
            )
        )
    if errors:
        raise ReceiversError(errors)
    return DispatcherConfig(
        receivers=tuple(receivers),
        routes=tuple(routes),
        alertmanager_resend_s=_seconds(spec.alertmanager_resend),
    )


def load_receivers_file(path: Path | str, env: Mapping[str, str] | None = None) -> DispatcherConfig:
    return load_receivers(Path(path).read_text(encoding="utf-8"), env)


def _compile_receiver(
    spec: _FileSpec,
    r: _ReceiverSpec,
    env: Mapping[str, str],
    err: Callable[[tuple[str | int, ...], str], None],
) -> ReceiverConfig | None:
    i = spec.receivers.index(r)
    kinds = [k for k in RECEIVER_KINDS if getattr(r, k) is not None]
    if len(kinds) != 1:
        err(("receivers", i), f"needs exactly one of {', '.join(RECEIVER_KINDS)}")
        return None
    kind = kinds[0]
    loc = ("receivers", i, kind)
    options: dict[str, object] = {}

    def secret(field: str, var: str | None) -> str | None:
        if var is None:
            return None
        value = env.get(var)
        if not value:
            err((*loc, field), f"environment variable {var} is not set")
        return value

    if r.slack is not None:
        if (r.slack.url is None) == (r.slack.url_env is None):
            err(loc, "needs exactly one of url, url_env")
        options["url"] = r.slack.url or secret("url_env", r.slack.url_env)
    elif r.webhook is not None:
        options["url"] = r.webhook.url
        options["secret"] = secret("secret_env", r.webhook.secret_env)
    elif r.email is not None:
        e = r.email
        if (e.username is None) != (e.password_env is None):
            err(loc, "username and password_env go together")
        options.update(
            host=e.host,
            port=e.port,
            starttls=e.starttls,
            ca_file=e.ca_file,
            username=e.username,
            password=secret("password_env", e.password_env),
            sender=e.from_,
            recipients=tuple(e.to),
        )
    elif r.alertmanager is not None:
        options["url"] = r.alertmanager.url
    default, own = spec.retry, r.retry
    initial = own.initial if own.initial is not None else default.initial
    longest = own.max if own.max is not None else default.max
    try:
        backoff = Backoff(
            initial_s=1.0 if initial is None else _seconds(initial),
            factor=float(_pick(own.factor, default.factor, 2.0)),
            max_s=60.0 if longest is None else _seconds(longest),
            max_attempts=int(_pick(own.attempts, default.attempts, 5)),
        )
    except ValueError as exc:
        err(("receivers", i, "retry"), str(exc))
        return None
    return ReceiverConfig(
        name=r.name,
        kind=kind,
        options=options,
        backoff=backoff,
        timeout_s=_seconds(r.timeout if r.timeout is not None else spec.timeout),
    )


T = TypeVar("T")


def _pick(own: T | None, default: T | None, builtin: T) -> T:
    if own is not None:
        return own
    return default if default is not None else builtin
