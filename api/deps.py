"""FastAPI dependencies: the objects :func:`api.app.create_app` puts on ``app.state``.

They take an :class:`~starlette.requests.HTTPConnection`, so they serve both HTTP
routes and websockets.

Every route that records an acknowledgement or a silence depends on
:func:`require_action_writer`: the one place to add access control (API keys with
roles) later.
"""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, HTTPException, status
from starlette.requests import HTTPConnection

from alerts.action_log import ActionLog, ActionLogUnavailableError
from alerts.actions import Ack, ActionBook, Silence
from alerts.board import AlertBoard
from api.alerts_feed import AlertsFeed
from api.broadcast import Broadcaster
from api.clock import Clock
from api.config_files import ApiConfig
from api.feed import KpiFeed
from api.ingest_metrics import IngestStats
from api.producer import EventProducer
from api.reads import ViewReader
from api.view import KpiView
from shoppulse.settings import ApiSettings

RETRY_AFTER_S = 5


class ActionWriter(Protocol):
    """Records acknowledgements and silences (:class:`~alerts.action_log.ActionLog`)."""

    book: ActionBook

    @property
    def ready(self) -> bool: ...

    @property
    def reason(self) -> str: ...

    async def publish(self, action: Silence | Ack) -> None: ...


def get_view(conn: HTTPConnection) -> KpiView:
    """The materialised KPI view."""
    view: KpiView = conn.app.state.view
    return view


def get_reader(conn: HTTPConnection) -> ViewReader:
    """The view's reads off the event loop (copy on the loop, compute in a thread)."""
    reader: ViewReader = conn.app.state.reader
    return reader


def get_settings(conn: HTTPConnection) -> ApiSettings:
    """The settings the app was created with."""
    settings: ApiSettings = conn.app.state.settings
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


def get_clock(conn: HTTPConnection) -> Clock:
    """The API's clock (epoch ms; tests pin it through the view's clock)."""
    clock: Clock = conn.app.state.clock
    return clock


def get_alert_board(conn: HTTPConnection) -> AlertBoard:
    """The alerts as they stand, folded from ``shoppulse.alerts``."""
    board: AlertBoard = conn.app.state.alert_board
    return board


def get_alerts_feed(conn: HTTPConnection) -> AlertsFeed | None:
    """The alerts feed, or None when the app was created with ``start_feed=False``."""
    feed: AlertsFeed | None = conn.app.state.alerts_feed
    return feed


def get_action_log(conn: HTTPConnection) -> ActionLog | None:
    """The Kafka action log the app runs, or None when created with ``start_feed=False``."""
    log: ActionLog | None = conn.app.state.action_log
    return log


def get_action_book(conn: HTTPConnection) -> ActionBook:
    """The acknowledgements and silences (empty when nothing records them)."""
    book: ActionBook = conn.app.state.action_book
    return book


def get_action_writer(conn: HTTPConnection) -> ActionWriter | None:
    """What records acknowledgements and silences, if anything does."""
    writer: ActionWriter | None = conn.app.state.actions
    return writer


def get_event_producer(conn: HTTPConnection) -> EventProducer:
    """The producer of HTTP-ingested events."""
    producer: EventProducer = conn.app.state.event_producer
    return producer


def get_ingest_stats(conn: HTTPConnection) -> IngestStats:
    """The counters of ingest outcomes on the API's /metrics."""
    stats: IngestStats = conn.app.state.ingest_stats
    return stats


def require_action_writer(
    writer: Annotated[ActionWriter | None, Depends(get_action_writer)],
) -> ActionWriter:
    """The writer of acknowledgements and silences; 503 while it cannot take writes.

    The seam for access control: routes that write depend on this and nothing else.
    """
    if writer is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="acknowledgements and silences are not recorded by this API process "
            "(it was started without its Kafka feeds)",
        )
    if not writer.ready:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="still reading the acknowledgements and silences from Kafka "
            f"({writer.reason}); try again shortly",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    return writer


async def publish_action(writer: ActionWriter, action: Silence | Ack) -> None:
    """Publish ``action``; 503 (try again) when Kafka does not take it."""
    try:
        await writer.publish(action)
    except ActionLogUnavailableError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=str(exc),
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from exc


ViewDep = Annotated[KpiView, Depends(get_view)]
ReaderDep = Annotated[ViewReader, Depends(get_reader)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
FeedDep = Annotated[KpiFeed | None, Depends(get_feed)]
BroadcasterDep = Annotated[Broadcaster, Depends(get_broadcaster)]
ApiConfigDep = Annotated[ApiConfig, Depends(get_api_config)]
ClockDep = Annotated[Clock, Depends(get_clock)]
AlertBoardDep = Annotated[AlertBoard, Depends(get_alert_board)]
AlertsFeedDep = Annotated[AlertsFeed | None, Depends(get_alerts_feed)]
ActionLogDep = Annotated[ActionLog | None, Depends(get_action_log)]
ActionBookDep = Annotated[ActionBook, Depends(get_action_book)]
ActionWriterDep = Annotated[ActionWriter | None, Depends(get_action_writer)]
WriterDep = Annotated[ActionWriter, Depends(require_action_writer)]
EventProducerDep = Annotated[EventProducer, Depends(get_event_producer)]
IngestStatsDep = Annotated[IngestStats, Depends(get_ingest_stats)]
