"""FastAPI dependencies: the objects :func:`api.app.create_app` puts on ``app.state``.

They take an :class:`~starlette.requests.HTTPConnection`, so they serve both HTTP
routes and websockets.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from api.broadcast import Broadcaster
from api.config_files import ApiConfig
from api.feed import KpiFeed
from api.view import KpiView
from shoppulse.settings import Settings


def get_view(conn: HTTPConnection) -> KpiView:
    """The materialised KPI view."""
    view: KpiView = conn.app.state.view
    return view


def get_settings(conn: HTTPConnection) -> Settings:
    """The settings the app was created with."""
    settings: Settings = conn.app.state.settings
    return settings


def get_feed(conn: HTTPConnection) -> KpiFeed | None:
    """The Kafka feed, or None when the app was created with ``start_feed=False``."""
    feed: KpiFeed | None = conn.app.state.feed
    return feed


def get_broadcaster(conn: HTTPConnection) -> Broadcaster:
    """The websocket fan-out."""
    broadcaster: Broadcaster = conn.app.state.broadcaster
    return broadcaster


def get_api_config(conn: HTTPConnection) -> ApiConfig:
    """The targets and scorecard configuration read at start-up."""
    config: ApiConfig = conn.app.state.api_config
    return config


ViewDep = Annotated[KpiView, Depends(get_view)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
FeedDep = Annotated[KpiFeed | None, Depends(get_feed)]
BroadcasterDep = Annotated[Broadcaster, Depends(get_broadcaster)]
ApiConfigDep = Annotated[ApiConfig, Depends(get_api_config)]
