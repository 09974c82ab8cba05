"""`shoppulse detect` on arbitrary CSV series (pure file IO, no broker)."""

from __future__ import annotations

import argparse
import csv
import math
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from cli import detect


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    detect.add_arguments(parser)
    return detect.run(parser.parse_args(list(argv)), None)


def write_series(
    path: Path,
    values: list[float],
    *,
    epoch_s: bool = True,
    denominators: list[float] | None = None,
    step_s: int = 60,
) -> None:
    t0 = 1_700_006_400  # a UTC midnight, in seconds
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", "value"] + (["denominator"] if denominators else []))
        for i, v in enumerate(values):
            stamp = t0 + step_s * i if epoch_s else (t0 + step_s * i) * 1000
            w.writerow([stamp, v] + ([denominators[i]] if denominators else []))


def scores(path: Path) -> list[float]:
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score"]
    return [float(r["anomaly_score"]) for r in rows]


def test_a_level_series_with_a_dip_scores_high_only_there(tmp_path: Path) -> None:
    rng = random.Random(2)
    values = []
    for i in range(4 * 1440):
        base = 50 + 30 * math.sin(2 * math.pi * (i % 1440) / 1440)
        if 3 * 1440 + 600 <= i < 3 * 1440 + 660:
            base *= 0.5
        values.append(round(rng.gauss(base, 3), 2))
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_series(src, values)
    assert run("--input", str(src), "--output", str(out)) == 0
    s = scores(out)
    assert len(s) == len(values)
    assert all(0.0 <= x < 1.0 for x in s)
    incident = range(3 * 1440 + 600, 3 * 1440 + 660)
    assert max(s[i] for i in incident) > 0.9
    quiet = [x for i, x in enumerate(s) if 1440 <= i < 3 * 1440]
    assert max(quiet) < 0.5


def test_rate_series_needs_a_denominator_and_counts_evidence(tmp_path: Path) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_series(src, [5.0] * 10)
    assert run("--input", str(src), "--output", str(out), "--kind", "rate") == 2
    rng = random.Random(4)
    n = [200.0] * (3 * 1440)
    k = [
        float(sum(rng.random() < (0.05 if i < 2 * 1440 + 700 else 0.02) for _ in range(200)))
        for i in range(3 * 1440)
    ]
    write_series(src, k, epoch_s=False, denominators=n)
    assert (
        run("--input", str(src), "--output", str(out), "--kind", "rate", "--direction", "drop") == 0
    )
    s = scores(out)
    assert max(s[2 * 1440 + 700 : 2 * 1440 + 720]) > 0.5


@pytest.mark.parametrize("bad", ["timestamp,value\nyesterday,3\n", "time,value\n1,2\n"])
def test_bad_input_is_a_clear_error(
    tmp_path: Path, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.csv"
    src.write_text(bad)
    assert run("--input", str(src), "--output", str(tmp_path / "o.csv")) == 2
    assert "shoppulse detect:" in capsys.readouterr().err


def read_out(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize(
    "stamp",
    [
        "2014-04-01 00:00:00",
        "2014-04-01T00:00:00",
        "2014-04-01 00:00:00.250",
        "2014-04-01T00:00:00.123456",
    ],
)
def test_naive_timestamps_are_utc_and_repeated_as_given(tmp_path: Path, stamp: str) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(f"timestamp,value\n{stamp},3\n{stamp[:11]}00:01:00,4\n")
    assert run("--input", str(src), "--output", str(out)) == 0
    assert [r["timestamp"] for r in read_out(out)] == [stamp, f"{stamp[:11]}00:01:00"]
    midnight_ms = 1_396_310_400_000  # 2014-04-01T00:00:00Z
    assert detect.parse_timestamp(stamp) // 1000 == midnight_ms // 1000


def test_naive_offset_reads_naive_timestamps_at_that_offset_only() -> None:
    plus8 = detect.parse_offset("+08:00")
    utc_ms = detect.parse_timestamp("2014-04-01T00:00:00Z")
    assert detect.parse_timestamp("2014-04-01 08:00:00", naive_tz=plus8) == utc_ms
    assert detect.parse_timestamp("2014-03-31T19:00:00", detect.parse_offset("-05:00")) == utc_ms
    assert detect.parse_timestamp("2014-04-01 05:30", detect.parse_offset("+0530")) == utc_ms
    # Offsets written in the data, and epoch numbers, win over --naive-offset.
    assert detect.parse_timestamp("2014-04-01T00:00:00+00:00", naive_tz=plus8) == utc_ms
    assert detect.parse_timestamp("1396310400", naive_tz=plus8) == utc_ms
    assert detect.parse_timestamp("1396310400000", naive_tz=plus8) == utc_ms


def test_naive_offset_on_the_command_line(tmp_path: Path) -> None:
    """A non-whole-hour offset moves the hour-of-day slots: naive +05:30 text scores exactly
    like the same instants written in RFC 3339."""
    rng = random.Random(7)
    t0 = 1_396_310_400  # 2014-04-01T00:00:00Z
    naive, aware = tmp_path / "naive.csv", tmp_path / "aware.csv"
    with naive.open("w", newline="") as fn, aware.open("w", newline="") as fa:
        wn, wa = csv.writer(fn), csv.writer(fa)
        wn.writerow(["timestamp", "value"])
        wa.writerow(["timestamp", "value"])
        for i in range(3 * 1440):
            local = datetime.fromtimestamp(t0 + 60 * i, tz=timezone(timedelta(hours=5.5)))
            v = round(rng.gauss(50 + 30 * math.sin(i / 229), 3), 2)
            wn.writerow([local.strftime("%Y-%m-%d %H:%M:%S"), v])
            wa.writerow([local.isoformat(), v])
    outs = tmp_path / "n.csv", tmp_path / "a.csv", tmp_path / "u.csv"
    assert run("--input", str(naive), "--output", str(outs[0]), "--naive-offset=+05:30") == 0
    assert run("--input", str(aware), "--output", str(outs[1])) == 0
    assert run("--input", str(naive), "--output", str(outs[2])) == 0  # read as UTC
    assert scores(outs[0]) == scores(outs[1])
    assert scores(outs[2]) != scores(outs[1])
    with naive.open() as fh:
        assert [r["timestamp"] for r in read_out(outs[0])] == [
            r["timestamp"] for r in csv.DictReader(fh)
        ]


@pytest.mark.parametrize("bad", ["8", "+8h", "+24:00", "+05:60", "Asia/Shanghai", "08:00"])
def test_a_bad_naive_offset_is_an_argparse_error(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        run("--input", "in.csv", "--output", "out.csv", f"--naive-offset={bad}")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--naive-offset" in err
    assert "+HH:MM" in err


@pytest.mark.parametrize(
    ("text", "minutes"), [("Z", 0), ("+00:00", 0), ("-05:00", -300), ("+0530", 330), ("+08", 480)]
)
def test_parse_offset(text: str, minutes: int) -> None:
    assert detect.parse_offset(text) == timezone(timedelta(minutes=minutes))


def test_rows_are_scored_and_written_in_input_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Out-of-order rows are scored where they stand, each then learned, as a stream would."""
    rng = random.Random(3)
    t0 = 1_700_006_400
    stamps = [t0 + 60 * i for i in range(2 * 1440)]
    for _ in range(200):  # swap some neighbours: a late row is earlier than the one before it
        i = rng.randrange(len(stamps) - 1)
        stamps[i], stamps[i + 1] = stamps[i + 1], stamps[i]
    values = [round(rng.gauss(20, 2), 2) for _ in stamps]
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    with src.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", "value"])
        w.writerows(zip(stamps, values, strict=True))
    argv = ("--input", str(src), "--output", str(out), "--warmup", "5")
    assert run(*argv) == 0
    rows = read_out(out)
    assert [int(r["timestamp"]) for r in rows] == stamps
    assert [float(r["value"]) for r in rows] == values
    parser = argparse.ArgumentParser()
    detect.add_arguments(parser)
    detectors = detect.make_detectors(parser.parse_args(list(argv)))
    expected = [
        f"{max(d.update(ts * 1000, v).score for d in detectors):.6f}"
        for ts, v in zip(stamps, values, strict=True)
    ]
    assert [r["anomaly_score"] for r in rows] == expected
    err = capsys.readouterr().err
    assert "earlier than a row before it" in err
    assert "in input order" in err


def test_rows_in_time_order_give_no_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_series(src, [float(i % 7) for i in range(2 * 1440)])  # long enough to be scored
    assert run("--input", str(src), "--output", str(out)) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("body", "line", "field", "detail"),
    [
        ("timestamp,value\n1700000000,1\nyesterday,3\n", 3, "timestamp", "yesterday"),
        ("timestamp,value\n1700000000,1\n\n1700000060,abc\n", 4, "value", "'abc' is not a number"),
        ("timestamp,value\n1700000000,nan\n", 2, "value", "'nan' is not a finite number"),
        ("timestamp,value\ninf,3\n", 2, "timestamp", "'inf' is not a finite number"),
        ("timestamp,value\n1700000000\n", 2, "value", "missing"),
        ('timestamp,value,note\n1700000000,1,"two\nlines"\n1700000060,x,\n', 4, "value", "'x'"),
        ("timestamp,value,denominator\n1700000000,1,\n", 2, "denominator", "'' is not a number"),
    ],
)
def test_a_bad_row_names_the_file_line_and_field(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    body: str,
    line: int,
    field: str,
    detail: str,
) -> None:
    src, out = tmp_path / "series.csv", tmp_path / "o.csv"
    src.write_text(body)
    kind = "rate" if "denominator" in body else "level"
    assert run("--input", str(src), "--output", str(out), "--kind", kind) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"shoppulse detect: {src}, line {line}, {field}: "), err
    assert detail in err
    assert not out.exists()


# A level shift, a trend, heavy-tailed noise and a dip that comes back, generated and run
# through the CLI: after a shift the detector alarms within a few rows, and an alarm that
# holds --settle rows takes the new level instead of firing for the rest of the series.

DAY = 1440
"""Minute rows a day: the first day warms the hour-of-day slots up."""
AT = 2 * DAY + 600
"""Where a shift or a dip starts: 10:00 on the third day."""
SETTLE = detect.SETTLE_ROWS
FIRES = 0.5


def observe(kind: str, mean: np.ndarray, seed: int) -> list[float]:
    """A level series: the mean plus Gaussian noise of sd 5; a count: Poisson counts."""
    rng = np.random.default_rng(seed)
    if kind == "count":
        return [float(x) for x in rng.poisson(mean)]
    return [round(float(x), 2) for x in mean + rng.normal(0.0, 5.0, len(mean))]


def detect_scores(
    tmp_path: Path, values: list[float], *options: str, step_s: int = 60
) -> list[float]:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_series(src, values, step_s=step_s)
    assert run("--input", str(src), "--output", str(out), *options) == 0
    s = scores(out)
    assert len(s) == len(values)
    return s


def firing_rows(s: list[float], start: int = 0, stop: int | None = None) -> list[int]:
    """The rows in ``[start, stop)`` scored at or above 0.5, counted from ``start``."""
    return [i - start for i in range(start, len(s) if stop is None else stop) if s[i] >= FIRES]


Shifted = Callable[..., list[float]]


@pytest.fixture(scope="module")
def shifted(tmp_path_factory: pytest.TempPathFactory) -> Shifted:
    """The scores of 5 days of minute rows at ``before`` and from row AT on at ``after``
    (each series is run once per module, whichever tests ask for it)."""
    cache: dict[tuple[object, ...], list[float]] = {}

    def get(kind: str, before: float, after: float, *options: str) -> list[float]:
        key = (kind, before, after, *options)
        if key not in cache:
            mean = np.where(np.arange(5 * DAY) < AT, before, after)
            values = observe(kind, mean, seed=1)
            cache[key] = detect_scores(
                tmp_path_factory.mktemp("shift"), values, "--kind", kind, *options
            )
        return cache[key]

    return get


SHIFTS = [
    pytest.param("level", 100.0, 160.0, id="level-up"),
    pytest.param("level", 160.0, 100.0, id="level-down"),
    pytest.param("count", 20.0, 40.0, id="count-up"),
    pytest.param("count", 40.0, 20.0, id="count-down"),
]


@pytest.mark.parametrize(("kind", "before", "after"), SHIFTS)
def test_a_level_shift_alarms_within_rows_then_takes_the_new_level(
    shifted: Shifted, kind: str, before: float, after: float
) -> None:
    s = shifted(kind, before, after)
    assert len(firing_rows(s, DAY, AT)) < 5  # warm, and quiet before the shift
    alarm = firing_rows(s, AT)
    assert alarm
    assert alarm[0] <= 3, alarm[:5]  # within 3 rows of the shift
    # The alarm held SETTLE rows and took the level: the next 5 hours are quiet.
    assert firing_rows(s, AT + SETTLE + 5, AT + SETTLE + 305) == []
    assert len(alarm) / (len(s) - AT) < 0.10


@pytest.mark.parametrize(
    ("kind", "before", "after"),
    SHIFTS,
)
def test_after_a_level_shift_settled_it_fires_no_more(
    shifted: Shifted, kind: str, before: float, after: float
) -> None:
    s = shifted(kind, before, after)
    late = firing_rows(s, AT + SETTLE + 5)
    assert late == [], f"{len(late)} rows >= 0.5, from row {late[0] + SETTLE + 5} after the shift"


@pytest.mark.parametrize("kind", ["level", "count"])
def test_settle_sets_how_long_a_shift_alarms(shifted: Shifted, kind: str) -> None:
    up = (100.0, 160.0) if kind == "level" else (20.0, 40.0)
    short = shifted(kind, *up, "--settle", "30")
    alarm = firing_rows(short, AT)
    assert alarm[0] <= 3
    assert all(x >= FIRES for x in short[AT + 4 : AT + 28])
    assert firing_rows(short, AT + 35, AT + 335) == []  # took the new level after 30 rows
    never = shifted(kind, *up, "--settle", "none")  # holds while the series is not back
    assert len(firing_rows(never, AT)) / (len(never) - AT) > 0.99
    assert shifted(kind, *up, "--settle", "0") == never


@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", ""])
def test_a_bad_settle_is_an_argparse_error(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run("--input", "in.csv", "--output", "out.csv", f"--settle={bad}")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--settle" in err
    assert "0 or none" in err


@pytest.mark.parametrize(("kind", "start"), [("level", 100.0), ("count", 20.0)])
def test_a_slow_trend_does_not_keep_it_firing(tmp_path: Path, kind: str, start: float) -> None:
    n = 5 * DAY
    mean = start * (1 + 0.5 * np.arange(n) / n)  # +50 % over the series
    s = detect_scores(tmp_path, observe(kind, mean, seed=2), "--kind", kind)
    assert len(firing_rows(s, DAY)) / (n - DAY) < 0.02


def test_heavy_tailed_noise_does_not_keep_it_firing(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 5 * DAY
    level = [round(float(x), 2) for x in 100 + 5 * rng.standard_t(4, n)]  # Student-t, 4 df
    s = detect_scores(tmp_path, level)
    assert len(firing_rows(s, DAY)) / (n - DAY) < 0.02
    counts = [float(x) for x in rng.poisson(rng.gamma(5.0, 4.0, n))]  # mean 20, variance 100
    s = detect_scores(tmp_path, counts, "--kind", "count")
    assert len(firing_rows(s, DAY)) / (n - DAY) < 0.02


@pytest.mark.parametrize(
    ("kind", "direction"),
    [
        ("level", "both"),
        ("level", "drop"),
        ("count", "both"),
        ("count", "drop"),
    ],
)
def test_a_dip_that_comes_back_alarms_in_it_and_is_quiet_after(
    tmp_path: Path, kind: str, direction: str
) -> None:
    n = 4 * DAY
    dip = (np.arange(n) >= AT) & (np.arange(n) < AT + 60)  # an hour
    mean = np.where(dip, 60.0, 100.0) if kind == "level" else np.where(dip, 8.0, 20.0)
    s = detect_scores(
        tmp_path, observe(kind, mean, seed=4), "--kind", kind, "--direction", direction
    )
    assert len(firing_rows(s, DAY, AT)) < 5
    alarm = firing_rows(s, AT, AT + 60)
    assert alarm
    assert alarm[0] <= 6
    assert len(alarm) >= 50
    # Resolves within 25 rows of the dip's end and does not alarm on the way back (a row or
    # two of noise later is a false alarm, as the noise tests bound, not the dip learned).
    late = firing_rows(s, AT + 60 + 25)
    assert len(late) <= 3, f"{len(late)} rows >= 0.5, from row {late[0] + 25} after the dip"


@pytest.mark.parametrize("kind", ["level", "count"])
def test_hourly_rows_settle_after_settle_rows(tmp_path: Path, kind: str) -> None:
    """With hourly rows the hour-of-day slots warm up after --warmup days, and --settle 24
    takes a new level after a day."""
    n, at = 75 * 24, 45 * 24 + 10
    up = (100.0, 160.0) if kind == "level" else (20.0, 40.0)
    mean = np.where(np.arange(n) < at, *up)
    s = detect_scores(
        tmp_path, observe(kind, mean, seed=5), "--kind", kind, "--settle", "24", step_s=3600
    )
    assert max(s[: 29 * 24]) == 0.0  # not warm: each hour's slot has had fewer than 30 rows
    assert max(s[31 * 24 :]) > 0.0
    assert len(firing_rows(s, 31 * 24, at)) < 3
    alarm = firing_rows(s, at)
    assert alarm
    assert alarm[0] <= 3
    assert alarm[-1] < 24 + 5, alarm  # one alarm of about a day, then the new level


def test_daily_rows_are_never_scored_and_the_run_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = observe("level", np.full(400, 100.0), seed=6)
    s = detect_scores(tmp_path, values, step_s=86_400)
    assert set(s) == {0.0}
    err = capsys.readouterr().err
    assert "no row was scored" in err
    assert "--warmup 30" in err
