"""Structured logs: one JSON object per line.

>>> import logging
>>> rec = logging.LogRecord("shoppulse.worker", logging.INFO, __file__, 1, "ready in %.1f s",
...     (2.5,), None)
>>> rec.created = 0.0
>>> print(JsonFormatter().format(rec))
{"ts":"1970-01-01T00:00:00.000Z","level":"info","logger":"shoppulse.worker","msg":"ready in 2.5 s"}
"""

from __future__ import annotations

import logging
import logging.config
import sys
from typing import Any, TextIO

import orjson

from shoppulse.timeutil import format_ts_ms

#: Attributes every LogRecord has; anything else passed as ``extra=`` is logged as a field.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    """Format records as compact JSON with ``extra=`` fields kept as keys."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": format_ts_ms(int(record.created * 1000)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class StderrHandler(logging.StreamHandler[TextIO]):
    """A stream handler that writes to whatever ``sys.stderr`` is at the time of each record,
    so a handler configured while stderr was redirected (a test capturing output, say) never
    writes to a closed stream afterwards."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


def logging_dict_config(level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict: JSON lines on stderr, chatty clients quieted."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"()": StderrHandler, "formatter": "json"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {name: {"level": "WARNING"} for name in ("kafka", "aiokafka")},
    }


def configure_logging(level: str = "info") -> None:
    """Send JSON lines to stderr (the command's own processes)."""
    logging.config.dictConfig(logging_dict_config(level))
