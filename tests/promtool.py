"""``promtool`` (Debian package ``prometheus``, installed by ``make system-deps``) for tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def promtool(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> str:
    """Run promtool; fail the test with its output unless it exits with 0."""
    assert Path(PROMTOOL).exists(), "promtool is installed by `make system-deps` (apt prometheus)"
    proc = subprocess.run(
        [PROMTOOL, *args], input=stdin, capture_output=True, cwd=cwd, timeout=60, check=False
    )
    output = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    assert proc.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


def check_metrics(exposition: bytes) -> None:
    """``promtool check metrics`` (the classic text format only): names, units, help."""
    promtool("check", "metrics", stdin=exposition)
