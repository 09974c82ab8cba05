"""The ``shoppulse`` command: one entry point, one subcommand per component.

Each subcommand module offers ``add_arguments(parser)`` and
``run(args, settings) -> int``; heavy imports (Faust, uvicorn) happen inside
``run``, so ``shoppulse --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from shoppulse.logfmt import configure_logging
from shoppulse.settings import Settings

#: name → (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("cli.demo", "run everything on an embedded broker and print the dashboard URL"),
    "broker": ("cli.broker", "run a local single-node Apache Kafka (KRaft) for development"),
    "worker": ("streams.worker", "run the Faust worker that computes minute KPIs"),
    "api": ("api.server", "run the HTTP and websocket API and the live page"),
    "dispatcher": (
        "cli.dispatcher",
        "deliver alerts to Slack, e-mail, webhooks and Alertmanager (at least once)",
    ),
    "api-key": ("cli.api_key", "make an API key (viewer, operator or ingest) and its hashed entry"),
    "simulate": ("cli.simulate", "produce realistic, seeded shop traffic to Kafka"),
    "replay": (
        "cli.replay",
        "produce recorded history (JSONL, or CSV with a column mapping) to Kafka, oldest first",
    ),
    "bench": ("cli.bench", "measure pipeline throughput against the raw consume limit"),
    "rules": (
        "alerts.rules_check",
        "check an alert-rules YAML file (`shoppulse rules check FILE`)",
    ),
    "detect": ("cli.detect", "score a timestamp,value CSV with the pipeline's anomaly detector"),
    "bench-detect": (
        "cli.bench_detect",
        "measure anomaly-detection delay and false alarms against an oracle CUSUM",
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
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module_name).add_arguments(sp)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    module_name = SUBCOMMANDS[args.command][0]
    settings = Settings()
    code: int = importlib.import_module(module_name).run(args, settings)
    return code


if __name__ == "__main__":
    sys.exit(main())
