"""The API app under uvicorn in a thread whose event loop the test can reach.

For page tests that fill the view directly (no Kafka): :meth:`PageServer.call` runs a
function on the server's loop, e.g. the feed's decode, apply and broadcast path.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from cli.broker import free_port

_T = TypeVar("_T")


class PageServer:
    """``app`` on a free loopback port until :meth:`stop`."""

    def __init__(self, app: FastAPI, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on")
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="page-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve())

    def start(self, timeout_s: float = 20.0) -> PageServer:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise TimeoutError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def call(self, fn: Callable[[], _T], timeout_s: float = 10.0) -> _T:
        """Run ``fn`` on the server's event loop and return its result."""

        async def run() -> _T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout_s)

    def stop(self, timeout_s: float = 20.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "uvicorn did not stop"
        self.loop.close()
