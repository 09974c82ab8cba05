"""The README, the reference pages in docs/ and docker-compose.yml stay true to the code."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from cli.main import SUBCOMMANDS, build_parser
from shoppulse.settings import Settings, env_name
from shoppulse.settings.base import groups

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_every_setting_is_documented_in_the_configuration_page_and_nothing_else() -> None:
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(SHOPPULSE_[A-Z0-9_]+)`", page))
    fields = {f"SHOPPULSE_{name.upper()}" for name in Settings.model_fields}
    assert fields - documented == set(), "settings missing from docs/configuration.md"
    assert documented - fields == set(), "docs/configuration.md names settings that do not exist"


def test_each_section_of_the_configuration_page_is_one_settings_group() -> None:
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", page, flags=re.M)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    for title, names in groups(Settings):
        heading = title[0].upper() + title[1:]
        assert heading in sections, f"docs/configuration.md has no section '## {heading}'"
        documented = re.findall(r"^\| `(SHOPPULSE_[A-Z0-9_]+)`", sections[heading], re.M)
        assert documented == [env_name(n) for n in names], heading


def test_every_subcommand_is_in_the_commands_page() -> None:
    page = (DOCS / "commands.md").read_text(encoding="utf-8")
    missing = [name for name in SUBCOMMANDS if f"| `shoppulse {name}` |" not in page]
    assert missing == [], f"subcommands missing from the table of docs/commands.md: {missing}"


def test_readme_names_the_two_commands_and_they_are_make_targets_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("demo", "test"):
        assert f"make {target}" in readme
        assert re.search(rf"^{target}: .*## ", makefile, re.M)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, re.M), ".ci/run must run the README's `make test`"


def _anchors(markdown: str) -> set[str]:
    r"""GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.

    >>> sorted(_anchors("# Snapshots: `shoppulse.kpis`\n## State and recovery"))
    ['snapshots-shoppulsekpis', 'state-and-recovery']
    """
    found = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", markdown, re.M):
        found.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return found


def test_relative_links_of_the_readme_and_docs_lead_somewhere() -> None:
    pages = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted(DOCS.rglob("*.md"))]
    broken = []
    for page in pages:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # http:, https:, mailto:
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if not resolved.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
            elif (
                anchor
                and resolved.suffix == ".md"
                and anchor not in _anchors(resolved.read_text(encoding="utf-8"))
            ):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


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
    from cli.kpidoc import render_markdown

    page = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    assert page == render_markdown(), "run `make docs`"
