"""Child processes that never outlive their parent: start, watch for a line, stop."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shoppulse.settings import Settings

_PR_SET_PDEATHSIG = 1
_KEEP_LINES = 2000


def die_with_parent() -> None:
    """In a child (``preexec_fn``): get SIGTERM when the parent dies, so nothing is orphaned."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def shoppulse_command(*args: str) -> list[str]:
    """The ``shoppulse`` command line for this interpreter (works without the console script)."""
    return [sys.executable, "-m", "cli.main", *args]


def local_api_settings(settings: Settings) -> Settings:
    """``settings`` for an API process of a benchmark: 127.0.0.1 on a free port, open (no API
    keys, which the child would otherwise inherit from ``SHOPPULSE_API_KEYS`` and refuse the
    benchmark's clients with).

    >>> s = local_api_settings(Settings(api_keys="wall:viewer:sha256:" + "0" * 64))
    >>> s.api_host, s.to_env()["SHOPPULSE_API_KEYS"], s.api_port > 0
    ('127.0.0.1', '', True)
    """
    from cli.broker import free_port

    return settings.model_copy(
        update={"api_port": free_port(), "api_host": "127.0.0.1", "api_keys": ""}
    )


def worker_data_dir(settings: Settings, workdir: Path, name: str) -> Path:
    """The data directory of a benchmark's worker ``name`` under ``workdir``."""
    return workdir / f"{settings.worker_app_id}-{name}"


def worker_child(
    settings: Settings, workdir: Path, name: str, data_dir: Path | None = None
) -> Child:
    """A benchmark's ``shoppulse worker``: its log under ``workdir`` and its data directory
    ``data_dir`` (by default :func:`worker_data_dir` of ``name``)."""
    data = data_dir if data_dir is not None else worker_data_dir(settings, workdir, name)
    return Child(
        f"worker-{name}",
        shoppulse_command("worker"),
        workdir / f"{settings.worker_app_id}-{name}.log",
        env=settings.model_copy(update={"worker_data_dir": data}).to_env(),
    )


@dataclass
class Child:
    """A named child process whose output is copied to a log file and scanned for a line."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: Mapping[str, str] | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _seen: list[str] = field(default_factory=list, init=False)
    _dropped: int = field(default=0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(self.env or {})
        self.process = subprocess.Popen(
            list(self.argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=die_with_parent,
        )
        threading.Thread(target=self._pump, name=f"{self.name}-log", daemon=True).start()

    def _pump(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        with self.log_path.open("ab") as out:
            for line in self.process.stdout:
                out.write(line)
                out.flush()
                with self._lock:
                    self._seen.append(line.decode("utf-8", "replace"))
                    if len(self._seen) > _KEEP_LINES:
                        self._dropped += len(self._seen) - _KEEP_LINES
                        del self._seen[:-_KEEP_LINES]

    def wait_for(self, needle: str, timeout_s: float) -> None:
        """Wait for a line containing ``needle``; raise if the child dies or time runs out."""
        deadline = time.monotonic() + timeout_s
        next_line = 0  # absolute index of the first line not yet scanned
        while time.monotonic() < deadline:
            with self._lock:
                first = max(next_line - self._dropped, 0)
                lines = self._seen[first:]
                next_line = self._dropped + len(self._seen)
            if any(needle in line for line in lines):
                return
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}; see {self.log_path}"
                )
            time.sleep(0.1)
        raise TimeoutError(f"{self.name}: no {needle!r} after {timeout_s} s; see {self.log_path}")

    def tail(self, lines: int = 20) -> str:
        """The child's last ``lines`` lines of output (for an error message)."""
        with self._lock:
            return "".join(self._seen[-lines:])

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 15.0, sig: int = signal.SIGTERM) -> int | None:
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    @property
    def pid(self) -> int:
        """The process id (the child must have been started)."""
        if self.process is None:
            raise RuntimeError(f"{self.name} was not started")
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
