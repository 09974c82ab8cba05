"""docker-compose.yml: valid for docker-compose, consistent with the configuration files it
mounts, and its topic job creates every topic (run against the real broker)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from cli.main import build_parser
from shoppulse.kafka_config import kafka_python_config
from shoppulse.settings import Settings
from shoppulse.topic_admin import ALL_TOPICS, TOPIC_CONFIGS
from tests.deploy.stack import (
    ALERTMANAGER_CONFIG,
    COMPOSE_FILE,
    DASHBOARDS_JSON,
    PROMETHEUS_CONFIG,
    PROMETHEUS_DIR,
    PROVISIONING,
    RECEIVERS,
    ROOT,
    load_yaml,
)

APP_SERVICES = ("worker", "api", "dispatcher", "simulator")
SETTINGS = {f"SHOPPULSE_{name.upper()}" for name in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The configuration as docker-compose resolves it (anchors merged, demo profile on)."""
    docker_compose = shutil.which("docker-compose")
    if docker_compose is None:
        pytest.skip("docker-compose is not installed (make system-deps installs it)")
    subprocess.run(
        [docker_compose, "-f", str(COMPOSE_FILE), "--profile", "demo", "config", "-q"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    out = subprocess.run(
        [docker_compose, "-f", str(COMPOSE_FILE), "--profile", "demo", "config"],
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


@pytest.mark.integration
def test_the_topics_job_creates_every_topic_with_its_configuration(kafka_bootstrap: str) -> None:
    """The job's own command, with the compose environment, against the session's broker."""
    docker_compose = shutil.which("docker-compose")
    if docker_compose is None:
        pytest.skip("docker-compose is not installed (make system-deps installs it)")
    resolved = subprocess.run(
        [docker_compose, "-f", str(COMPOSE_FILE), "config"],
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
