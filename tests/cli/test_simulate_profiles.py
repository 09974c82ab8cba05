"""``shoppulse simulate --profile`` and ``--span`` without a broker: options, send order, JSONL.

A fake producer stands in for kafka-python, so the test sees exactly what would be sent,
and in which order.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import orjson
import pytest

from cli.simulate import add_arguments, run
from shoppulse.settings import Settings
from simulator.simulation import DIURNAL_PEAK, MINUTE_MS, SimEvent, Simulator
from simulator.store_profiles import TrafficProfile
from simulator.traffic_variance import Variance
from tests.cli.fake_producer import FakeProducer, install
from tests.groundtruth import parse_ts_ms, read_jsonl

START_MS = 1_700_000_040_000  # a minute boundary, long ago


@pytest.fixture
def fake_producer(monkeypatch: pytest.MonkeyPatch) -> type[FakeProducer]:
    return install(monkeypatch)


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="shoppulse simulate")
    add_arguments(parser)
    return parser.parse_args(list(argv))


def _settings(grace_s: float = 2.0) -> Settings:
    return Settings(kafka_bootstrap_servers="127.0.0.1:1", grace_s=grace_s)


def test_help_documents_the_profiles() -> None:
    parser = argparse.ArgumentParser(prog="shoppulse simulate")
    add_arguments(parser)
    text = parser.format_help()
    assert "--profile NAME[:STORE][:PARAM=VALUE,...]" in text
    for name in ("steady", "tiny", "night_silent", "burst", "gap", "out_of_order", "variance"):
        assert f"  {name} " in text
    assert "--span DURATION" in text
    assert "--tame" in text
    assert "ON for every store unless --tame" in text
    assert "grace_s" in text


def test_profiles_are_repeatable_and_default_to_none() -> None:
    assert _parse().profile == []
    assert _parse().span is None
    args = _parse("--profile", "tiny:store-002", "--profile", "out_of_order", "--span", "2d")
    assert args.profile == ["tiny:store-002", "out_of_order"]
    assert args.span == "2d"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--profile", "sleepy:store-001"), "unknown name"),
        (("--profile", "tiny:store-042"), "unknown store"),
        (("--profile", "out_of_order:max=3s"), "exceeds the worker's grace"),
        (("--profile", "burst:store-001:every=soon"), "duration"),
        (("--span", "forever"), "duration"),
        (("--profile", "variance:day_sd=wild"), "not a number"),
        (("--profile", "variance:store-001:lag=0.5/0.4"), "add up to 1"),
        (("--tame", "--profile", "variance:store-042"), "unknown store"),
    ],
)
def test_bad_profiles_exit_2_before_touching_kafka(
    argv: tuple[str, ...], message: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="shoppulse.simulate"):
        assert run(_parse("--stores", "3", "--events", "1", *argv), _settings()) == 2
    assert "bad option" in caplog.text
    assert any(message in str(getattr(r, "error", "")) for r in caplog.records)


def _run(tmp_path: Path, *argv: str, grace_s: float = 2.0) -> list[dict[str, Any]]:
    jsonl = tmp_path / "events.jsonl"
    args = _parse("--start", str(START_MS), "--no-progress", "--jsonl", str(jsonl), *argv)
    assert run(args, _settings(grace_s)) == 0
    return read_jsonl(jsonl)


def test_profiled_run_sends_in_send_order_within_grace_and_span(
    tmp_path: Path, fake_producer: type[FakeProducer]
) -> None:
    records = _run(
        tmp_path,
        "--stores",
        "3",
        "--seed",
        "4",
        "--event-rate",
        "20",
        "--span",
        "20m",
        "--profile",
        "out_of_order",
        "--profile",
        "tiny:store-003",
        grace_s=1.5,
    )
    (producer,) = fake_producer.instances
    settings = _settings()
    sent = [
        {"topic": topic, "key": key.decode(), "value": orjson.loads(value)}
        for topic, key, value in producer.sent
    ]
    family = {settings.topic(r["topic"]): r["topic"] for r in records}
    assert [{**s, "topic": family[s["topic"]]} for s in sent] == records  # JSONL = send order
    times = [parse_ts_ms(r["value"]["ts"]) for r in records]
    assert all(t is not None and START_MS <= t < START_MS + 20 * MINUTE_MS for t in times)
    newest: dict[str, int] = {}
    inversions = 0
    for record, ts in zip(records, times, strict=True):
        assert ts is not None
        store = record["key"]
        assert ts >= newest.get(store, ts) - 1_500  # the grace (1.5 s) is the default bound
        inversions += ts < newest.get(store, ts)
        newest[store] = max(newest.get(store, ts), ts)
    assert inversions > 0
    tiny = {r["topic"] for r in records if r["key"] == "store-003"}
    assert tiny == {"shop.orders", "shop.chats"}


def _as_records(events: list[SimEvent]) -> list[dict[str, Any]]:
    return [{"topic": e.topic_family, "key": e.key, "value": e.value} for e in events]


def test_tame_without_profiles_the_run_is_the_plain_simulator_stream(
    tmp_path: Path, fake_producer: type[FakeProducer]
) -> None:
    records = _run(tmp_path, "--tame", "--stores", "2", "--seed", "9", "--events", "3000")
    assert records == _as_records(Simulator(stores=2, seed=9, start_ms=START_MS).take(3000))


def test_by_default_every_store_has_real_shops_variance(
    tmp_path: Path, fake_producer: type[FakeProducer]
) -> None:
    """The default run is the simulator under the variance profile for every store; a
    ``--profile variance:STORE:...`` changes it for that store."""
    records = _run(tmp_path, "--stores", "2", "--seed", "9", "--events", "3000")
    wild = Simulator(stores=2, seed=9, start_ms=START_MS, profiles=[TrafficProfile("variance")])
    assert records == _as_records(wild.take(3000))
    tame = Simulator(stores=2, seed=9, start_ms=START_MS).take(3000)
    assert records != _as_records(tame)
    one = _run(
        tmp_path,
        "--stores",
        "2",
        "--seed",
        "9",
        "--events",
        "3000",
        "--profile",
        "variance:store-002:k=inf",
    )
    profiles = [TrafficProfile("variance"), TrafficProfile.parse("variance:store-002:k=inf", 0)]
    again = Simulator(stores=2, seed=9, start_ms=START_MS, profiles=profiles)
    assert one == _as_records(again.take(3000))
    track = again.store("store-002").variance
    assert track is not None
    assert track.variance.dispersion is None


@pytest.mark.parametrize(("tame", "headroom"), [(True, 1.0), (False, Variance().headroom)])
def test_a_rate_limit_fits_the_event_rate_with_room_for_the_variance(
    tame: bool, headroom: float, fake_producer: type[FakeProducer], caplog: pytest.LogCaptureFixture
) -> None:
    argv = ["--rate", "100", "--speedup", "2", "--events", "1", "--no-progress"]
    with caplog.at_level(logging.INFO, logger="shoppulse.simulate"):
        assert run(_parse(*argv, *(["--tame"] if tame else [])), _settings()) == 0
    (started,) = [r for r in caplog.records if r.getMessage() == "simulate started"]
    fitted = vars(started)["event_rate_per_s"]
    assert fitted == pytest.approx(100 / 2 / DIURNAL_PEAK / headroom)
    assert vars(started)["variance"] is not tame


@pytest.mark.parametrize(
    ("argv", "warned"),
    [
        (("--start", str(START_MS), "--speedup", "1"), True),  # history at real-time pace
        (("--start", "now", "--speedup", "0.5"), True),  # falls behind the wall clock
        (("--start", str(START_MS)), False),  # history as fast as possible
        (("--start", str(START_MS), "--speedup", "60"), False),  # a minute per wall second
        (
            (
                "--start",
                "now",
            ),
            False,
        ),  # live
    ],
)
def test_pacing_that_lets_silence_close_minutes_early_is_warned_about(
    argv: tuple[str, ...],
    warned: bool,
    fake_producer: type[FakeProducer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="shoppulse.simulate"):
        assert run(_parse("--events", "1", "--no-progress", *argv), _settings()) == 0
    assert ("dead-lettered as late" in caplog.text) is warned
