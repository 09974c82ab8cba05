"""The deployment's configuration files, and Prometheus and Alertmanager started with them.

docker-compose.yml mounts ``deploy/prometheus`` (``prometheus.yml`` and ``rules/``),
``deploy/alertmanager/alertmanager.yml`` and ``deploy/dispatcher/receivers.yml``. The
tests start the Debian binaries (``make system-deps``) and ``shoppulse dispatcher`` with the
same files; only the network addresses, which name compose services, are rewritten to
the tests' loopback ports (:func:`loopback_prometheus_config`, :func:`loopback_receivers`).
Every wait is bounded.
"""

from __future__ import annotations

import copy
import math
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

from cli.processes import Child

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
ALERTMANAGER_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
RECEIVERS = DEPLOY / "dispatcher" / "receivers.yml"
PROVISIONING = ROOT / "dashboards" / "provisioning"
DASHBOARDS_JSON = ROOT / "dashboards" / "json"
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROMETHEUS_BIN = Path("/usr/bin/prometheus")
ALERTMANAGER_BIN = Path("/usr/bin/prometheus-alertmanager")
READY_TIMEOUT_S = 30.0
WORKER_METRICS_URL = "http://127.0.0.1:9102/metrics"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def loopback_prometheus_config(
    config: Mapping[str, Any],
    targets: Mapping[str, Sequence[str]],
    alertmanagers: Sequence[str],
) -> dict[str, Any]:
    """``config`` with each job's service discovery replaced by static ``targets`` (by job
    name; every job must have some) and Alertmanager's address; all else is kept."""
    out = copy.deepcopy(dict(config))
    for job in out["scrape_configs"]:
        for key in [k for k in job if k.endswith("_sd_configs") or k == "static_configs"]:
            del job[key]
        job["static_configs"] = [{"targets": list(targets[job["job_name"]])}]
    out["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": list(alertmanagers)}]}]
    return out


def write_prometheus_dir(
    directory: Path, targets: Mapping[str, Sequence[str]], alertmanagers: Sequence[str]
) -> Path:
    """A copy of ``deploy/prometheus`` (rules included) whose ``prometheus.yml`` points at
    loopback targets; returns the config's path."""
    copy_dir = directory / "prometheus"
    shutil.copytree(PROMETHEUS_DIR, copy_dir)
    config = loopback_prometheus_config(load_yaml(PROMETHEUS_CONFIG), targets, alertmanagers)
    path = copy_dir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def loopback_receivers(alertmanager_url: str) -> str:
    """``deploy/dispatcher/receivers.yml`` with its Alertmanager's URL replaced."""
    spec = load_yaml(RECEIVERS)
    for receiver in spec["receivers"]:
        if "alertmanager" in receiver:
            receiver["alertmanager"]["url"] = alertmanager_url
    return yaml.safe_dump(spec, sort_keys=False)


def worker_healthcheck(port: int) -> int:
    """Run the worker's compose healthcheck against a worker whose ``/metrics`` is on
    ``port`` (127.0.0.1); return its exit status (0: healthy)."""
    test = load_yaml(COMPOSE_FILE)["services"]["worker"]["healthcheck"]["test"]
    kind, program, *args = test
    assert (kind, program) == ("CMD", "python"), test
    assert any(WORKER_METRICS_URL in arg for arg in args), test
    local = [arg.replace(WORKER_METRICS_URL, f"http://127.0.0.1:{port}/metrics") for arg in args]
    proc = subprocess.run([sys.executable, *local], capture_output=True, timeout=30, check=False)
    return proc.returncode


def wait_until(
    what: str, check: Callable[[], bool], timeout_s: float, every_s: float = 0.5
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


class Server:
    """A binary on a loopback port, as a child process that dies with the test process."""

    def __init__(self, name: str, argv: list[str], port: int, log_path: Path) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.child = Child(name=name, argv=argv, log_path=log_path)

    def start(self) -> None:
        self.child.start()

        def ready() -> bool:
            if not self.child.alive():
                log = self.child.log_path.read_text(errors="replace")[-3000:]
                raise AssertionError(f"{self.child.name} exited:\n{log}")
            return _http_ok(f"{self.base_url}/-/ready")

        wait_until(f"{self.child.name} /-/ready", ready, READY_TIMEOUT_S)

    def stop(self) -> None:
        self.child.stop(timeout_s=10)


def _server(
    name: str, binary: Path, package: str, port: int, log_path: Path, *flags: str
) -> Server:
    assert binary.exists(), f"{binary} is installed by `make system-deps` (apt {package})"
    argv = [str(binary), *flags, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    return Server(name, argv, port, log_path)


def prometheus(config: Path, data_dir: Path, port: int, log_path: Path) -> Server:
    """Prometheus 2.42 (Debian): its own storage path, listening on loopback only."""
    return _server(
        "prometheus",
        PROMETHEUS_BIN,
        "prometheus",
        port,
        log_path,
        f"--config.file={config}",
        f"--storage.tsdb.path={data_dir}",
    )


def alertmanager(config: Path, data_dir: Path, port: int, log_path: Path) -> Server:
    """Alertmanager 0.25 (Debian) without cluster gossip."""
    return _server(
        "alertmanager",
        ALERTMANAGER_BIN,
        "prometheus-alertmanager",
        port,
        log_path,
        f"--config.file={config}",
        f"--storage.path={data_dir}",
        "--cluster.listen-address=",
    )


class PromApi:
    """The Prometheus HTTP API (``/api/v1``)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def _get(self, path: str, **params: str) -> Any:
        r = httpx.get(f"{self.base_url}/api/v1/{path}", params=params, timeout=20.0)
        body = r.json()
        assert body.get("status") == "success", f"{path} {params}: {r.status_code} {body}"
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query, now or at ``at`` (epoch seconds)."""
        params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
        data = self._get("query", **params)
        assert data["resultType"] == "vector", data
        result: list[dict[str, Any]] = data["result"]
        return result

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        """Series of ``expr``, each with its ``values`` as floats (NaN and Inf included)."""
        data = self._get(
            "query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step:g}"
        )
        assert data["resultType"] == "matrix", data
        return [
            {"metric": s["metric"], "values": [float(v) for _, v in s["values"]]}
            for s in data["result"]
        ]

    def label_values(self, label: str, match: str) -> list[str]:
        values: list[str] = self._get(f"label/{label}/values", **{"match[]": match})
        return values

    def get(self, path: str) -> Any:
        return self._get(path)


def finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]
