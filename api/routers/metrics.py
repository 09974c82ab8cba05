"""``GET /metrics``: Prometheus' text format (0.0.4).

It carries every store's KPIs, so with API keys configured it needs a viewer key, as the
other reads do (:func:`api.app.create_app`; open in kiosk mode like them): Prometheus sends it
with ``authorization: {type: Bearer, credentials_file: ...}`` in its scrape config (ADR 9).

A route of its own, not ``app.mount("/metrics", make_asgi_app())``, which answers
``/metrics`` with a redirect to ``/metrics/``; and the KPI samples are refreshed on the
event loop first (:meth:`api.metrics.ApiMetrics.refresh`). The names and labels are in
``docs/metrics.md``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from api.metrics import ApiMetrics

router = APIRouter(tags=["metrics"])


def get_metrics(request: Request) -> ApiMetrics:
    """The API's metrics (see :func:`api.app.create_app`)."""
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_PLAIN_0_0_4: {}}, "description": "Metrics."}},
)
async def metrics(request: Request) -> Response:
    """Every KPI per store (and ``all``), window and period (now and the same window
    yesterday), stores, websocket clients, firing alerts and the Kafka feeds, in
    Prometheus' text format."""
    api_metrics = get_metrics(request)
    await api_metrics.refresh()
    return Response(api_metrics.render(), media_type=CONTENT_TYPE_PLAIN_0_0_4)
