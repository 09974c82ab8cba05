"""Each command's ``--help`` lists the settings its process reads, and only those."""

from __future__ import annotations

import re

import pytest

from cli.main import NO_SETTINGS, SUBCOMMANDS, build_parser
from shoppulse.settings import env_name


def _help(command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    choices = sub.choices
    assert isinstance(choices, dict)
    text: str = choices[command].format_help()
    return text


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_help_lists_exactly_the_variables_of_the_commands_settings(command: str) -> None:
    model = SUBCOMMANDS[command][2]
    text = _help(command)
    listed = set(re.findall(r"^\s+(SHOPPULSE_[A-Z0-9_]+)\s", text, re.M))
    if model is None:
        assert NO_SETTINGS in text
        assert listed == set()
    else:
        assert listed == {env_name(name) for name in model.model_fields}


def test_the_worker_api_and_dispatcher_list_what_applies_to_them() -> None:
    worker, api, dispatcher = _help("worker"), _help("api"), _help("dispatcher")
    assert "SHOPPULSE_WORKER_BATCH_MAX" in worker
    assert "SHOPPULSE_API_PORT" not in worker
    assert "SHOPPULSE_API_PORT" in api
    assert "SHOPPULSE_WORKER_BATCH_MAX" not in api
    assert "SHOPPULSE_RECEIVERS_FILE" in dispatcher
    assert "SHOPPULSE_API_KEYS" not in dispatcher
    assert "SHOPPULSE_KAFKA_BOOTSTRAP_SERVERS" in worker
    assert "  Kafka:" in dispatcher
