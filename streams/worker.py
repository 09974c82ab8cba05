"""``shoppulse worker``: run the Faust worker until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from shoppulse.logfmt import logging_dict_config
from shoppulse.settings import WorkerSettings
from streams.local_state import mark_clean_shutdown, prepare_local_tables

log = logging.getLogger("shoppulse.worker")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The worker is configured by SHOPPULSE_* settings; it has no options of its own."""


def run(args: argparse.Namespace, settings: WorkerSettings) -> int:
    import faust
    from prometheus_client import (
        CollectorRegistry,
        GCCollector,
        PlatformCollector,
        ProcessCollector,
        start_http_server,
    )

    from kafka_io.admin import ensure_changelog_topics, ensure_topics
    from streams.app import create_app

    settings.worker_data_dir.mkdir(parents=True, exist_ok=True)
    ensure_topics(settings)
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)  # process_* (CPU, memory, file descriptors)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    if settings.worker_metrics_port:
        # One port per worker process (prometheus-client's multiprocess mode is not used).
        start_http_server(
            settings.worker_metrics_port, addr=settings.worker_metrics_host, registry=registry
        )
    app = create_app(settings, registry)
    ensure_changelog_topics(
        settings, [table.changelog_topic.get_topic_name() for table in app.tables.values()]
    )
    persistent = not settings.worker_store.startswith("memory:")
    tabledir = Path(app.conf.tabledir)
    if persistent:
        outcome = prepare_local_tables(tabledir)
        log.info("local tables %s", outcome, extra={"tabledir": str(tabledir)})
    worker = faust.Worker(
        app,
        loglevel=args.log_level,
        logging_config=logging_dict_config(args.log_level),
        quiet=True,
        redirect_stdouts=False,
    )
    try:
        worker.execute_from_commandline()  # exits the process when the worker stops
    except SystemExit as stopped:
        if persistent and stopped.code in (0, None):
            mark_clean_shutdown(tabledir)
        raise
    return 0
