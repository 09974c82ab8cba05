"""The ``shoppulse`` command: one entry point, one subcommand per component.

Each subcommand module offers ``add_arguments(parser)`` and
``run(args, settings) -> int``; heavy imports (Faust, uvicorn) happen inside
``run``, so ``shoppulse --help`` stays fast. Each subcommand reads the settings model
of its process (:mod:`shoppulse.settings`), and its ``--help`` lists those variables.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from shoppulse.logfmt import configure_logging
from shoppulse.settings import (
    ApiSettings,
    DetectionSettings,
    DispatcherSettings,
    KafkaSettings,
    ProducerSettings,
    ReplaySettings,
    Settings,
    ShopPulseSettings,
    WorkerSettings,
    env_help,
)

NO_SETTINGS = "settings: none (this command reads no SHOPPULSE_* variables)"

#: name → (module, one-line help, the settings model it reads or None)
SUBCOMMANDS: dict[str, tuple[str, str, type[ShopPulseSettings] | None]] = {
    "demo": (
        "cli.demo",
        "run everything on an embedded broker and print the dashboard URL",
        Settings,
    ),
    "broker": (
        "cli.broker",
        "run a local single-node Apache Kafka (KRaft) for development",
        KafkaSettings,
    ),
    "worker": ("streams.worker", "run the Faust worker that computes minute KPIs", WorkerSettings),
    "api": ("api.server", "run the HTTP and websocket API and the live page", ApiSettings),
    "dispatcher": (
        "cli.dispatcher",
        "deliver alerts to Slack, e-mail, webhooks and Alertmanager (at least once)",
        DispatcherSettings,
    ),
    "api-key": (
        "cli.api_key",
        "make an API key (viewer, operator or ingest) and its hashed entry",
        None,
    ),
    "simulate": (
        "cli.simulate",
        "produce realistic, seeded shop traffic to Kafka",
        ProducerSettings,
    ),
    "replay": (
        "cli.replay",
        "produce recorded history (JSONL, or CSV with a column mapping) to Kafka, oldest first",
        ReplaySettings,
    ),
    "bench": ("cli.bench", "measure pipeline throughput against the raw consume limit", Settings),
    "rules": (
        "alerts.rules_check",
        "check an alert-rules YAML file (`shoppulse rules check FILE`)",
        None,
    ),
    "detect": (
        "cli.detect",
        "score a timestamp,value CSV with the pipeline's anomaly detector",
        None,
    ),
    "bench-detect": (
        "cli.bench_detect",
        "measure anomaly-detection delay and false alarms against an oracle CUSUM",
        DetectionSettings,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shoppulse",
        description="ShopPulse: live, exact KPIs for online shops. "
        "Configuration comes from SHOPPULSE_* environment variables.",
    )
    parser.add_argument("--log-level", default="info", help="log level (default: info)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text, model) in SUBCOMMANDS.items():
        sp = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        importlib.import_module(module_name).add_arguments(sp)
        settings_help = NO_SETTINGS if model is None else env_help(model)
        sp.epilog = f"{sp.epilog.rstrip()}\n\n{settings_help}" if sp.epilog else settings_help
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    module_name, _, model = SUBCOMMANDS[args.command]
    settings = None if model is None else model()
    code: int = importlib.import_module(module_name).run(args, settings)
    return code


if __name__ == "__main__":
    sys.exit(main())
