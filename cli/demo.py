"""``shoppulse demo``: broker, worker, API and simulator in one go; Ctrl-C stops them all.

Every part is the real one: an embedded Apache Kafka, the Faust worker, the
FastAPI server and the simulator, each in its own child process that dies with
this one (no orphans, even on ``kill -9`` of the demo).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from cli.broker import LocalKafka
from cli.demo_script import QUIET_RATE, DemoTraffic, clock, plan
from cli.processes import Child, shoppulse_command
from shoppulse.settings import Settings
from shoppulse.timeutil import TimestampError, format_ts_ms, parse_ts_ms
from simulator.simulation import parse_duration_ms


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stores", type=int, default=3, help="simulated stores (default: 3)")
    parser.add_argument(
        "--rate",
        type=float,
        default=5.0,
        help="events/s of the busy store when the demo starts (default: 5; its daily mean "
        "follows the daily curve; the others 0.4 a daily mean)",
    )
    parser.add_argument(
        "--history-days",
        type=float,
        default=8.0,
        help="backfilled history: 7 or more (default 8) is the two hours around this time last "
        "week and the last 25 hours; less is that many days straight (0: none)",
    )
    parser.add_argument(
        "--full-history",
        action="store_true",
        help="backfill every day of --history-days straight (a week is about 6 times the "
        "events of the default history, and takes as much longer)",
    )
    parser.add_argument(
        "--incident-after",
        default="1m",
        help="the checkout outage starts this long after the live run (default: 1m; 0: none)",
    )
    parser.add_argument(
        "--incident-for", default="4m", help="how long the checkout outage lasts (default: 4m)"
    )
    parser.add_argument("--seed", type=int, default=1, help="simulator seed")
    parser.add_argument("--port", type=int, default=8000, help="API port on 127.0.0.1")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep broker data and logs here (default: a temporary directory)",
    )
    parser.add_argument(
        "--no-simulator",
        action="store_true",
        help="start broker, worker and API only (bring your own events)",
    )


RESOLVES_AFTER_MS = 4 * 60_000
"""About when a checkout outage's alert resolves after the outage ends: payments lag up to 3
minutes, the detector resolves on the first minute whose paid orders are back (1-3 minutes
after the end at every hour of the day, the demo's traffic run through the detectors), and
the minute is final a few seconds after it ends; the rule holds no flap window."""
BACKFILL_TIMEOUT_S = 600.0


def _start_traffic(args: argparse.Namespace, settings: Settings) -> DemoTraffic:
    now_ms = int(time.time() * 1000)
    the_plan = plan(
        now_ms,
        args.stores,
        args.seed,
        args.history_days,
        args.rate,
        min(args.rate, QUIET_RATE),
        straight=args.full_history,
    )
    after = parse_duration_ms(args.incident_after.removeprefix("+"))
    traffic = DemoTraffic(
        settings,
        the_plan,
        args.seed,
        incident_after_ms=after if after > 0 else None,
        incident_for_ms=parse_duration_ms(args.incident_for),
    )
    hours = the_plan.history_ms / 3_600_000
    if hours > 0:
        print(
            f"Backfilling {hours:.0f} h of history for {args.stores} stores "
            f"({format_ts_ms(the_plan.start_ms)[:16]}Z to now"
            + (", silent between last week and yesterday" if the_plan.gaps else "")
            + "), so that the detectors and the comparisons with yesterday"
            + (" and last week" if the_plan.gaps else "")
            + " work from the start...",
            flush=True,
        )
    traffic.start()
    return traffic


def _counted_until(url: str) -> int | None:
    """The oldest newest minute of the stores the API knows (None: none yet)."""
    try:
        stores = httpx.get(f"{url}api/v1/stores", timeout=5).json()["stores"]
    except (httpx.HTTPError, ValueError, KeyError):
        return None
    marks = [s.get("latest_window_start_ms") for s in stores]
    if not marks or None in marks:
        return None
    return min(int(m) for m in marks)


def _backfill(traffic: DemoTraffic, url: str, stop: list[bool]) -> bool:
    """Show the history being produced and counted; True once the worker has closed the
    minutes up to about where the live run started."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    logging.getLogger("httpx").setLevel(logging.WARNING)
    # The producer thread shares the GIL with the simulation: its selector's "blocked the
    # event loop" warnings say nothing to a demo's user.
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)
    the_plan = traffic.plan
    total = max(the_plan.history_ms, 1)
    wall0 = time.monotonic()
    counted_s: float | None = None
    with Progress(
        TextColumn("{task.description:<9}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
    ) as progress:
        produced = progress.add_task("produced", total=total, note="")
        counted = progress.add_task("counted", total=total, note="")
        while not stop[0] and time.monotonic() - wall0 < BACKFILL_TIMEOUT_S:
            if traffic.error is not None or not traffic.alive():
                return False
            done = the_plan.covered_ms(traffic.last_ts_ms) if traffic.last_ts_ms else 0
            progress.update(produced, completed=done, note=f"{traffic.sent:,} events")
            closed = _counted_until(url)
            progress.update(
                counted,
                completed=the_plan.covered_ms(closed) if closed else 0,
                note="by the worker" + (f", at {format_ts_ms(closed)[:16]}Z" if closed else ""),
            )
            live = traffic.live_since_ms
            if live is not None and (
                the_plan.history_ms == 0 or (closed and closed >= live - 120_000)
            ):
                progress.update(counted, completed=total)
                counted_s = time.monotonic() - wall0
                break
            time.sleep(0.5)
    if counted_s is None:
        return False
    print(
        f"History: {traffic.history_sent:,} events produced in "
        f"{traffic.history_wall_s or 0:.1f} s, "
        f"counted by the worker in {counted_s:.1f} s; live from now on.",
        flush=True,
    )
    return True


def _alert_lines(path: Path, offset: int, since_ms: int) -> tuple[list[str], int]:
    """The alert messages the dispatcher's console receiver logged after ``offset``, of alerts
    that began at or after ``since_ms`` (the history's own alerts are left in the log), each
    as its first line and its details."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return [], offset
    end = data.rfind(b"\n") + 1
    out = []
    for raw in data[:end].splitlines():
        try:
            rec = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(rec, dict) or rec.get("logger") != "shoppulse.alerts.console":
            continue
        lines = str(rec.get("msg", "")).splitlines()
        since = next((ln.removeprefix("Since: ") for ln in lines if ln.startswith("Since: ")), "")
        with contextlib.suppress(TimestampError):  # a line without a readable time is shown
            if since and parse_ts_ms(since.split()[0]) < since_ms:
                continue
        details = [ln for ln in lines[1:] if ln.startswith(("Details: ", "Resolved: "))]
        out.append("  ".join(lines[:1] + details))
    return out, offset + end


def _wait(
    children: list[Child], stop: list[bool], traffic: list[DemoTraffic], alerts_log: Path
) -> str | None:
    """Block until a signal asks to stop (None) or a child dies (its name); print the
    dispatcher's alert messages meanwhile."""
    offset = 0
    since_ms = min((t.live_since_ms or 0 for t in traffic), default=0) - 5 * 60_000
    while not stop[0]:
        for child in children:
            if not child.alive():
                return child.name
        for t in traffic:
            if not t.alive() and not t.stop.is_set():
                return "simulator"
        lines, offset = _alert_lines(alerts_log, offset, since_ms)
        for line in lines:
            print(f"[{time.strftime('%H:%M:%S')}] alert: {line}", flush=True)
        time.sleep(0.3)
    return None


def run(args: argparse.Namespace, settings: Settings) -> int:
    stop = [False]

    def _on_signal(_signum: int, _frame: object) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    tmp = None
    if args.data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="shoppulse-demo-")
        data_dir = Path(tmp.name)
    else:
        data_dir = args.data_dir
    logs = data_dir / "logs"
    broker = LocalKafka(data_dir=data_dir / "kafka", partitions=settings.topic_partitions)
    children: list[Child] = []
    running: list[DemoTraffic] = []
    try:
        print("Starting Kafka (the first run fetches its jars with Maven)...", flush=True)
        broker.start()
        broker.wait_ready(timeout_s=120)
        settings = settings.model_copy(
            update={
                "kafka_bootstrap_servers": broker.bootstrap,
                "worker_data_dir": data_dir / "worker",
                "api_host": "127.0.0.1",
                "api_port": args.port,
                "dashboard_url": f"http://127.0.0.1:{args.port}/",
            }
        )
        from kafka_io.admin import ensure_topics

        ensure_topics(settings)
        env = settings.to_env()
        worker = Child("worker", shoppulse_command("worker"), logs / "worker.log", env)
        api = Child("api", shoppulse_command("api"), logs / "api.log", env)
        dispatcher = Child(
            "dispatcher", shoppulse_command("dispatcher"), logs / "dispatcher.log", env
        )
        children += [worker, api, dispatcher]
        print("Starting the worker, the API and the alert dispatcher...", flush=True)
        worker.start()
        api.start()
        dispatcher.start()
        worker.wait_for("Worker]: Ready", 120)
        api.wait_for("Application startup complete", 60)
        dispatcher.wait_for("dispatcher ready", 60)
        url = f"http://127.0.0.1:{args.port}/"
        if not args.no_simulator:
            traffic = _start_traffic(args, settings)
            running.append(traffic)
            if not _backfill(traffic, url, stop):
                if stop[0]:
                    return 0
                print(f"the backfill failed: {traffic.error or 'the worker fell behind'}")
                return 1
        print(f"\nShopPulse is running. Dashboard: {url}", flush=True)
        print(f"API docs: {url}docs   Kafka: {broker.bootstrap}   Logs: {logs}", flush=True)
        print(f"Alert messages: {logs / 'dispatcher.log'} (and below)", flush=True)
        if running and running[0].incident is not None:
            inc = running[0].incident
            print(
                f"\nWatch: at {clock(inc.start_ms)} {inc.store_id}'s checkouts stop turning into "
                f"paid orders for {(inc.end_ms - inc.start_ms) // 60_000} min. Within a few "
                "minutes the wall's ticker shows a critical 'checkout_outage' alert and the "
                f"dispatcher prints its message here; it resolves by about "
                f"{clock(inc.end_ms + RESOLVES_AFTER_MS)}.",
                flush=True,
            )
        print("Press Ctrl-C to stop.", flush=True)
        died = _wait(children, stop, running, logs / "dispatcher.log")
        if died is not None:
            print(f"{died} exited unexpectedly; see {logs / (died + '.log')}", flush=True)
            return 1
        return 0
    finally:
        print("Stopping...", flush=True)
        for traffic in running:
            traffic.close()
        for child in reversed(children):
            child.stop()
        broker.stop()
        if tmp is not None:
            tmp.cleanup()
        print("Stopped.", flush=True)
