"""`shoppulse broker` as a developer runs it: ready on 127.0.0.1, usable, stops on SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer

from cli.broker import free_port
from cli.processes import Child, shoppulse_command

pytestmark = pytest.mark.integration


def test_broker_command_serves_and_stops_cleanly(tmp_path: Path) -> None:
    port, controller = free_port(), free_port()
    broker = Child(
        "broker",
        shoppulse_command(
            "broker",
            "--port",
            str(port),
            "--controller-port",
            str(controller),
            "--data-dir",
            str(tmp_path / "kafka"),
        ),
        tmp_path / "broker.log",
    )
    broker.start()
    assert broker.process is not None
    try:
        broker.wait_for(f"ready on 127.0.0.1:{port}", 120)
        bootstrap = f"127.0.0.1:{port}"
        producer = KafkaProducer(bootstrap_servers=bootstrap)
        producer.send("smoke", b"hello").get(timeout=30)
        producer.close()
        consumer = KafkaConsumer(
            "smoke",
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            consumer_timeout_ms=10_000,
        )
        assert [r.value for r in consumer] == [b"hello"]
        consumer.close()
    finally:
        broker.process.send_signal(signal.SIGTERM)
        code = broker.process.wait(timeout=60)
    assert code == 0
    assert (tmp_path / "kafka" / "logs" / "meta.properties").exists()
