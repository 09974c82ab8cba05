"""Fixtures of the API tests: a pinned clock, a view and an app.

The view is pure, so route tests fill it directly instead of going through Kafka.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.view import KpiView
from shoppulse.settings import Settings
from tests.api.helpers import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def view(clock: FakeClock) -> KpiView:
    return KpiView(clock=clock)


@pytest.fixture
def api_settings() -> Settings:
    return Settings(topic_namespace="unit.")


@pytest.fixture
def app(api_settings: Settings, view: KpiView) -> FastAPI:
    return create_app(api_settings, start_feed=False, view=view, ws_heartbeat_s=0.2)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c
