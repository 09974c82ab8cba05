"""`shoppulse detect` on arbitrary CSV series (pure file IO, no broker)."""

from __future__ import annotations

import argparse
import csv
import math
import random
from pathlib import Path

import pytest

from cli import detect
from shoppulse.settings import Settings


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    detect.add_arguments(parser)
    return detect.run(parser.parse_args(list(argv)), Settings())


def write_series(
    path: Path,
    values: list[float],
    *,
    epoch_s: bool = True,
    denominators: list[float] | None = None,
) -> None:
    t0 = 1_700_006_400  # a UTC midnight, in seconds
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", "value"] + (["denominator"] if denominators else []))
        for i, v in enumerate(values):
            stamp = t0 + 60 * i if epoch_s else (t0 + 60 * i) * 1000
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
