"""The API's configuration files, read and parsed once at start-up (IO at the edge).

``SHOPPULSE_TARGETS_FILE`` (daily GMV targets, :func:`shoppulse.targets_file.load_targets`) and
``SHOPPULSE_SCORECARDS_FILE`` (role scorecards,
:func:`shoppulse.scorecards_file.load_scorecard_config`) are optional: without them there are no
targets and the scorecards use the article's weights. A file that is missing, unreadable
or invalid stops start-up with a :class:`ConfigFileError` naming the setting, the file and
the failing field.

>>> from shoppulse.settings import ApiSettings
>>> cfg = load_api_config(ApiSettings())
>>> len(cfg.targets), cfg.scorecards.defaults.sales.peak.weights["gmv_attainment"]
(0, 0.3)
>>> load_api_config(ApiSettings(targets_file="/nonexistent/targets.yaml"))
Traceback (most recent call last):
...
api.config_files.ConfigFileError: SHOPPULSE_TARGETS_FILE=/nonexistent/targets.yaml: cannot read the file: No such file or directory
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from shoppulse.scorecard_config import ScorecardConfig
from shoppulse.scorecards_file import ScorecardConfigError, load_scorecard_config
from shoppulse.settings import ApiSettings
from shoppulse.targets import TargetBook
from shoppulse.targets_file import TargetsError, load_targets

_T = TypeVar("_T")


class ConfigFileError(ValueError):
    """A configuration file the API cannot use; the message names the setting and file."""


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """What the API's configuration files say (defaults when a file is not set)."""

    targets: TargetBook = field(default_factory=lambda: TargetBook({}))
    scorecards: ScorecardConfig = field(default_factory=ScorecardConfig)


def _read(
    setting: str,
    path: Path,
    parse: Callable[[str], _T],
    errors: tuple[type[ValueError], ...],
) -> _T:
    where = f"SHOPPULSE_{setting.upper()}={path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(f"{where}: cannot read the file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"{where}: not UTF-8 text ({exc.reason})") from None
    try:
        return parse(text)
    except errors as exc:
        raise ConfigFileError(f"{where}: {exc}") from None


def load_api_config(settings: ApiSettings) -> ApiConfig:
    """Read and validate the targets and scorecards files named by ``settings``."""
    targets = (
        _read("targets_file", settings.targets_file, load_targets, (TargetsError,))
        if settings.targets_file is not None
        else TargetBook({})
    )
    scorecards = (
        _read(
            "scorecards_file",
            settings.scorecards_file,
            load_scorecard_config,
            (ScorecardConfigError,),
        )
        if settings.scorecards_file is not None
        else ScorecardConfig()
    )
    return ApiConfig(targets, scorecards)


__all__ = ["ApiConfig", "ConfigFileError", "load_api_config"]
