"""The FastAPI application factory.

>>> from shoppulse.settings import Settings
>>> app = create_app(Settings(), start_feed=False)
>>> sorted(p for p in app.openapi()["paths"] if p.startswith("/api/v1"))
['/api/v1/kpis', '/api/v1/kpis/history', '/api/v1/scorecards', '/api/v1/stores', '/api/v1/targets']
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import shoppulse
from api.broadcast import DEFAULT_MAX_PENDING, Broadcaster
from api.config_files import load_api_config
from api.feed import KpiFeed
from api.routers import health, kpis, live, page, scorecards, stores, targets
from api.view import KpiView
from shoppulse.settings import Settings


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    feed: KpiFeed | None = app.state.feed
    if feed is not None:
        feed.start()
    try:
        yield
    finally:
        if feed is not None:
            await feed.stop()


def create_app(
    settings: Settings,
    *,
    start_feed: bool = True,
    view: KpiView | None = None,
    ws_heartbeat_s: float = 5.0,
    ws_max_pending: int = DEFAULT_MAX_PENDING,
) -> FastAPI:
    """Build the API: REST under ``/api/v1``, ``/ws/live``, health, the wall page at ``/``.

    With ``start_feed`` the lifespan consumes ``shoppulse.kpis`` into the view
    (``/readyz`` turns 200 once caught up); without it the view is only filled by
    whoever holds ``app.state.view`` (tests), and ``/readyz`` answers 503.

    The targets and scorecards files (``settings.targets_file``/``scorecards_file``)
    are read here, once; a missing or invalid one raises
    :class:`~api.config_files.ConfigFileError` naming the setting, file and field.
    """
    api_config = load_api_config(settings)
    app = FastAPI(
        title="ShopPulse API",
        version=shoppulse.__version__,
        description="Live KPIs of online shops: REST, websockets and the wall dashboard.",
        lifespan=_lifespan,
    )
    the_view = view if view is not None else KpiView.from_settings(settings)
    broadcaster = Broadcaster(max_pending=ws_max_pending)
    app.state.settings = settings
    app.state.api_config = api_config
    app.state.view = the_view
    app.state.broadcaster = broadcaster
    app.state.feed = KpiFeed(settings, the_view, broadcaster) if start_feed else None
    app.state.ws_heartbeat_s = ws_heartbeat_s
    for router in (
        stores.router,
        kpis.router,
        targets.router,
        scorecards.router,
        health.router,
        live.router,
        page.router,
    ):
        app.include_router(router)
    return app
