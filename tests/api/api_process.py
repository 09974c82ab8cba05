"""The real ``shoppulse api`` as a child process on a fixed loopback port, restartable."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from cli.processes import Child, shoppulse_command
from shoppulse.settings import Settings


class ApiProcess:
    """``shoppulse api`` with ``settings`` on ``port``; :meth:`start` waits for ``/readyz``."""

    def __init__(self, settings: Settings, port: int, log_dir: Path) -> None:
        self.settings = settings.model_copy(update={"api_host": "127.0.0.1", "api_port": port})
        self.port = port
        self.log_dir = log_dir
        self.starts = 0
        self.child: Child | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout_s: float = 60.0) -> None:
        self.starts += 1
        self.child = Child(
            name="api",
            argv=shoppulse_command("api"),
            log_path=self.log_dir / f"api-{self.starts}.log",
            env=self.settings.to_env(),
        )
        self.child.start()
        deadline = time.monotonic() + ready_timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.child.alive():
                raise RuntimeError(f"shoppulse api exited; see {self.child.log_path}")
            try:
                r = httpx.get(f"{self.base_url}/readyz", timeout=2.0)
                if r.status_code == 200:
                    return
                last = r.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise TimeoutError(f"the API was not ready after {ready_timeout_s} s: {last}")

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.child is not None:
            self.child.stop(timeout_s)
            self.child = None
