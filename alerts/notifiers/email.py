"""E-mail notifier over SMTP (stdlib ``smtplib`` run in a worker thread)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any

from alerts.notifiers.base import DeliveryError
from alerts.notifiers.message import render_text, title


def build_message(
    alert: Mapping[str, Any], sender: str, recipients: Sequence[str], dashboard_url: str
) -> EmailMessage:
    """Subject ``[FIRING|RESOLVED] <summary> (<store>)``; body: the plain-text message."""
    msg = EmailMessage()
    msg["Subject"] = title(alert)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg.set_content(render_text(alert, dashboard_url))
    return msg


class EmailNotifier:
    """Sends the plain-text alert message by SMTP.

    Connection errors, timeouts and 4xx SMTP replies are retryable; 5xx replies
    (rejected sender/recipients, failed authentication) are not.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        dashboard_url: str,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not recipients:
            raise ValueError("at least one recipient is required")
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = list(recipients)
        self.dashboard_url = dashboard_url
        self.starttls = starttls
        self.username = username
        self._password = password
        self.timeout_s = timeout_s
        self._ssl_context = ssl_context

    async def send(self, alert: Mapping[str, Any]) -> None:
        msg = build_message(alert, self.sender, self.recipients, self.dashboard_url)
        await asyncio.to_thread(self._send_sync, msg)

    def _send_sync(self, msg: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls(context=self._ssl_context or ssl.create_default_context())
                if self.username is not None and self._password is not None:
                    smtp.login(self.username, self._password)
                refused = smtp.send_message(msg, self.sender, self.recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            retryable = all(400 <= code < 500 for code in codes)
            raise DeliveryError(retryable, f"all recipients refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                400 <= exc.smtp_code < 500, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:  # e.g. STARTTLS/AUTH not offered
            raise DeliveryError(False, f"SMTP server does not support: {exc}") from exc
        except ssl.SSLError as exc:
            raise DeliveryError(False, f"TLS failure: {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:  # disconnects, refused, timeouts
            raise DeliveryError(True, f"{type(exc).__name__}: {exc}") from exc
        if refused:
            # Some recipients got it; retrying would duplicate for them.
            raise DeliveryError(False, f"some recipients refused: {refused}")
