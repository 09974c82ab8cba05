"""``shoppulse detect``: score a ``timestamp,value`` CSV with the pipeline's detector code.

The input has a header with ``timestamp`` and ``value`` (and ``denominator`` for
``--kind rate``). A timestamp is an ISO 8601 / RFC 3339 date-time
(``2014-04-01 00:00:00``, ``2014-04-01T00:00:00.250``, ``2014-04-01T00:00:00+08:00``),
epoch seconds or epoch milliseconds. A date-time without an offset is read at
``--naive-offset`` (default UTC); one with an offset, and an epoch number, keep their own.
The output repeats each row's ``timestamp`` text exactly as given and its ``value`` (as a
plain number: ``3.50`` is written ``3.5``), and adds ``anomaly_score`` in [0, 1), higher
meaning more anomalous (0.5 is where the detector fires).

Rows are scored as a stream would see them: in input order, each scored before the
detector learns from it, and written in input order. The detector uses a row's time only
to find its hour-of-day slot, so a row earlier than a row before it (out of order) is
still scored where it stands, against its own hour of day, like any other row; the run
says on stderr how many such rows there were (sort the file first if that is not meant).
A bad row (a timestamp or number that does not parse, a missing field) stops the run
with exit status 2, naming the file, line and field, before any output is written.

After a level shift the detector fires; an alarm that holds ``--settle`` rows (default
120, the pipeline's two hours) takes the level the series holds as the new normal and
resolves, and ``--settle none`` (or 0) holds it until the series comes back. The detector
counts time in rows, one a minute in the pipeline: ``--settle``, the ``--warmup`` rows
each hour-of-day slot needs before a row is scored, and the recent offset a level series
follows (``shoppulse.detectors.OFFSET_TIME_CONSTANT_MIN`` rows). With hourly rows the
defaults mean five days to settle and thirty days before the first score. A count or
level series with one row a day at the same time of day is never scored (a row is judged
between the two hour-of-day slots nearest it, and one of them never fills): every score
is 0, and the run says so on stderr whenever no row was scored.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from collections.abc import Iterator
from datetime import UTC, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from rich.progress import Progress

from shoppulse.detectors import OFFSET_TIME_CONSTANT_MIN, Detector, DetectorSpec
from shoppulse.seasonal import SeasonalBaseline
from shoppulse.timeutil import TimestampError, parse_ts_ms

#: Epoch values below this are seconds, not milliseconds (this is 2001-09-09 in ms).
_SECONDS_BELOW = 10**12
_OFFSET = re.compile(r"(?P<sign>[+-])(?P<h>\d{2})(?::?(?P<m>\d{2}))?")
_FORMATS = (
    "expected ISO 8601 such as 2014-04-01 00:00:00 or 2014-04-01T00:00:00+08:00, "
    "epoch seconds or epoch milliseconds"
)
_MISSING = "missing (the row has fewer fields than the header)"
#: Rows an alarm holds before the detector takes the held level as the new normal: the
#: pipeline's default (one row a minute there); 0 would be never.
SETTLE_ROWS: int = DetectorSpec("detect", "level", "drop", 1.0, 10.0).settle_minutes or 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``shoppulse detect``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    offset_rows, settle_days = f"{OFFSET_TIME_CONSTANT_MIN:g}", f"{SETTLE_ROWS / 24:g}"
    parser.epilog = (
        "timestamps: ISO 8601 / RFC 3339 (2014-04-01 00:00:00, 2014-04-01T00:00:00.250,\n"
        "  2014-04-01T00:00:00+08:00), epoch seconds or epoch milliseconds; the output\n"
        "  repeats each timestamp exactly as given.\n"
        "order: rows are scored and written in input order, each before the detector\n"
        "  learns from it, as a stream would see them; a row earlier than a row before it\n"
        "  is scored in place against its own hour of day, and the run says how many\n"
        "  there were on stderr.\n"
        "errors: a bad row stops the run (exit status 2) naming the file, line and field.\n"
        "adapting: after a level shift the detector fires; an alarm that holds --settle rows\n"
        "  takes the level the series holds as the new normal and resolves, instead of\n"
        "  firing for the rest of the series.\n"
        "cadence: the detector counts rows (one a minute in the pipeline): --settle, --warmup\n"
        f"  and the recent offset a level series follows (about its last {offset_rows} rows).\n"
        f"  With hourly rows the defaults are {settle_days} days to settle and 30 days before the\n"
        "  first score; count or level rows once a day at the same time are never scored\n"
        "  (the run says so)."
    )
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
        help="rows each of the two hour-of-day slots nearest a row must hold before the row "
        "is scored; until then it scores 0 (default 30: about a day of minute rows, 30 days "
        "of hourly rows)",
    )
    parser.add_argument(
        "--settle",
        type=parse_settle,
        default=SETTLE_ROWS or None,
        metavar="ROWS",
        help="rows an alarm holds before the detector takes the level the series holds as "
        f"the new normal and resolves (default {SETTLE_ROWS}: {SETTLE_ROWS / 60:g} hours of minute "
        f"rows, {settle_days} days of hourly rows); 0 or none: an alarm holds until the series "
        "comes back",
    )
    parser.add_argument(
        "--fading",
        type=float,
        default=0.005,
        help="baseline fading factor per observation of a slot (default 0.005, the "
        "pipeline's: a slot remembers about 200 of its rows)",
    )
    parser.add_argument(
        "--utc-offset-h",
        type=float,
        default=0.0,
        help="the series' local time offset in hours, only to place the hour-of-day slots "
        "of the daily profile (default 0); it does not change how timestamps are read",
    )
    parser.add_argument(
        "--naive-offset",
        type=parse_offset,
        default=UTC,
        metavar="+HH:MM",
        help="the UTC offset of timestamps written without one, e.g. 2014-04-01 00:00:00 "
        "(default Z, UTC); a negative one as --naive-offset=-05:00. Timestamps with an "
        "offset and epoch numbers are not affected",
    )


def parse_settle(text: str) -> int | None:
    """Rows an alarm holds before it takes the new level; None (``none`` or 0): never
    (an argparse type).

    >>> [parse_settle(t) for t in ("120", "1", "0", "none", "None")]
    [120, 1, None, None, None]
    """
    if text.strip().lower() == "none":
        return None
    try:
        rows = int(text)
    except ValueError:
        rows = -1
    if rows < 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of rows; use a whole number (0 or none: never settle)"
        )
    return rows or None


def parse_offset(text: str) -> timezone:
    """A fixed UTC offset: ``Z``, ``±HH:MM``, ``±HHMM`` or ``±HH`` (an argparse type).

    >>> [str(parse_offset(t)) for t in ("+08:00", "-0530", "+08", "Z")]
    ['UTC+08:00', 'UTC-05:30', 'UTC+08:00', 'UTC']
    """
    if text in ("Z", "z"):
        return UTC
    match = _OFFSET.fullmatch(text)
    if match is None or int(match["h"]) > 23 or int(match["m"] or 0) > 59:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a UTC offset; use Z or +HH:MM / -HH:MM, e.g. +08:00 or "
            "--naive-offset=-05:00"
        )
    minutes = int(match["h"]) * 60 + int(match["m"] or 0)
    return timezone(timedelta(minutes=-minutes if match["sign"] == "-" else minutes))


def parse_timestamp(text: str, naive_tz: tzinfo = UTC) -> int:
    """An ISO 8601 / RFC 3339 date-time (one without an offset at ``naive_tz``), epoch
    seconds or epoch milliseconds, as epoch milliseconds.

    >>> parse_timestamp("2014-04-01 00:00:00"), parse_timestamp("1396310400")
    (1396310400000, 1396310400000)
    """
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        return parse_ts_ms(text, naive_tz=naive_tz)
    if not math.isfinite(number):
        raise TimestampError(f"{text!r} is not a finite number")
    return int(number * 1000) if abs(number) < _SECONDS_BELOW else int(number)


class Row(NamedTuple):
    line: int
    """The line of the input the row ends on (1 is the header)."""
    text: str
    """The timestamp exactly as given."""
    ts_ms: int
    value: float
    denominator: float


def _number(row: dict[str | Any, str | Any], field: str) -> float:
    text = row.get(field)
    if text is None:
        raise ValueError(_MISSING)
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a finite number")
    return number


def read_rows(fh: TextIO, kind: str, naive_tz: tzinfo = UTC, name: str = "input") -> Iterator[Row]:
    """The rows of ``fh`` in input order; a bad one raises ValueError naming ``name``,
    the line and the field."""
    reader = csv.DictReader(fh)
    fields = set(reader.fieldnames or ())
    need = {"timestamp", "value"} | ({"denominator"} if kind == "rate" else set())
    if not need <= fields:
        raise ValueError(
            f"{name}: the input needs the columns {sorted(need)}; it has {sorted(fields)}"
        )
    for row in reader:
        field = "timestamp"
        try:
            text = row.get("timestamp")
            if text is None:
                raise ValueError(_MISSING)
            try:
                ts_ms = parse_timestamp(text, naive_tz)
            except TimestampError as exc:
                raise ValueError(f"{exc} ({_FORMATS})") from exc
            field = "value"
            value = _number(row, field)
            field = "denominator"
            den = _number(row, field) if kind == "rate" else 1.0
        except ValueError as exc:
            raise ValueError(f"{name}, line {reader.line_num}, {field}: {exc}") from exc
        yield Row(reader.line_num, text, ts_ms, value, den)


def out_of_order(rows: list[Row]) -> tuple[int, int | None]:
    """How many rows are earlier than a row before them, and the line of the first."""
    count, first, latest = 0, None, None
    for row in rows:
        if latest is not None and row.ts_ms < latest:
            count += 1
            first = row.line if first is None else first
        else:
            latest = row.ts_ms
    return count, first


def make_detectors(args: argparse.Namespace) -> list[Detector]:
    directions = ["drop", "spike"] if args.direction == "both" else [args.direction]
    shift = args.shift if args.shift is not None else (1.0 if args.kind == "level" else 0.3)
    threshold = (
        args.threshold if args.threshold is not None else (10.0 if args.kind == "level" else 9.0)
    )
    offset_ms = int(args.utc_offset_h * 3_600_000)
    return [
        Detector(
            DetectorSpec(
                f"detect_{d}",
                args.kind,
                d,  # type: ignore[arg-type]
                shift,
                threshold,
                settle_minutes=args.settle,
            ),
            SeasonalBaseline(args.fading, args.warmup, offset_ms),
        )
        for d in directions
    ]


def run(args: argparse.Namespace, settings: None) -> int:
    try:
        with args.input.open(newline="", encoding="utf-8") as fh:
            rows = list(read_rows(fh, args.kind, args.naive_offset, str(args.input)))
    except (OSError, ValueError) as exc:
        print(f"shoppulse detect: {exc}", file=sys.stderr)
        return 2
    late, first_late = out_of_order(rows)
    if late:
        print(
            f"shoppulse detect: {args.input}: {late} {'row is' if late == 1 else 'rows are'} "
            f"earlier than a row before it (the first on line {first_late}); scored in "
            "input order, each against its own hour of day",
            file=sys.stderr,
        )
    detectors = make_detectors(args)
    with (
        args.output.open("w", newline="", encoding="utf-8") as out,
        Progress(disable=not sys.stderr.isatty()) as progress,
    ):
        task = progress.add_task("detect", total=len(rows))
        writer = csv.writer(out)
        writer.writerow(["timestamp", "value", "anomaly_score"])
        scored = 0
        for i, (_, text, ts_ms, value, den) in enumerate(rows):
            # With both directions, neither learns while the other fires: a dip must not
            # become the spike detector's normal (as traffic_drop/traffic_spike, ADR 19).
            firing = [d.firing for d in detectors]
            outputs = [
                d.update(
                    ts_ms, value, den, learn=not any(f for j, f in enumerate(firing) if j != k)
                )
                for k, d in enumerate(detectors)
            ]
            scored += any(o.warm for o in outputs)
            score = max(o.score for o in outputs)
            writer.writerow(
                [text, repr(value) if value != int(value) else int(value), f"{score:.6f}"]
            )
            if i % 1000 == 0:
                progress.update(task, completed=i)
        progress.update(task, completed=len(rows))
    if rows and not scored:
        print(
            f"shoppulse detect: {args.input}: no row was scored (every anomaly_score is 0): a "
            f"row is scored once the two hour-of-day slots nearest it hold --warmup "
            f"{args.warmup} rows each; rows once a day at the same time never fill one of them",
            file=sys.stderr,
        )
    return 0
