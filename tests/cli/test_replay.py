"""``shoppulse replay`` without a broker: input formats, order, bad rows, options, warnings.

A fake producer stands in for kafka-python (as in test_simulate_profiles.py): these tests are
about what the command decides to send, in which order and under which topic and key, which
is pure given the input files; delivery through a real broker and worker is the integration
test (test_replay_integration.py).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from cli import simulate
from cli.main import build_parser
from cli.replay import add_arguments, run
from shoppulse.settings import Settings
from shoppulse.timeutil import parse_ts_ms
from tests.cli.fake_producer import FakeProducer, install

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "rees46_2019-10-01_head5000.csv"
REES46 = ROOT / "docs" / "mappings" / "rees46-clickstream.yaml"
T0 = 1_700_000_040_000  # a minute boundary, long ago


@pytest.fixture
def fake_producer(monkeypatch: pytest.MonkeyPatch) -> type[FakeProducer]:
    return install(monkeypatch)


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="shoppulse replay")
    add_arguments(parser)
    return parser.parse_args(list(argv))


def _settings(**kw: Any) -> Settings:
    return Settings(kafka_bootstrap_servers="127.0.0.1:1", topic_namespace="ns.", **kw)


def _click(eid: str, store: str, ts: int) -> dict[str, Any]:
    return {
        "event_id": eid,
        "store_id": store,
        "ts": ts,
        "session_id": "x",
        "visitor_id": "v",
        "kind": "page_view",
    }


def _write_jsonl(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(d, option=orjson.OPT_APPEND_NEWLINE) for d in docs))
    return path


def _sent(fake: type[FakeProducer]) -> list[tuple[str, str, dict[str, Any]]]:
    (producer,) = fake.instances
    return [(t, k.decode(), orjson.loads(v)) for t, k, v in producer.sent]


def test_registered_as_a_subcommand() -> None:
    args = build_parser().parse_args(["replay", "a.csv", "--mapping", "m.yaml", "--speed", "60"])
    assert (args.command, args.files, args.mapping, args.speed) == (
        "replay",
        ["a.csv"],
        "m.yaml",
        60.0,
    )
    assert args.strict is False


def test_help_says_how_bad_rows_and_history_are_handled() -> None:
    parser = argparse.ArgumentParser(prog="shoppulse replay")
    add_arguments(parser)
    text = parser.format_help()
    for needle in ("--strict", "--speed N", "--mapping YAML", "--topic", "idle_close_s"):
        assert needle in text
    assert "SHOPPULSE_API_HISTORY_MINUTES" in text


def test_envelopes_are_sent_oldest_first_per_store_with_the_store_as_key(
    tmp_path: Path, fake_producer: type[FakeProducer]
) -> None:
    docs = [
        {"topic": "shop.clicks", "key": "a", "value": _click("a3", "a", T0 + 3_000)},
        {"topic": "shop.clicks", "key": "b", "value": _click("b1", "b", T0 + 1_000)},
        {"topic": "shop.clicks", "key": "a", "value": _click("a1", "a", T0 + 1_000)},
        {"topic": "shop.clicks", "key": "a", "value": _click("a2", "a", T0 + 2_000)},
        {"topic": "shop.clicks", "key": "b", "value": _click("b0", "b", T0)},
    ]
    path = _write_jsonl(tmp_path / "events.jsonl", docs)
    assert run(_parse(str(path), "--no-progress"), _settings()) == 0
    sent = _sent(fake_producer)
    assert [v["event_id"] for _, _, v in sent] == ["b0", "b1", "a1", "a2", "a3"]
    assert {(t, k) for t, k, _ in sent} == {("ns.shop.clicks", "a"), ("ns.shop.clicks", "b")}
    assert all(k == v["store_id"] for _, k, v in sent)
    assert fake_producer.instances[0].config["acks"] == "all"


def test_bare_events_need_topic(tmp_path: Path, fake_producer: type[FakeProducer]) -> None:
    path = _write_jsonl(tmp_path / "clicks.ndjson", [_click("e1", "s1", T0)])
    assert run(_parse(str(path), "--topic", "shop.clicks", "--no-progress"), _settings()) == 0
    assert [(t, v["event_id"]) for t, _, v in _sent(fake_producer)] == [("ns.shop.clicks", "e1")]


def test_what_simulate_writes_replays_byte_for_byte(
    tmp_path: Path, fake_producer: type[FakeProducer]
) -> None:
    jsonl = tmp_path / "sim.jsonl"
    sim_parser = argparse.ArgumentParser()
    simulate.add_arguments(sim_parser)
    sim_args = sim_parser.parse_args(
        [
            *("--stores", "3", "--events", "600", "--start", str(T0)),
            *("--jsonl", str(jsonl), "--no-progress", "--tame"),
        ]
    )
    assert simulate.run(sim_args, _settings()) == 0
    simulated = sorted(fake_producer.instances[0].sent)
    fake_producer.instances.clear()
    assert run(_parse(str(jsonl), "--no-progress"), _settings()) == 0
    replayed = fake_producer.instances[0].sent
    assert sorted(replayed) == simulated
    ts = [parse_ts_ms(orjson.loads(v)["ts"]) for _, _, v in replayed]  # ms or RFC 3339
    assert ts == sorted(ts)


def test_csv_with_the_rees46_mapping(
    fake_producer: type[FakeProducer], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = (str(SAMPLE), "--mapping", str(REES46), "--no-progress")
    started = time.perf_counter()
    assert run(_parse(*argv), _settings()) == 0
    elapsed = time.perf_counter() - started
    sent = _sent(fake_producer)
    assert len(sent) == 4_999 + 54
    assert {k for _, k, _ in sent} == {"rees46"}
    ts = [v["ts"] for _, _, v in sent]
    assert ts == sorted(ts)
    err = capsys.readouterr().err
    assert "replay: 5053 events sent (shop.clicks 4999, shop.orders 54) from 4999 rows" in err
    print(f"rees46 sample: {4_999 / elapsed:,.0f} rows/s through the fake producer")
    # A second run sends exactly the same events, ids included.
    first = fake_producer.instances[0].sent
    fake_producer.instances.clear()
    assert run(_parse(*argv), _settings()) == 0
    assert fake_producer.instances[0].sent == first


MAPPING = """
fields:
  time: {column: t}
  store: {column: shop}
  order: {column: id}
  customer: {column: customer}
  amount: {column: total, unit: decimal}
  currency: {constant: EUR}
  status: {column: status, values: {paid: paid, pending: placed, test: skip}}
events:
  - topic: shop.orders
"""
ORDERS_CSV = """id,t,total,shop,customer,status
1,2023-11-14T22:14:00Z,10.00,s1,c1,paid
2,2023-11-14T22:14:01Z,ten,s1,c2,paid
3,2023-11-14T22:14:02Z,3.00,s1,c3,test
4,2023-11-14T22:14:03Z,4.00,s1,c4,weird
5,not-a-time,5.00,s1,c5,paid
6,2023-11-14T22:14:05Z,6.00,s1,c6,pending
"""


def _orders(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "map.yaml").write_text(MAPPING)
    (tmp_path / "orders.csv").write_text(ORDERS_CSV)
    return tmp_path / "orders.csv", tmp_path / "map.yaml"


def test_bad_rows_are_reported_skipped_and_summarised(
    tmp_path: Path,
    fake_producer: type[FakeProducer],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    csv_path, mapping = _orders(tmp_path)
    with caplog.at_level(logging.WARNING, logger="shoppulse.replay"):
        code = run(_parse(str(csv_path), "--mapping", str(mapping), "--no-progress"), _settings())
    assert code == 0
    assert [v["order_id"] for _, _, v in _sent(fake_producer)] == ["1", "6"]
    logged = [getattr(r, "error", "") for r in caplog.records]
    assert f"{csv_path}:3: amount (column 'total'): 'ten' is not a decimal amount >= 0" in logged
    assert any(text.startswith(f"{csv_path}:5: status (column 'status')") for text in logged)
    assert any(text.startswith(f"{csv_path}:6: time (column 't')") for text in logged)
    err = capsys.readouterr().err
    assert "replay: 2 events sent (shop.orders 2) from 6 rows; 1 rows skipped by the mapping" in err
    assert "3 rows rejected:" in err
    for reason in ("amount: not a decimal", "status: unknown value", "time: not a timestamp"):
        assert f"    1  {reason}" in err


def test_strict_stops_at_the_first_bad_row_and_sends_nothing(
    tmp_path: Path, fake_producer: type[FakeProducer], capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path, mapping = _orders(tmp_path)
    args = _parse(str(csv_path), "--mapping", str(mapping), "--strict", "--no-progress")
    assert run(args, _settings()) == 2
    assert fake_producer.instances == []
    err = capsys.readouterr().err
    assert f"replay: {csv_path}:3: amount (column 'total'): 'ten'" in err
    assert "nothing was sent" in err


def test_dry_run_validates_without_a_producer(
    tmp_path: Path, fake_producer: type[FakeProducer], capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path, mapping = _orders(tmp_path)
    args = _parse(str(csv_path), "--mapping", str(mapping), "--dry-run", "--no-progress")
    assert run(args, _settings()) == 0
    assert fake_producer.instances == []
    assert "2 events valid, none sent (dry run)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("{csv}",), "CSV input needs --mapping"),
        (("{dir}/events.txt",), "cannot tell the format"),
        (("{dir}/missing.jsonl",), "No such file"),
        (("{csv}", "--mapping", "{dir}/broken.yaml"), "fields.when: unknown field"),
        (("{csv}", "--mapping", "{map}", "--topic", "shop.orders"), "--topic is for JSONL"),
        (("{csv}", "--mapping", "{map}", "--speed", "-1"), "--speed must be >= 0"),
        (("{csv}", "--mapping", "{dir}/other.yaml"), ":1: header: missing columns ['sum']"),
    ],
)
def test_unusable_input_exits_2_before_touching_kafka(
    argv: tuple[str, ...],
    message: str,
    tmp_path: Path,
    fake_producer: type[FakeProducer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    csv_path, mapping = _orders(tmp_path)
    (tmp_path / "events.txt").write_text("")
    (tmp_path / "broken.yaml").write_text(MAPPING.replace("time:", "when:"))
    (tmp_path / "other.yaml").write_text(MAPPING.replace("column: total", "column: sum"))
    fill = {"csv": str(csv_path), "map": str(mapping), "dir": str(tmp_path)}
    args = _parse(*(a.format(**fill) for a in argv), "--no-progress")
    assert run(args, _settings()) == 2
    assert fake_producer.instances == []
    assert message in capsys.readouterr().err


def test_delivery_errors_exit_1(tmp_path: Path, fake_producer: type[FakeProducer]) -> None:
    fake_producer.fail_every = 2
    docs = [{"topic": "shop.clicks", "value": _click(f"e{i}", "s", T0 + i)} for i in range(4)]
    path = _write_jsonl(tmp_path / "e.jsonl", docs)
    assert run(_parse(str(path), "--no-progress"), _settings()) == 1


def test_speed_paces_event_time_and_warns_when_a_minute_outlasts_idle_close(
    tmp_path: Path, fake_producer: type[FakeProducer], caplog: pytest.LogCaptureFixture
) -> None:
    docs = [
        {"topic": "shop.clicks", "value": _click(f"e{i}", "s", T0 + i * 30_000)} for i in range(3)
    ]
    path = _write_jsonl(tmp_path / "e.jsonl", docs)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="shoppulse.replay"):
        assert run(_parse(str(path), "--speed", "200", "--no-progress"), _settings()) == 0
    assert 0.29 <= time.monotonic() - started < 2.0  # 60 s of event time at 200x
    assert not any("idle_close_s" in r.getMessage() for r in caplog.records)
    caplog.clear()
    fake_producer.instances.clear()
    with caplog.at_level(logging.WARNING, logger="shoppulse.replay"):
        args = _parse(str(path), "--speed", "200", "--no-progress")
        assert run(args, _settings(idle_close_s=0.1)) == 0
    assert any("ADR 17" in r.getMessage() for r in caplog.records)


def test_history_older_than_the_api_window_is_named(
    tmp_path: Path, fake_producer: type[FakeProducer], caplog: pytest.LogCaptureFixture
) -> None:
    now_ms = int(time.time() * 1000)
    docs = [
        {"topic": "shop.clicks", "value": _click("old", "s", now_ms - 3 * 86_400_000)},
        {"topic": "shop.clicks", "value": _click("new", "s", now_ms - 60_000)},
    ]
    path = _write_jsonl(tmp_path / "e.jsonl", docs)
    with caplog.at_level(logging.WARNING, logger="shoppulse.replay"):
        assert run(_parse(str(path), "--no-progress"), _settings(api_history_minutes=1440)) == 0
    (record,) = [r for r in caplog.records if "history window" in r.getMessage()]
    assert record.__dict__["events_before_history"] == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="shoppulse.replay"):
        assert run(_parse(str(path), "--no-progress"), _settings()) == 0
    assert not [r for r in caplog.records if "history window" in r.getMessage()]
