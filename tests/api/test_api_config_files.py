"""The targets and scorecards files: read once when the app is built; clear errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from api import server
from api.app import create_app
from api.config_files import ConfigFileError, load_api_config
from shoppulse.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_files_load() -> None:
    settings = Settings(
        targets_file=ROOT / "config/targets.example.yaml",
        scorecards_file=ROOT / "config/scorecards.example.yaml",
    )
    config = load_api_config(settings)
    assert "store-001" in config.targets
    assert config.scorecards.for_store("store-002").timezone.key == "America/New_York"


def test_settings_read_the_files_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHOPPULSE_TARGETS_FILE", str(tmp_path / "t.yaml"))
    monkeypatch.setenv("SHOPPULSE_SCORECARDS_FILE", str(tmp_path / "s.yaml"))
    settings = Settings()
    assert settings.targets_file == tmp_path / "t.yaml"
    assert settings.scorecards_file == tmp_path / "s.yaml"


def test_bad_yaml_fails_start_up_naming_setting_and_file(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text("stores: [unclosed\n")
    with pytest.raises(ConfigFileError) as info:
        create_app(Settings(targets_file=path), start_feed=False)
    message = str(info.value)
    assert message.startswith(f"SHOPPULSE_TARGETS_FILE={path}: targets: not valid YAML")


def test_invalid_field_is_named(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text("stores: {s1: {daily_gmv_target_minor: '100', currency: EUR}}\n")
    with pytest.raises(ConfigFileError, match=r"stores\.s1\.daily_gmv_target_minor: "):
        create_app(Settings(targets_file=path), start_feed=False)


def test_invalid_scorecard_weights_are_named(tmp_path: Path) -> None:
    path = tmp_path / "scorecards.yaml"
    path.write_text(
        "defaults: {weights: {service: {peak: {csat_share: 0.5, resolution_rate: 0.3,"
        " first_response_p90_s: 0.2, escalation_rate: 0.1}}}}\n"
    )
    with pytest.raises(ConfigFileError) as info:
        create_app(Settings(scorecards_file=path), start_feed=False)
    assert str(info.value).startswith(f"SHOPPULSE_SCORECARDS_FILE={path}: ")
    assert "defaults.weights.service.peak: weights must sum to 1" in str(info.value)


def test_missing_file_fails_start_up(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigFileError, match=r"SHOPPULSE_SCORECARDS_FILE=.*cannot read the file"):
        create_app(Settings(scorecards_file=path), start_feed=False)


def test_api_command_exits_2_with_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(": :\n  - [\n")
    args = argparse.Namespace(host=None, port=None, log_level="info")
    assert server.run(args, Settings(targets_file=path)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"shoppulse api: SHOPPULSE_TARGETS_FILE={path}: targets: not valid YAML")
