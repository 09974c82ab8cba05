"""The README and docker-compose.yml stay true to the code."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from cli.main import SUBCOMMANDS, build_parser
from shoppulse.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented_in_the_readme_and_nothing_else() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`(SHOPPULSE_[A-Z0-9_]+)`", readme))
    fields = {f"SHOPPULSE_{name.upper()}" for name in Settings.model_fields}
    assert fields - documented == set(), "settings missing from the README table"
    assert documented - fields == set(), "the README documents settings that do not exist"


def test_every_subcommand_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in SUBCOMMANDS:
        assert f"`shoppulse {name}`" in readme


def test_readme_names_the_two_commands_and_they_are_make_targets() -> None:
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test"):
        assert f"make {target}" in readme
        assert re.search(rf"^{target}: .*## ", makefile, re.M)


def test_compose_file_is_valid_for_docker_compose() -> None:
    docker_compose = shutil.which("docker-compose")
    assert docker_compose, "docker-compose is installed by `make system-deps`"
    out = subprocess.run(
        [docker_compose, "-f", str(ROOT / "docker-compose.yml"), "--profile", "demo", "config"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    services = yaml.safe_load(out)["services"]
    assert {"kafka", "topics", "worker", "api", "simulator"} <= set(services)


def test_compose_services_run_real_subcommands_with_real_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    parser = build_parser()
    fields = {f"SHOPPULSE_{name.upper()}" for name in Settings.model_fields}
    for name in ("worker", "api", "simulator"):
        service = compose["services"][name]
        parser.parse_args(service["command"])  # exits (fails the test) on an unknown option
        env = service.get("environment") or {}
        assert set(env) <= fields, f"{name} sets unknown settings"


def test_kpi_reference_page_is_generated_from_the_registry() -> None:
    from shoppulse.kpidoc import render_markdown

    page = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    assert page == render_markdown(), "run `make docs`"
