"""``shoppulse simulate`` against the real broker: every JSONL line arrives on its topic."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from cli.simulate import add_arguments, run
from kafka_io.config import kafka_python_config
from shoppulse.settings import Settings
from shoppulse.topics import SOURCE_TOPICS

pytestmark = pytest.mark.integration

CONSUME_TIMEOUT_S = 60.0


def _consume_all(settings: Settings, expected: int) -> list[tuple[str, int, bytes, bytes]]:
    """(family, partition, key, value) of every record on the source topics; bounded wait."""
    family_of = {settings.topic(f): f for f in SOURCE_TOPICS}
    consumer = KafkaConsumer(
        **kafka_python_config(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    try:
        deadline = time.monotonic() + CONSUME_TIMEOUT_S
        partitions: list[TopicPartition] = []
        for topic in family_of:
            ids = consumer.partitions_for_topic(topic)
            while not ids and time.monotonic() < deadline:
                time.sleep(0.2)
                ids = consumer.partitions_for_topic(topic)
            assert ids, f"no partitions for {topic}"
            partitions += [TopicPartition(topic, p) for p in ids]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        records: list[tuple[str, int, bytes, bytes]] = []
        while len(records) < expected and time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500, max_records=5000)
            for tp, messages in batch.items():
                records += [(family_of[tp.topic], tp.partition, m.key, m.value) for m in messages]
        # Nothing beyond what was produced: read a little longer for strays.
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            for tp, messages in consumer.poll(timeout_ms=200).items():
                records += [(family_of[tp.topic], tp.partition, m.key, m.value) for m in messages]
        return records
    finally:
        consumer.close()


def test_simulate_produces_every_jsonl_line(settings: Settings, tmp_path: Path) -> None:
    jsonl = tmp_path / "events.jsonl"
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--stores",
            "3",
            "--seed",
            "5",
            "--events",
            "3000",
            "--start=-20m",
            "--event-rate",
            "50",
            "--incident",
            "traffic_spike:store-002:+1m:2m",
            "--jsonl",
            str(jsonl),
            "--no-progress",
        ]
    )
    assert run(args, settings) == 0

    lines = [orjson.loads(line) for line in jsonl.read_bytes().splitlines()]
    assert len(lines) == 3000
    assert {line["topic"] for line in lines} == set(SOURCE_TOPICS)

    records = _consume_all(settings, expected=len(lines))
    for _family, _partition, key, value in records:
        assert orjson.loads(value)["store_id"] == key.decode()

    produced = Counter(
        (line["topic"], line["key"].encode(), orjson.dumps(line["value"])) for line in lines
    )
    received = Counter((family, key, value) for family, _, key, value in records)
    assert received == produced

    # Key = store id: each store's events of a topic share one partition.
    partitions_of: dict[tuple[str, bytes], set[int]] = {}
    for family, partition, key, _ in records:
        partitions_of.setdefault((family, key), set()).add(partition)
    assert all(len(p) == 1 for p in partitions_of.values())
