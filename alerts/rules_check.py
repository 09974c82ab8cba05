"""``shoppulse rules check FILE``: validate an alert rules file (see :mod:`alerts.rules`).

Prints ``OK: N rules`` and exits 0, or prints one error a line (``FILE:line N: path:
message``) to stderr and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alerts.rules import RulesError, load_rules


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["check"], help="check: validate a rules file")
    parser.add_argument("file", type=Path, help="the rules YAML file")


def run(args: argparse.Namespace, settings: None) -> int:
    path: Path = args.file
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 1
    try:
        rules = load_rules(text)
    except RulesError as exc:
        for line in exc.errors:
            print(f"{path}:{line}", file=sys.stderr)
        return 1
    print(f"OK: {len(rules)} rules")
    return 0
