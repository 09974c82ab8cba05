from __future__ import annotations

from pathlib import Path

import pytest

from alerts.receivers import EXAMPLE_ENV, EXAMPLE_PATH
from cli.main import main


def test_check_accepts_the_example(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in EXAMPLE_ENV.items():
        monkeypatch.setenv(name, value)
    assert main(["dispatcher", "--check", str(EXAMPLE_PATH)]) == 0
    assert capsys.readouterr().out.strip() == "OK: 5 receivers, 3 routes"


def test_check_reports_each_error_with_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SHOPPULSE_NOT_SET", raising=False)
    path = tmp_path / "receivers.yaml"
    path.write_text(
        "receivers:\n"
        "  - {name: hook, webhook: {url: 'http://x/', secret_env: SHOPPULSE_NOT_SET}}\n"
        "routes:\n"
        "  - {receivers: [hook, nobody]}\n"
    )
    assert main(["dispatcher", "--check", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert f"{path}:line 2: receivers[0].webhook.secret_env: environment variable" in err[0]
    assert err[1] == f"{path}:line 4: routes[0].receivers[1]: unknown receiver 'nobody'"


def test_check_of_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dispatcher", "--check", str(tmp_path / "nope.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().err
