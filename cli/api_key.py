"""``shoppulse api-key``: make a new API key and print the entry for ``SHOPPULSE_API_KEYS``.

The key itself is printed once, to give to the person or machine that uses it; the API only
ever gets its digest (``name:role:sha256:<hex>``), so a leaked configuration leaks no key.
"""

from __future__ import annotations

import argparse

from api.security import ROLES, hash_key, new_key, parse_api_keys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="who or what uses the key (letters, digits, _.@-)")
    parser.add_argument("--role", choices=ROLES, default="viewer", help="default: viewer")


def run(args: argparse.Namespace, settings: None) -> int:
    key = new_key()
    entry = f"{args.name}:{args.role}:{hash_key(key)}"
    parse_api_keys(entry)  # the same check the API makes at start
    print(f"key (give it to {args.name}; it is not stored anywhere): {key}")
    print(f"add to SHOPPULSE_API_KEYS (comma-separated): {entry}")
    return 0
