"""``shoppulse demo``: broker, worker, API and simulator in one go; Ctrl-C stops them all.

Every part is the real one: an embedded Apache Kafka, the Faust worker, the
FastAPI server and the simulator, each in its own child process that dies with
this one (no orphans, even on ``kill -9`` of the demo).
"""

from __future__ import annotations

import argparse
import signal
import tempfile
import time
from pathlib import Path

from cli.broker import LocalKafka
from cli.processes import Child, shoppulse_command
from shoppulse.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stores", type=int, default=5, help="simulated stores (default: 5)")
    parser.add_argument(
        "--rate",
        type=float,
        default=200.0,
        help="simulated events/s over all stores (default: 200)",
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


def _wait(children: list[Child], stop: list[bool]) -> str | None:
    """Block until a signal asks to stop (None) or a child dies (its name)."""
    while not stop[0]:
        for child in children:
            if not child.alive():
                return child.name
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
        from shoppulse.topic_admin import ensure_topics

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
        if not args.no_simulator:
            sim = Child(
                "simulate",
                shoppulse_command(
                    "simulate",
                    "--stores",
                    str(args.stores),
                    "--rate",
                    str(args.rate),
                    "--seed",
                    str(args.seed),
                ),
                logs / "simulate.log",
                env,
            )
            children.append(sim)
            sim.start()
        url = f"http://127.0.0.1:{args.port}/"
        print(f"\nShopPulse is running. Dashboard: {url}", flush=True)
        print(f"API docs: {url}docs   Kafka: {broker.bootstrap}   Logs: {logs}", flush=True)
        print(f"Alert messages: {logs / 'dispatcher.log'}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        died = _wait(children, stop)
        if died is not None:
            print(f"{died} exited unexpectedly; see {logs / (died + '.log')}", flush=True)
            return 1
        return 0
    finally:
        print("Stopping...", flush=True)
        for child in reversed(children):
            child.stop()
        broker.stop()
        if tmp is not None:
            tmp.cleanup()
        print("Stopped.", flush=True)
