"""``shoppulse simulate`` without a broker: options, pacing and the rate limit."""

from __future__ import annotations

import argparse
import logging

import pytest

from cli.simulate import Pacer, TokenBucket, add_arguments, resolve_start_ms, run
from shoppulse.settings import Settings


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="shoppulse simulate")
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_and_repeatable_incidents() -> None:
    args = _parse(
        "--incident",
        "conversion_drop:store-001:+10m:30m:0.5",
        "--incident",
        "stock_out:*:1h:10m",
        "--events",
        "100",
    )
    assert (args.stores, args.seed, args.start, args.speedup, args.rate) == (
        5,
        1,
        "now",
        None,
        None,
    )
    assert args.events == 100
    assert args.duration is None
    assert len(args.incident) == 2


def test_duration_and_events_are_exclusive() -> None:
    with pytest.raises(SystemExit):
        _parse("--events", "10", "--duration", "5")


def test_help_documents_the_incident_syntax() -> None:
    parser = argparse.ArgumentParser(prog="shoppulse simulate")
    add_arguments(parser)
    text = parser.format_help()
    assert "KIND:STORE:START:DURATION[:FACTOR]" in text
    assert "conversion_drop:store-001:+10m:30m:0.5" in text


@pytest.mark.parametrize(
    "argv",
    [
        ("--incident", "conversion_drop:store-001"),
        ("--incident", "traffic_spike:store-042:+1m:1m"),
        ("--start", "last tuesday"),
        ("--speedup", "-1"),
        ("--rate", "0"),
    ],
)
def test_bad_options_exit_2_before_touching_kafka(
    argv: tuple[str, ...], caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:1")  # nothing listens there
    with caplog.at_level(logging.ERROR, logger="shoppulse.simulate"):
        assert run(_parse("--stores", "3", "--events", "1", *argv), settings) == 2
    assert "bad option" in caplog.text


def test_token_bucket_limits_the_average_rate() -> None:
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    bucket = TokenBucket(1000.0, burst=50.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(10_050):
        bucket.acquire()
    assert now[0] == pytest.approx(10.0, rel=1e-6)  # the burst is free, then 1000/s


def test_pacer_maps_event_time_to_wall_time() -> None:
    now = [50.0]
    pacer = Pacer(start_ms=0, speedup=60.0, clock=lambda: now[0])
    assert pacer.delay_s(60_000) == pytest.approx(1.0)  # a minute at 60x is a second
    now[0] = 52.0
    assert pacer.delay_s(60_000) == 0.0  # behind schedule: no wait


def test_resolve_start() -> None:
    assert resolve_start_ms("1700000000000", 0) == (1_700_000_000_000, False)
    assert resolve_start_ms("NOW", 5) == (5, True)
    with pytest.raises(ValueError, match="--start"):
        resolve_start_ms("2023-11-14T22:13:20", 0)
