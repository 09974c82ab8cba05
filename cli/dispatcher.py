"""``shoppulse dispatcher``: deliver alert state changes to their receivers until SIGINT/SIGTERM.

``shoppulse dispatcher --check FILE`` validates a receivers file (and that the environment
variables it names are set) and exits: ``OK: N receivers, M routes``, or one error a line
(``FILE:line N: path: message``) on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from shoppulse.settings import DispatcherSettings

log = logging.getLogger("shoppulse.dispatcher")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        type=Path,
        metavar="FILE",
        default=None,
        help="validate a receivers YAML file and exit (see alerts/receivers.example.yaml)",
    )


def run(args: argparse.Namespace, settings: DispatcherSettings) -> int:
    from alerts.receivers import (
        DEFAULT_RECEIVERS,
        DispatcherConfig,
        ReceiversError,
        load_receivers,
    )

    path: Path | None = args.check or settings.receivers_file
    try:
        text = DEFAULT_RECEIVERS if path is None else path.read_text(encoding="utf-8")
        config: DispatcherConfig = load_receivers(text)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 1
    except ReceiversError as exc:
        for line in exc.errors:
            print(f"{path}:{line}", file=sys.stderr)
        return 1
    if args.check is not None:
        print(f"OK: {len(config.receivers)} receivers, {len(config.routes)} routes")
        return 0
    return asyncio.run(_serve(settings, config))


async def _serve(settings: DispatcherSettings, config: object) -> int:
    from prometheus_client import CollectorRegistry, start_http_server

    from alerts.dispatcher import Dispatcher
    from alerts.receivers import DispatcherConfig
    from kafka_io.admin import ensure_topics

    assert isinstance(config, DispatcherConfig)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    await asyncio.to_thread(ensure_topics, settings)
    registry = CollectorRegistry()
    if settings.dispatcher_metrics_port:
        start_http_server(
            settings.dispatcher_metrics_port,
            addr=settings.dispatcher_metrics_host,
            registry=registry,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "starting dispatcher",
        extra={
            "receivers": [r.name for r in config.receivers],
            "topic": settings.topic("shoppulse.alerts"),
            "group": settings.dispatcher_group_id,
        },
    )
    await Dispatcher(settings, config, registry=registry).run(stop)
    return 0
