"""``shoppulse detect``: score a ``timestamp,value`` CSV with the pipeline's detector code.

The input has a header with ``timestamp`` and ``value`` (and ``denominator`` for
``--kind rate``); timestamps are RFC 3339 with an offset, epoch seconds or epoch
milliseconds. The output repeats ``timestamp,value`` and adds ``anomaly_score``
in [0, 1), higher meaning more anomalous (0.5 is where the detector fires).
Rows are scored in time order, each before the detector learns from it.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from rich.progress import Progress

from shoppulse.detectors import Detector, DetectorSpec
from shoppulse.seasonal import SeasonalBaseline
from shoppulse.settings import Settings
from shoppulse.timeutil import TimestampError, parse_ts_ms

#: Epoch values below this are seconds, not milliseconds (this is 2001-09-09 in ms).
_SECONDS_BELOW = 10**12


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input", type=Path, required=True, help="CSV: timestamp,value[,denominator]"
    )
    parser.add_argument(
        "--output", type=Path, required=True, help="CSV: timestamp,value,anomaly_score"
    )
    parser.add_argument(
        "--kind",
        choices=["count", "rate", "level"],
        default="level",
        help="count: events per interval; rate: value/denominator (needs a "
        "denominator column); level: any measurement (default)",
    )
    parser.add_argument(
        "--direction",
        choices=["drop", "spike", "both"],
        default="both",
        help="which changes are anomalous (default: both)",
    )
    parser.add_argument(
        "--shift",
        type=float,
        default=None,
        help="the change to find fast: relative for count/rate (default 0.3), "
        "in standard deviations for level (default 1.0)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="CUSUM threshold (default 9 for count/rate, 10 for level)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=30,
        help="observations per hour-of-day slot before scoring (default 30)",
    )
    parser.add_argument(
        "--fading",
        type=float,
        default=0.05,
        help="baseline fading factor per observation of a slot (default 0.05)",
    )
    parser.add_argument(
        "--utc-offset-h",
        type=float,
        default=0.0,
        help="the series' local time offset, for the daily profile",
    )


def parse_timestamp(text: str) -> int:
    """RFC 3339, epoch seconds or epoch milliseconds, as epoch milliseconds."""
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        return parse_ts_ms(text)
    return int(number * 1000) if abs(number) < _SECONDS_BELOW else int(number)


def read_rows(fh: TextIO, kind: str) -> Iterator[tuple[str, int, float, float]]:
    reader = csv.DictReader(fh)
    fields = set(reader.fieldnames or ())
    need = {"timestamp", "value"} | ({"denominator"} if kind == "rate" else set())
    if not need <= fields:
        raise ValueError(f"the input needs the columns {sorted(need)}; it has {sorted(fields)}")
    for line, row in enumerate(reader, start=2):
        try:
            ts_ms = parse_timestamp(row["timestamp"])
            value = float(row["value"])
            den = float(row["denominator"]) if kind == "rate" else 1.0
        except (TimestampError, ValueError) as exc:
            raise ValueError(f"line {line}: {exc}") from exc
        yield row["timestamp"], ts_ms, value, den


def make_detectors(args: argparse.Namespace) -> list[Detector]:
    directions = ["drop", "spike"] if args.direction == "both" else [args.direction]
    shift = args.shift if args.shift is not None else (1.0 if args.kind == "level" else 0.3)
    threshold = (
        args.threshold if args.threshold is not None else (10.0 if args.kind == "level" else 9.0)
    )
    offset_ms = int(args.utc_offset_h * 3_600_000)
    return [
        Detector(
            DetectorSpec(f"detect_{d}", args.kind, d, shift, threshold),  # type: ignore[arg-type]
            SeasonalBaseline(args.fading, args.warmup, offset_ms),
        )
        for d in directions
    ]


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with args.input.open(newline="", encoding="utf-8") as fh:
            rows = sorted(read_rows(fh, args.kind), key=lambda r: r[1])
    except (OSError, ValueError) as exc:
        print(f"shoppulse detect: {exc}", file=sys.stderr)
        return 2
    detectors = make_detectors(args)
    with (
        args.output.open("w", newline="", encoding="utf-8") as out,
        Progress(disable=not sys.stderr.isatty()) as progress,
    ):
        task = progress.add_task("detect", total=len(rows))
        writer = csv.writer(out)
        writer.writerow(["timestamp", "value", "anomaly_score"])
        for i, (text, ts_ms, value, den) in enumerate(rows):
            score = max(d.update(ts_ms, value, den).score for d in detectors)
            writer.writerow(
                [text, repr(value) if value != int(value) else int(value), f"{score:.6f}"]
            )
            if i % 1000 == 0:
                progress.update(task, completed=i)
        progress.update(task, completed=len(rows))
    return 0
