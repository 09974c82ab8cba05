"""Shared fixtures of the alerting tests: real HTTP, SMTP and Alertmanager receivers."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from cli.broker import free_port

ALERTMANAGER = Path("/usr/bin/prometheus-alertmanager")
READY_TIMEOUT_S = 30.0


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RecordingServer:
    """A real HTTP server on 127.0.0.1 that records POSTs; ``fail_next`` 503s first;
    ``delay_s`` answers slowly (after recording); ``fail_paths`` always fail."""

    fail_next: int = 0
    delay_s: float = 0.0
    fail_paths: frozenset[str] = frozenset()
    fail_status: int = 503
    requests: list[Recorded] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with owner._lock:
                    owner.requests.append(Recorded(self.path, dict(self.headers.items()), body))
                    failing = owner.fail_next > 0 or self.path in owner.fail_paths
                    if owner.fail_next > 0:
                        owner.fail_next -= 1
                if owner.delay_s:
                    time.sleep(owner.delay_s)
                status = owner.fail_status if failing else 200
                payload = b"nope" if failing else b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output free of per-request access lines."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def snapshot(self) -> list[Recorded]:
        with self._lock:
            return list(self.requests)


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    server = RecordingServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_for(what: str, check: Callable[[], Any], timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.2)


AM_CONFIG = """\
global:
  resolve_timeout: {resolve_timeout}
route:
  receiver: hook
  group_by: ["alertname", "store_id"]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: "{url}"
        send_resolved: true
"""


@pytest.fixture
def alertmanager(http_server: RecordingServer, tmp_path: Path) -> Iterator[str]:
    """A real Alertmanager forwarding everything to ``http_server`` at ``/am``; its base URL."""
    yield from _alertmanager(http_server, tmp_path, resolve_timeout="5m")


@pytest.fixture
def impatient_alertmanager(http_server: RecordingServer, tmp_path: Path) -> Iterator[str]:
    """Like ``alertmanager``, but it resolves an alert not re-sent within 3 s by itself."""
    yield from _alertmanager(http_server, tmp_path, resolve_timeout="3s")


def _alertmanager(
    http_server: RecordingServer, tmp_path: Path, resolve_timeout: str
) -> Iterator[str]:
    assert ALERTMANAGER.exists(), f"{ALERTMANAGER} is required (apt prometheus-alertmanager)"
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        AM_CONFIG.format(url=http_server.url + "/am", resolve_timeout=resolve_timeout)
    )
    port = free_port()
    log_path = tmp_path / "alertmanager.log"
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                str(ALERTMANAGER),
                f"--config.file={config}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                "--log.level=debug",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:

            def ready() -> bool:
                if proc.poll() is not None:
                    raise AssertionError(
                        f"alertmanager exited with {proc.returncode}:\n{log_path.read_text()}"
                    )
                try:
                    return httpx.get(f"{base}/-/ready", timeout=1).status_code == 200
                except httpx.TransportError:
                    return False

            wait_for("alertmanager /-/ready", ready, READY_TIMEOUT_S)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


class RecordingHandler:
    def __init__(self) -> None:
        self.envelopes: list[tuple[str | None, list[str], Message]] = []

    async def handle_DATA(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        self.envelopes.append(
            (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(raw))
        )
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, RecordingHandler]]:
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


@dataclass(frozen=True)
class TlsSmtp:
    """A real SMTP server that requires STARTTLS and then AUTH (user ``alerts``)."""

    controller: Controller
    handler: RecordingHandler
    ca_file: Path
    password: str = "s3cret-smtp"


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 (``openssl``), as (cert, key)."""
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _as_bytes(x: str | bytes) -> bytes:
    return x if isinstance(x, bytes) else x.encode()


@pytest.fixture
def tls_smtp_server(tmp_path: Path) -> Iterator[TlsSmtp]:
    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = RecordingHandler()
    password = TlsSmtp.password

    def authenticator(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        given = (_as_bytes(auth_data.login), _as_bytes(auth_data.password))
        return AuthResult(success=given == (b"alerts", password.encode()), handled=False)

    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        ready_timeout=10,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield TlsSmtp(controller, handler, cert)
    finally:
        controller.stop()
