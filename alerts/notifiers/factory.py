"""Build the notifier a receiver's configuration describes."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import cast

import httpx

from alerts.notifiers.alertmanager import AlertmanagerNotifier
from alerts.notifiers.base import Notifier
from alerts.notifiers.email import EmailNotifier
from alerts.notifiers.log import LogNotifier
from alerts.notifiers.slack import SlackNotifier
from alerts.notifiers.webhook import WebhookNotifier
from alerts.receivers import ReceiverConfig


def build_notifier(
    receiver: ReceiverConfig, dashboard_url: str, client: httpx.AsyncClient | None = None
) -> Notifier:
    """The notifier of ``receiver`` (HTTP ones share ``client``)."""
    o = receiver.options
    timeout = receiver.timeout_s
    if receiver.kind == "log":
        return LogNotifier(dashboard_url)
    if receiver.kind == "slack":
        return SlackNotifier(str(o["url"]), dashboard_url, timeout_s=timeout, client=client)
    if receiver.kind == "webhook":
        return WebhookNotifier(
            str(o["url"]),
            str(o["secret"]),
            dashboard_url=dashboard_url,
            timeout_s=timeout,
            client=client,
        )
    if receiver.kind == "alertmanager":
        return AlertmanagerNotifier(str(o["url"]), dashboard_url, timeout_s=timeout, client=client)
    password = o.get("password")
    username = o.get("username")
    ca_file = o.get("ca_file")
    return EmailNotifier(
        host=str(o["host"]),
        port=cast(int, o["port"]),
        sender=str(o["sender"]),
        recipients=cast(Sequence[str], o["recipients"]),
        dashboard_url=dashboard_url,
        starttls=bool(o["starttls"]),
        username=None if username is None else str(username),
        password=None if password is None else str(password),
        timeout_s=timeout,
        ssl_context=None if ca_file is None else ssl.create_default_context(cafile=str(ca_file)),
    )
