"""The FastAPI application factory.

>>> from shoppulse.settings import ApiSettings
>>> app = create_app(ApiSettings(), start_feed=False)
>>> for path in sorted(p for p in app.openapi()["paths"] if p.startswith("/api/v1")):
...     print(path)
/api/v1/alerts
/api/v1/alerts/{alert_id}/ack
/api/v1/connectors/segment/{store_id}
/api/v1/connectors/shopify/{store_id}
/api/v1/events
/api/v1/kpis
/api/v1/kpis/history
/api/v1/scorecards
/api/v1/silences
/api/v1/silences/{silence_id}
/api/v1/stores
/api/v1/targets
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

import shoppulse
from alerts.action_log import ActionLog
from alerts.actions import ActionBook
from alerts.board import AlertBoard
from api.alerts_feed import AlertsFeed
from api.auth import require
from api.broadcast import DEFAULT_MAX_PENDING, Broadcaster
from api.clock import Clock
from api.config_files import load_api_config
from api.connectors.ndjson import NdjsonIngest
from api.deps import ActionWriter
from api.feed import KpiFeed
from api.ingest_metrics import IngestStats
from api.limits import BodySizeLimit, BodyTooLargeError, JsonOnly, body_too_large
from api.metrics import ApiMetrics
from api.producer import EventProducer, KafkaEventProducer
from api.reads import ViewReader
from api.routers import (
    alerts,
    events,
    health,
    kpis,
    live,
    metrics,
    page,
    scorecards,
    segment,
    shopify,
    silences,
    stores,
    targets,
)
from api.security import parse_api_keys
from api.view import KpiView
from shoppulse.settings import ApiSettings


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    feed: KpiFeed | None = app.state.feed
    alerts_feed: AlertsFeed | None = app.state.alerts_feed
    action_log: ActionLog | None = app.state.action_log
    async with AsyncExitStack() as stack:  # stops what started, in reverse, whatever happens
        if feed is not None:
            feed.start()
            stack.push_async_callback(feed.stop)
        if alerts_feed is not None:
            alerts_feed.start()
            stack.push_async_callback(alerts_feed.stop)
        if action_log is not None:
            await action_log.start()
            stack.push_async_callback(action_log.stop)
        stack.push_async_callback(app.state.event_producer.stop)
        yield


def create_app(
    settings: ApiSettings,
    *,
    start_feed: bool = True,
    finals_first: bool = True,
    view: KpiView | None = None,
    ws_heartbeat_s: float = 5.0,
    ws_max_pending: int = DEFAULT_MAX_PENDING,
    alert_board: AlertBoard | None = None,
    actions: ActionWriter | None = None,
    clock: Clock | None = None,
    event_producer: EventProducer | None = None,
) -> FastAPI:
    """Build the API: REST under ``/api/v1``, ``/ws/live``, health, the wall page at ``/``.

    With ``start_feed`` the lifespan consumes ``shoppulse.kpis`` into the view,
    ``shoppulse.alerts`` into the alert board and ``shoppulse.alert-actions`` into the
    acknowledgements and silences (an :class:`~alerts.action_log.ActionLog`, which also
    records new ones); ``/readyz`` turns 200 once all three have caught up. Without it
    the view and ``alert_board`` are only filled by whoever holds them (tests),
    acknowledgements and silences are recorded by ``actions`` if given (else those routes
    answer 503), and ``/readyz`` answers 503. ``clock`` (epoch ms) defaults to the view's.
    ``finals_first=False`` reads ``shoppulse.kpis`` from the retention cutoff at start instead
    of the closed minutes from ``shoppulse.kpis.final`` first (ADR 24; the benchmark's
    baseline).

    Access control (:mod:`api.auth`): with ``SHOPPULSE_API_KEYS`` set, the data routes,
    ``/metrics`` and ``/ws/live`` need a viewer key (unless ``SHOPPULSE_API_KIOSK``),
    acknowledgements and
    silences an operator key, ``POST /api/v1/events`` an ingest key; health, the page and
    its static files stay open. Ingested events go to ``event_producer`` (default: Kafka).

    The targets and scorecards files (``settings.targets_file``/``scorecards_file``)
    are read here, once; a missing or invalid one raises
    :class:`~api.config_files.ConfigFileError` naming the setting, file and field, and
    malformed API keys raise :class:`~api.security.ApiKeysError`.
    """
    api_config = load_api_config(settings)
    api_keys = parse_api_keys(settings.api_keys)
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
    app.state.reader = ViewReader(the_view)
    app.state.broadcaster = broadcaster
    app.state.feed = (
        KpiFeed(settings, the_view, broadcaster, finals_first=finals_first) if start_feed else None
    )
    app.state.ws_heartbeat_s = ws_heartbeat_s
    app.state.clock = clock if clock is not None else the_view.clock
    board = alert_board if alert_board is not None else AlertBoard()
    app.state.alert_board = board
    app.state.alerts_feed = (
        AlertsFeed(settings, board, clock=app.state.clock) if start_feed else None
    )
    action_log = ActionLog(settings, client_id="shoppulse-api-actions") if start_feed else None
    app.state.action_log = action_log
    writer: ActionWriter | None = action_log if action_log is not None else actions
    app.state.actions = writer
    app.state.action_book = writer.book if writer is not None else ActionBook()
    app.state.ack_lock = asyncio.Lock()
    app.state.api_keys = api_keys
    app.state.event_producer = (
        event_producer if event_producer is not None else KafkaEventProducer(settings)
    )
    app.state.ingest_stats = IngestStats()
    registry = CollectorRegistry()  # the app's own, never the global default one
    ProcessCollector(registry=registry)  # process_* (CPU, memory, file descriptors)
    PlatformCollector(registry=registry)  # python_info
    GCCollector(registry=registry)  # python_gc_*
    app.state.metrics = ApiMetrics.create(
        the_view,
        registry=registry,
        broadcaster=broadcaster,
        board=board,
        feeds={
            "kpis": app.state.feed,
            "alerts": app.state.alerts_feed,
            "alert_actions": action_log,
        },
        ingest=app.state.ingest_stats,
    )
    viewer = [Depends(require("viewer"))]
    for router in (
        metrics.router,
        stores.router,
        kpis.router,
        targets.router,
        scorecards.router,
        alerts.router,
        silences.router,
        live.router,
    ):
        app.include_router(router, dependencies=viewer)
    for router in (events.router, segment.router, shopify.router, health.router, page.router):
        app.include_router(router)
    app.add_exception_handler(BodyTooLargeError, body_too_large)
    app.add_middleware(JsonOnly)
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(NdjsonIngest)  # streamed NDJSON ingest, outside the JSON body limits
    origins = [o.strip() for o in settings.api_cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            max_age=600,
        )
    return app
