"""docker-compose.yml: valid for docker-compose, consistent with the configuration files it
mounts, its images pinned to the versions the tests run, the app image built once, the
worker's healthcheck waiting for Faust, and its topic job creates every topic (run against
the real broker).

docker-compose is installed by ``make system-deps``: without it these tests skip on a
developer's machine and fail under CI (``CI`` set), where ``make install`` installs it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from prometheus_client import CollectorRegistry, start_http_server

from cli.broker import free_port
from cli.main import build_parser
from kafka_io.admin import ALL_TOPICS, TOPIC_CONFIGS
from kafka_io.config import kafka_python_config
from shoppulse.settings import Settings
from streams.metrics import WorkerMetrics
from tests.deploy.stack import (
    ALERTMANAGER_BIN,
    ALERTMANAGER_CONFIG,
    COMPOSE_FILE,
    DASHBOARDS_JSON,
    PROMETHEUS_BIN,
    PROMETHEUS_CONFIG,
    PROMETHEUS_DIR,
    PROVISIONING,
    RECEIVERS,
    ROOT,
    WORKER_METRICS_URL,
    load_yaml,
    worker_healthcheck,
)

APP_SERVICES = ("worker", "api", "dispatcher", "simulator")
SETTINGS = {f"SHOPPULSE_{name.upper()}" for name in Settings.model_fields}
KAFKA_POM = ROOT / "cli" / "kafka" / "pom.xml"


def docker_compose() -> str:
    """docker-compose's path; without it, skip, or fail under CI (which installs it)."""
    path = shutil.which("docker-compose")
    if path is None:
        message = "docker-compose is not installed (make system-deps installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}, and CI must run these tests")
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The configuration as docker-compose resolves it (anchors merged, demo profile on)."""
    docker_compose_bin = docker_compose()
    subprocess.run(
        [docker_compose_bin, "-f", str(COMPOSE_FILE), "--profile", "demo", "config", "-q"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    out = subprocess.run(
        [docker_compose_bin, "-f", str(COMPOSE_FILE), "--profile", "demo", "config"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    resolved: dict[str, Any] = yaml.safe_load(out)
    return resolved


def _mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Bind mounts: container path -> host path."""
    out = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict) and volume.get("type") == "bind":
            out[volume["target"]] = Path(volume["source"])
        elif isinstance(volume, str) and volume.startswith(("./", "/")):
            source, target, *_ = volume.split(":")
            out[target] = (ROOT / source).resolve()
    return out


def test_every_service_with_healthchecks_volumes_and_start_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {
        "kafka",
        "topics",
        "worker",
        "api",
        "dispatcher",
        "simulator",
        "prometheus",
        "alertmanager",
        "grafana",
    }
    for name, service in services.items():
        if name not in ("topics", "simulator"):  # a job and a producer: nothing to probe
            assert "healthcheck" in service, name
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("worker", "api", "dispatcher", "simulator"):
        assert services[name]["depends_on"]["topics"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["dispatcher"]["depends_on"]["alertmanager"]["condition"] == "service_healthy"
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    assert services["simulator"]["profiles"] == ["demo"]
    assert "container_name" not in services["worker"]  # --scale worker=3
    assert "ports" not in services["worker"]
    assert set(compose["volumes"]) >= {
        "kafka-data",
        "prometheus-data",
        "alertmanager-data",
        "grafana-data",
    }


def test_app_services_run_real_subcommands_with_real_settings(compose: dict[str, Any]) -> None:
    parser = build_parser()
    for name in APP_SERVICES:
        service = compose["services"][name]
        parser.parse_args(service["command"])
        assert set(service["environment"]) <= SETTINGS, name


def test_mounts_are_the_files_the_tests_use(compose: dict[str, Any]) -> None:
    services = compose["services"]
    prometheus = _mounts(services["prometheus"])
    assert prometheus["/etc/prometheus"] == PROMETHEUS_DIR
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]
    assert _mounts(services["alertmanager"]) == {
        "/etc/alertmanager/alertmanager.yml": ALERTMANAGER_CONFIG
    }
    dispatcher = services["dispatcher"]
    receivers = dispatcher["environment"]["SHOPPULSE_RECEIVERS_FILE"]
    assert _mounts(dispatcher) == {receivers: RECEIVERS}
    grafana = _mounts(services["grafana"])
    assert grafana["/etc/grafana/provisioning"] == PROVISIONING
    provider = load_yaml(PROVISIONING / "dashboards" / "shoppulse.yml")["providers"][0]
    assert grafana[provider["options"]["path"]] == DASHBOARDS_JSON
    home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (DASHBOARDS_JSON / Path(home).name).exists()
    for mounts in (prometheus, grafana):
        assert all(path.exists() for path in mounts.values())


def test_prometheus_scrapes_the_ports_the_services_listen_on(compose: dict[str, Any]) -> None:
    services = compose["services"]
    jobs = {job["job_name"]: job for job in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]}
    worker_env = services["worker"]["environment"]
    (dns,) = jobs["shoppulse-worker"]["dns_sd_configs"]
    assert dns["names"] == ["worker"]
    assert str(dns["port"]) == worker_env["SHOPPULSE_WORKER_METRICS_PORT"]
    assert worker_env["SHOPPULSE_WORKER_METRICS_HOST"] == "0.0.0.0"
    dispatcher_env = services["dispatcher"]["environment"]
    port = dispatcher_env["SHOPPULSE_DISPATCHER_METRICS_PORT"]
    assert jobs["shoppulse-dispatcher"]["static_configs"] == [{"targets": [f"dispatcher:{port}"]}]
    api_port = services["api"]["environment"].get("SHOPPULSE_API_PORT", Settings().api_port)
    assert jobs["shoppulse-api"]["static_configs"] == [{"targets": [f"api:{api_port}"]}]
    (alerting,) = load_yaml(PROMETHEUS_CONFIG)["alerting"]["alertmanagers"]
    assert alerting["static_configs"] == [{"targets": ["alertmanager:9093"]}]
    datasource = load_yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"


def test_without_docker_compose_ci_fails_and_a_developer_skips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run these tests"):
        docker_compose()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        docker_compose()


def _tag(image: str) -> str:
    name, _, tag = image.rpartition(":")
    assert name, f"{image} has no name"
    assert tag, f"{image} has no tag"
    return tag


def _major_minor(binary: Path) -> str:
    assert binary.exists(), f"{binary} is installed by `make system-deps`"
    proc = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=True
    )
    match = re.search(r"version (\d+\.\d+)\.\d+", proc.stdout + proc.stderr)
    assert match, proc.stdout + proc.stderr
    return match.group(1)


def test_images_are_pinned_to_the_versions_the_tests_run() -> None:
    """Kafka: the very version of the project's broker (cli/kafka/pom.xml). Prometheus and
    Alertmanager: the major.minor of the Debian binaries the tests start (Debian ships no
    other patch release; rule and configuration formats follow the minor version).
    Grafana, which the tests cannot run: a full release number, never a moving tag."""
    services = load_yaml(COMPOSE_FILE)["services"]
    kafka_version = ET.parse(KAFKA_POM).getroot().findtext("{*}properties/{*}kafka.version")
    assert kafka_version
    assert services["kafka"]["image"] == f"apache/kafka:{kafka_version}"
    for service, image, binary in (
        ("prometheus", "prom/prometheus", PROMETHEUS_BIN),
        ("alertmanager", "prom/alertmanager", ALERTMANAGER_BIN),
    ):
        name, _, tag = services[service]["image"].rpartition(":")
        assert name == image
        assert re.fullmatch(r"v\d+\.\d+\.\d+", tag), tag
        assert tag.removeprefix("v").rsplit(".", 1)[0] == _major_minor(binary), service
    assert re.fullmatch(r"\d+\.\d+\.\d+", _tag(services["grafana"]["image"]))


def test_the_app_image_is_built_once(compose: dict[str, Any]) -> None:
    services = compose["services"]
    builders = [name for name, service in services.items() if "build" in service]
    assert builders == ["topics"]  # the first app service: every other one depends on it
    build = services["topics"]["build"]
    context = build["context"] if isinstance(build, dict) else build
    assert Path(context).resolve() == ROOT
    image = services["topics"]["image"]
    for name in APP_SERVICES:
        assert services[name]["image"] == image, name
        assert "topics" in services[name]["depends_on"], name


def test_the_worker_is_healthy_only_once_faust_has_run_its_first_beat() -> None:
    """The healthcheck, run against a worker's real registry: the metrics port answers
    from the start, but the consumer lag is set by the first beat after recovery."""
    env = load_yaml(COMPOSE_FILE)["services"]["worker"]["environment"]
    port = env["SHOPPULSE_WORKER_METRICS_PORT"]
    assert f"http://127.0.0.1:{port}/metrics" == WORKER_METRICS_URL
    port = free_port()
    assert worker_healthcheck(port) != 0  # nothing listening
    registry = CollectorRegistry()
    metrics = WorkerMetrics.create(registry)
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        assert worker_healthcheck(port) != 0  # started, not ready
        metrics.consumer_lag.labels("shop.orders").set(0)  # what Processor.tick does
        assert worker_healthcheck(port) == 0
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.integration
def test_the_topics_job_creates_every_topic_with_its_configuration(kafka_bootstrap: str) -> None:
    """The job's own command, with the compose environment, against the session's broker."""
    resolved = subprocess.run(
        [docker_compose(), "-f", str(COMPOSE_FILE), "config"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    service = yaml.safe_load(resolved)["services"]["topics"]
    program, *args = service["entrypoint"]
    assert program == "python"
    namespace = f"t{uuid.uuid4().hex[:10]}."
    env = {
        **os.environ,
        **service["environment"],
        "SHOPPULSE_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,  # kafka:9092 in compose
        "SHOPPULSE_TOPIC_NAMESPACE": namespace,
    }
    subprocess.run([sys.executable, *args], env=env, check=True, timeout=60, capture_output=True)
    partitions = int(service["environment"]["SHOPPULSE_TOPIC_PARTITIONS"])
    settings = Settings(kafka_bootstrap_servers=kafka_bootstrap, topic_namespace=namespace)
    admin = KafkaAdminClient(**kafka_python_config(settings))
    try:
        names = [settings.topic(t) for t in ALL_TOPICS]
        described = {t["name"]: t for t in admin.describe_topics(names)}
        assert set(described) == set(names)
        assert all(len(t["partitions"]) == partitions for t in described.values())
        for logical, configs in TOPIC_CONFIGS.items():
            name = settings.topic(logical)
            response = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
            for key, value in configs.items():
                assert response["topic"][name][key]["value"] == value, (logical, key)
    finally:
        admin.close()
