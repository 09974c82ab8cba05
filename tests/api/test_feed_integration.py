"""The API against the real Kafka broker: catch up, serve REST, push live updates.

Snapshots are produced with kafka-python to the test's own namespaced
``shoppulse.kpis``; the API runs under uvicorn on a free loopback port; the
websocket client is the ``websockets`` package. Every wait is bounded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from kafka import KafkaProducer
from websockets.sync.client import connect

from api.app import create_app
from api.clock import wall_clock_ms
from cli.broker import free_port
from kafka_io.config import kafka_python_config
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot
from shoppulse.topics import KPIS

pytestmark = pytest.mark.integration

MIN = 60_000
WAIT_S = 60.0


def _snap(store: str, start: int, revision: int, orders: int, *, final: bool) -> KpiSnapshot:
    return KpiSnapshot(
        store_id=store,
        window_start_ms=start,
        window_end_ms=start + MIN,
        final=final,
        revision=revision,
        currency="EUR",
        components={"orders_paid": orders, "gmv_minor": 1000 * orders, "sessions": 10},
        emitted_at_ms=wall_clock_ms(),
    )


def _wait_for(what: str, check: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


@pytest.fixture
def producer(settings: Settings) -> Iterator[KafkaProducer]:
    p = KafkaProducer(**kafka_python_config(settings), acks="all")
    try:
        yield p
    finally:
        p.close(timeout=10)


def _produce(producer: KafkaProducer, settings: Settings, values: list[bytes], key: bytes) -> None:
    for value in values:
        producer.send(settings.topic(KPIS), key=key, value=value)
    producer.flush(timeout=20)


@contextmanager
def running_api(settings: Settings) -> Iterator[str]:
    """The API under uvicorn in a thread, on a free port; yields ``host:port``."""
    port = free_port()
    app = create_app(settings.model_copy(update={"api_port": port}), ws_heartbeat_s=1.0)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="api-under-test", daemon=True)
    thread.start()
    try:
        _wait_for("uvicorn to start", lambda: server.started, 20)
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        assert not thread.is_alive(), "uvicorn did not stop"


def _wait_ready(base: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = _get(f"http://{base}/readyz")
        body = r.json()
        if r.status_code == 200:
            return body
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for /readyz: last answer {body}")


def _get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=5.0)


def _recv_until(ws: Any, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while (left := deadline - time.monotonic()) > 0:
        message: dict[str, Any] = orjson.loads(ws.recv(timeout=left))
        if predicate(message):
            return message
    raise AssertionError("timed out waiting for a websocket message")


@pytest.mark.timeout(180)
def test_api_catches_up_serves_rest_and_pushes_updates(
    settings: Settings, producer: KafkaProducer
) -> None:
    minute = wall_clock_ms() // MIN * MIN
    history = [
        _snap("it-a", minute - MIN, 1, 2, final=False).to_json(),
        _snap("it-a", minute - MIN, 2, 3, final=True).to_json(),
        b"{not a snapshot",
        _snap("it-a", minute, 1, 4, final=False).to_json(),
        _snap("it-a", minute - MIN, 1, 99, final=False).to_json(),  # stale revision: ignored
    ]
    _produce(producer, settings, history, b"it-a")

    with running_api(settings) as base:  # started after the history: it must catch up
        ready = _wait_ready(base)
        assert ready["feed"]["bad_records"] == 1

        stores = _get(f"http://{base}/api/v1/stores").json()
        assert [s["store_id"] for s in stores["stores"]] == ["it-a"]
        assert stores["caught_up"] is True

        five = _get(f"http://{base}/api/v1/kpis?store=it-a&window=5m").json()
        assert five["minutes"] == 2
        assert five["components"]["orders_paid"] == 3 + 4
        assert five["kpis"]["aov_minor"] == 1000.0
        assert five["kpis"]["sessions"] is None
        latest = _get(f"http://{base}/api/v1/kpis?store=it-a&window=1m").json()
        assert latest["window_start_ms"] == minute
        assert latest["kpis"]["payment_conversion"] == 4 / 10
        assert _get(f"http://{base}/api/v1/kpis?store=nope").status_code == 404

        with connect(f"ws://{base}/ws/live?store=it-a", open_timeout=10) as ws:
            first: dict[str, Any] = orjson.loads(ws.recv(timeout=10))
            assert first["type"] == "snapshot"
            assert first["stores"]["it-a"]["window_start_ms"] == minute
            assert first["stores"]["it-a"]["revision"] == 1
            _produce(
                producer,
                settings,
                [_snap("it-a", minute, 2, 6, final=False).to_json()],
                b"it-a",
            )
            update = _recv_until(ws, lambda m: m["type"] == "update")
            assert update["snapshot"]["store_id"] == "it-a"
            assert update["snapshot"]["revision"] == 2
            assert update["snapshot"]["components"]["orders_paid"] == 6
        today = _get(f"http://{base}/api/v1/kpis?store=all&window=today").json()
        assert today["components"]["orders_paid"] >= 6
