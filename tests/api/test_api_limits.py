"""Request limits: body size (413, also for chunked bodies on every route), JSON only (415),
the configured limit in ingest, and the websocket frame limit of the real uvicorn server."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
import websockets
from fastapi.testclient import TestClient

from alerts.board import AlertBoard
from api.app import create_app
from api.ingest import IngestError, parse_ingest
from api.server import WS_MAX_FRAME_BYTES, uvicorn_config
from api.view import KpiView
from shoppulse.settings import Settings
from tests.api.test_api_alerts import FakeActionWriter, fp, make_alert

LIMIT = 4 * 1024
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def limited(view: KpiView) -> Iterator[TestClient]:
    board = AlertBoard()
    board.apply(make_alert("s1"))
    settings = Settings(topic_namespace="unit.", api_max_body_bytes=LIMIT)
    app = create_app(
        settings, start_feed=False, view=view, alert_board=board, actions=FakeActionWriter()
    )
    with TestClient(app) as client:
        yield client


def _chunks() -> Iterator[bytes]:
    yield b'{"by": "ana", "comment": "'
    for _ in range(8):
        yield b"x" * 1024
    yield b'"}'


@pytest.mark.parametrize(
    "path", ["/api/v1/silences", f"/api/v1/alerts/{fp()}/ack", "/api/v1/events"]
)
def test_a_chunked_body_over_the_limit_is_413_on_every_route(
    limited: TestClient, path: str
) -> None:
    r = limited.post(path, content=_chunks(), headers=JSON)
    assert r.status_code == 413, r.text
    assert r.json()["detail"].startswith(f"the request body is larger than {LIMIT} bytes")
    r = limited.post(path, content=b"x" * (LIMIT + 1), headers=JSON)  # declared length
    assert r.status_code == 413, r.text


@pytest.mark.parametrize(
    "path", ["/api/v1/silences", f"/api/v1/alerts/{fp()}/ack", "/api/v1/events"]
)
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_json_posts_need_a_json_content_type(
    limited: TestClient, path: str, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    r = limited.post(path, content=b'{"by": "ana"}', headers=headers)
    assert r.status_code == 415, r.text
    assert "takes a JSON body: send Content-Type: application/json" in r.json()["detail"]


def test_a_json_content_type_with_a_charset_is_fine(limited: TestClient) -> None:
    r = limited.post(
        f"/api/v1/alerts/{fp()}/ack",
        content=b'{"by": "ana"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 200, r.text


def test_ingest_checks_the_configured_limit() -> None:
    body = b'{"topic": "shop.orders", "event": {}}'
    with pytest.raises(IngestError, match=f"the body is {len(body)} bytes; the limit is 10"):
        parse_ingest(body, 10)


def test_the_server_refuses_websocket_frames_over_the_limit(view: KpiView) -> None:
    """The real uvicorn, configured as ``shoppulse api`` runs it: a frame over 64 KiB closes
    the connection with 1009 (message too big) before the API reads it."""
    assert WS_MAX_FRAME_BYTES == 64 * 1024
    settings = Settings(topic_namespace="unit.", api_host="127.0.0.1", api_port=0)
    app = create_app(settings, start_feed=False, view=view)
    server = uvicorn.Server(uvicorn_config(app, settings, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        codes = asyncio.run(_send_frames(f"ws://127.0.0.1:{port}/ws/live?store=all"))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert codes == (None, 1009)


async def _send_frames(url: str) -> tuple[int | None, int | None]:
    """The close code after a small message (None: still open), then after a big one."""
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()  # the snapshot
        await ws.send('{"type": "subscribe", "store": "all"}')
        small = ws.close_code
        await ws.send("x" * (WS_MAX_FRAME_BYTES + 1))
        with contextlib.suppress(websockets.ConnectionClosed, TimeoutError):
            while True:  # until the server closes (or 3 s pass without a message)
                await asyncio.wait_for(ws.recv(), timeout=3)
        return small, ws.close_code
