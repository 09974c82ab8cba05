"""Shared fixtures: one real Kafka broker per test session, isolated topics per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cli.broker import LocalKafka
from cli.processes import Child, shoppulse_command
from kafka_io.admin import ensure_topics
from shoppulse.settings import Settings

WORKER_READY_TIMEOUT_S = 90.0


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A real Apache Kafka (KRaft, one node) on 127.0.0.1, shared by the session."""
    broker = LocalKafka(data_dir=tmp_path_factory.mktemp("kafka"))
    broker.start()
    try:
        broker.wait_ready(timeout_s=120)
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: LocalKafka) -> str:
    return kafka_broker.bootstrap


@pytest.fixture
def settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    """Settings with a unique topic namespace (and its topics created) for one test."""
    s = Settings(
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_namespace=f"t{uuid.uuid4().hex[:10]}.",
        worker_data_dir=tmp_path / "worker",
        grace_s=2.0,
        idle_close_s=3.0,
        api_port=0,
    )
    ensure_topics(s)
    return s


WorkerFactory = Callable[..., Child]


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path) -> Iterator[WorkerFactory]:
    """Start real ``shoppulse worker`` processes; each call waits until the worker is ready."""
    children: list[Child] = []

    def _start(worker_settings: Settings | None = None, name: str = "worker") -> Child:
        s = worker_settings or settings
        child = Child(
            name=name,
            argv=shoppulse_command("worker"),
            log_path=tmp_path / f"{name}-{len(children)}.log",
            env=s.to_env(),
        )
        children.append(child)
        child.start()
        child.wait_for("Worker]: Ready", WORKER_READY_TIMEOUT_S)
        return child

    yield _start
    for child in children:
        child.stop()
