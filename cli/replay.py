"""``shoppulse replay``: produce recorded history (JSONL or a CSV export) to Kafka.

Input:

* JSONL, one ``{"topic", "key", "value"}`` envelope a line (what ``shoppulse simulate
  --jsonl`` writes), or one bare event a line of the topic given with ``--topic``;
* CSV with ``--mapping FILE``: a YAML column mapping (:mod:`shoppulse.column_mapping`,
  documented in ``docs/replay.md``, examples in ``docs/mappings/``).

Every file is read whole and every event is validated with the worker's own validation
(:func:`shoppulse.events.decode_event`) before anything is sent; then the events are sorted
oldest first (ties keep file order), so each store's history reaches the worker in event-time
order, and produced with kafka-python (key = store id, ``acks=all``), as fast as possible or
``--speed N`` event-time seconds per wall second.

Bad rows are reported (file, line, field, why) and skipped, and counted by reason in the
summary; with ``--strict`` the first bad row stops the replay before anything is produced.
Exit codes: 0 sent (rows may have been skipped: see the summary), 1 Kafka delivery errors,
2 bad options, an unreadable file or mapping, or a bad row under ``--strict``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from cli.progress import production_progress
from cli.simulate import Pacer
from kafka_io.config import kafka_python_config
from shoppulse import topics
from shoppulse.column_mapping import load_mapping
from shoppulse.row_conversion import (
    Conversion,
    ReplayEvent,
    RowError,
    convert_csv,
    convert_jsonl,
    sort_for_replay,
)
from shoppulse.settings import ReplaySettings
from shoppulse.timeutil import format_ts_ms

log = logging.getLogger("shoppulse.replay")

#: Bad rows logged one by one; the rest only count in the summary.
MAX_LISTED_ERRORS = 20
_MAX_SLEEP_S = 0.25
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``shoppulse replay``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "input:\n"
        "  FILE.jsonl            {topic, key, value} a line (shoppulse simulate --jsonl)\n"
        "  FILE.jsonl --topic T  one bare event a line, of topic T (shop.orders, ...)\n"
        "  FILE.csv --mapping M  rows turned into events by the YAML mapping M\n"
        "                        (docs/replay.md; examples in docs/mappings/)\n"
        "Files are read whole, validated, sorted oldest first and then produced.\n"
        "Bad rows are reported (file:line: field: why) and skipped; --strict stops at the\n"
        "first one and sends nothing.\n"
        "history: events older than SHOPPULSE_API_HISTORY_MINUTES (8 days + 1 h) are counted\n"
        "by the worker but not served by the API; with --speed, keep a minute of event time\n"
        "shorter than the worker's idle_close_s (speed >= 60 / idle_close_s), ADR 17.\n"
        "example: shoppulse replay export.csv --mapping docs/mappings/order-export.yaml"
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="JSONL or CSV files")
    parser.add_argument(
        "--mapping", default=None, metavar="YAML", help="column mapping for CSV files"
    )
    parser.add_argument(
        "--format",
        choices=("auto", "jsonl", "csv"),
        default="auto",
        help="input format (default: auto, from the file name: .csv or .jsonl/.ndjson/.json)",
    )
    parser.add_argument(
        "--topic",
        default=None,
        choices=topics.SOURCE_TOPICS,
        help="JSONL of bare events of this topic (default: {topic, key, value} envelopes)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=0.0,
        metavar="N",
        help="event-time seconds per wall second; 0 = as fast as possible (default)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="stop at the first bad row; nothing is sent"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="read, map and validate only; send nothing"
    )
    parser.add_argument("--linger-ms", type=int, default=20, help="producer linger (default: 20)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def file_format(path: Path, requested: str) -> str:
    """``csv`` or ``jsonl`` for a file.

    >>> file_format(Path("a.CSV"), "auto"), file_format(Path("a.ndjson"), "auto")
    ('csv', 'jsonl')
    >>> file_format(Path("a.txt"), "jsonl")
    'jsonl'
    """
    if requested != "auto":
        return requested
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in _JSONL_SUFFIXES:
        return "jsonl"
    raise ValueError(f"{path}: cannot tell the format from the name; give --format")


def read_inputs(args: argparse.Namespace) -> tuple[list[ReplayEvent], list[RowError], int, int]:
    """Every event of every file (validated, not yet sorted), the bad rows, rows read and
    rows skipped. Raises ``ValueError`` (incl. :class:`MappingError`) for unusable input."""
    paths = [Path(f) for f in args.files]
    formats = [file_format(p, args.format) for p in paths]
    mapping = None
    if "csv" in formats:
        if args.mapping is None:
            raise ValueError("CSV input needs --mapping (see docs/replay.md)")
        mapping = load_mapping(Path(args.mapping).read_text(encoding="utf-8"), args.mapping)
    if args.topic is not None and "jsonl" not in formats:
        raise ValueError("--topic is for JSONL input")
    events: list[ReplayEvent] = []
    errors: list[RowError] = []
    rows = skipped = 0
    for path, fmt in zip(paths, formats, strict=True):
        with open(path, encoding="utf-8-sig", newline="") as fh:
            conv: Conversion
            if fmt == "csv":
                assert mapping is not None
                conv = convert_csv(mapping, fh, str(path))
                if conv.errors and conv.errors[0].field == "header":
                    raise ValueError(conv.errors[0].text())
            else:
                conv = convert_jsonl(fh, str(path), topic=args.topic)
        events.extend(conv.events)
        errors.extend(conv.errors)
        rows, skipped = rows + conv.rows, skipped + conv.skipped
    return events, errors, rows, skipped


def summary_lines(
    sent: int, per_topic: dict[str, int], rows: int, skipped: int, errors: list[RowError]
) -> list[str]:
    """The human summary printed at the end.

    >>> summary_lines(3, {"shop.clicks": 3}, 4, 0, [RowError("a.csv", 2, "time", "x", "time: bad")])
    ['replay: 3 events sent (shop.clicks 3) from 4 rows; 0 rows skipped by the mapping', \
'  1 rows rejected:', '    1  time: bad']
    """
    topics_text = ", ".join(f"{t} {n}" for t, n in sorted(per_topic.items()))
    lines = [
        f"replay: {sent} events sent ({topics_text or 'none'}) from {rows} rows; "
        f"{skipped} rows skipped by the mapping"
    ]
    if errors:
        bad_rows = len({(e.source, e.line) for e in errors})
        lines.append(f"  {bad_rows} rows rejected:")
        for reason, n in Counter(e.reason for e in errors).most_common():
            lines.append(f"    {n}  {reason}")
    return lines


def run(args: argparse.Namespace, settings: ReplaySettings) -> int:
    """Replay files to Kafka; 0 on success, 1 on delivery errors, 2 on bad input."""
    try:
        if args.speed < 0:
            raise ValueError("--speed must be >= 0")
        events, errors, rows, skipped = read_inputs(args)
    except (OSError, ValueError) as exc:
        log.error("replay: bad input", extra={"error": str(exc)})
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    for err in errors[:MAX_LISTED_ERRORS]:
        log.warning("replay: bad row skipped", extra={"error": err.text()})
    if len(errors) > MAX_LISTED_ERRORS:
        log.warning("replay: more bad rows", extra={"not_listed": len(errors) - MAX_LISTED_ERRORS})
    if errors and args.strict:
        print(f"replay: {errors[0].text()}", file=sys.stderr)
        print("replay: --strict: nothing was sent", file=sys.stderr)
        return 2
    events = sort_for_replay(events)
    _warn_about_history(events, args.speed, settings)
    if args.dry_run:
        valid = dict(Counter(e.family for e in events))
        for line in summary_lines(len(events), valid, rows, skipped, errors):
            print(line.replace(" sent ", " valid, none sent (dry run) "), file=sys.stderr)
        return 0

    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    failures: list[str] = []
    lock = threading.Lock()

    def on_error(exc: BaseException) -> None:
        with lock:
            failures.append(repr(exc))

    sent = 0
    per_topic: dict[str, int] = {}
    wall0 = time.monotonic()
    interrupted = False
    log.info(
        "replay started",
        extra={
            "files": args.files,
            "events": len(events),
            "speed": args.speed,
            "event_time_start": format_ts_ms(events[0].ts_ms) if events else None,
            "event_time_end": format_ts_ms(events[-1].ts_ms) if events else None,
            "bootstrap": settings.kafka_bootstrap_servers,
            "topic_namespace": settings.topic_namespace,
        },
    )
    try:
        with ExitStack() as stack:
            producer = KafkaProducer(
                **kafka_python_config(settings), acks="all", linger_ms=args.linger_ms
            )
            stack.callback(producer.close, 10)
            progress = stack.enter_context(
                production_progress("replay", enabled=not args.no_progress, known_total=True)
            )
            task = progress.add_task("replay", total=len(events), rate="", event_time="")
            pacer = Pacer(events[0].ts_ms, args.speed) if args.speed > 0 and events else None
            names: dict[str, str] = {f: settings.topic(f) for f in topics.SOURCE_TOPICS}
            next_update = wall0
            try:
                for ev in events:
                    if pacer is not None:
                        _wait(pacer, ev.ts_ms)
                    producer.send(
                        names[ev.family], key=ev.store_id.encode(), value=ev.value
                    ).add_errback(on_error)
                    sent += 1
                    per_topic[ev.family] = per_topic.get(ev.family, 0) + 1
                    now = time.monotonic()
                    if now >= next_update:
                        next_update = now + 0.2
                        progress.update(
                            task,
                            completed=sent,
                            rate=f"{sent / max(now - wall0, 1e-9):,.0f}/s",
                            event_time=format_ts_ms(ev.ts_ms)[:19] + "Z",
                        )
            except KeyboardInterrupt:
                interrupted = True
            progress.update(task, completed=sent)
            producer.flush(timeout=60)
    except KafkaError as exc:
        log.error("replay: kafka error", extra={"error": repr(exc), "sent": sent})
        return 1
    elapsed = time.monotonic() - wall0
    log.info(
        "replay finished",
        extra={
            "sent": sent,
            "failed": len(failures),
            "per_topic": per_topic,
            "rows": rows,
            "rows_skipped": skipped,
            "rows_rejected": len({(e.source, e.line) for e in errors}),
            "rejected_by_reason": dict(Counter(e.reason for e in errors)),
            "seconds": round(elapsed, 3),
            "events_per_s": round(sent / max(elapsed, 1e-9), 1),
            "interrupted": interrupted,
        },
    )
    for line in summary_lines(sent, per_topic, rows, skipped, errors):
        print(line, file=sys.stderr)
    if failures:
        log.error(
            "replay: some events were not delivered",
            extra={"failed": len(failures), "first_error": failures[0]},
        )
        return 1
    return 130 if interrupted else 0


def _warn_about_history(events: list[ReplayEvent], speed: float, settings: ReplaySettings) -> None:
    """ADR 17 (paced history closes quiet stores' minutes) and ADR 18 (history older than the
    API's window is counted, not served)."""
    if speed > 0 and 60.0 / speed > settings.idle_close_s:
        log.warning(
            "replay: a minute of event time will last longer than the worker's idle_close_s: "
            "a store silent that long mid-minute has the minute closed and its later events "
            "dead-lettered as late (ADR 17); use --speed 0 or at least 60 / idle_close_s",
            extra={"speed": speed, "idle_close_s": settings.idle_close_s},
        )
    if not events:
        return
    cutoff_ms = int(time.time() * 1000) - settings.api_history_minutes * 60_000
    older = sum(1 for e in events if e.ts_ms < cutoff_ms)
    if older:
        log.warning(
            "replay: events older than the API's history window are counted by the worker "
            "but not served by the API (SHOPPULSE_API_HISTORY_MINUTES, ADR 18)",
            extra={
                "events_before_history": older,
                "history_start": format_ts_ms(cutoff_ms),
                "api_history_minutes": settings.api_history_minutes,
            },
        )


def _wait(pacer: Pacer, ts_ms: int) -> None:
    while True:
        delay = pacer.delay_s(ts_ms)
        if delay <= 0:
            return
        time.sleep(min(delay, _MAX_SLEEP_S))
