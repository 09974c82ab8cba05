"""``shoppulse api``: serve the API under uvicorn with structured (JSON lines) logging."""

from __future__ import annotations

import argparse
import logging
import logging.config
import sys
from typing import Final

import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.auth import RedactKeys
from api.config_files import ConfigFileError
from api.security import ApiKeysError
from shoppulse.logfmt import logging_dict_config
from shoppulse.settings import ApiSettings


def uvicorn_log_config(level: str) -> dict[str, object]:
    """The project's JSON logging, with uvicorn's loggers routed through it."""
    config = logging_dict_config(level)
    config["filters"] = {"redact_keys": {"()": RedactKeys}}  # keys in query strings
    config["handlers"]["stderr"]["filters"] = ["redact_keys"]
    loggers = config["loggers"]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        loggers[name] = {"handlers": [], "propagate": True, "level": level.upper()}
    return config


WS_MAX_FRAME_BYTES: Final = 64 * 1024
"""The largest websocket message uvicorn accepts (its default is 16 MiB); a client's
messages are subscriptions of at most :data:`api.messages.MAX_CLIENT_MESSAGE_CHARS`, so a
bigger one is refused (closed with 1009) before it is buffered."""


def uvicorn_config(
    app: FastAPI, settings: ApiSettings, *, log_level: str = "info"
) -> uvicorn.Config:
    """How :func:`serve` runs ``app`` under uvicorn."""
    return uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_config=uvicorn_log_config(log_level),
        log_level=log_level,
        lifespan="on",
        ws_max_size=WS_MAX_FRAME_BYTES,
    )


def serve(settings: ApiSettings, *, log_level: str = "info") -> None:
    """Serve the API on ``settings.api_host:settings.api_port`` until interrupted (blocking).

    Raises :class:`~api.config_files.ConfigFileError` before listening when a targets or
    scorecards file is missing or invalid.
    """
    app = create_app(settings)
    logging.config.dictConfig(uvicorn_log_config(log_level))
    logging.getLogger("shoppulse.api").info(
        "starting API",
        extra={
            "host": settings.api_host,
            "port": settings.api_port,
            "topic": settings.topic("shoppulse.kpis"),
        },
    )
    server = uvicorn.Server(uvicorn_config(app, settings, log_level=log_level))
    server.run()
    if not server.started:  # as uvicorn.run: it could not start (the port is taken...)
        raise SystemExit(3)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="listen address (default: SHOPPULSE_API_HOST)")
    parser.add_argument(
        "--port", type=int, default=None, help="listen port (default: SHOPPULSE_API_PORT)"
    )


def run(args: argparse.Namespace, settings: ApiSettings) -> int:
    update = {k: v for k, v in (("api_host", args.host), ("api_port", args.port)) if v is not None}
    try:
        serve(settings.model_copy(update=update), log_level=args.log_level)
    except (ConfigFileError, ApiKeysError) as exc:
        print(f"shoppulse api: {exc}", file=sys.stderr)
        return 2
    return 0
