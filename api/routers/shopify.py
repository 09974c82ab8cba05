"""``POST /api/v1/connectors/shopify/{store_id}``: Shopify order webhooks, HMAC-verified.

Shopify cannot send an API key, so this route needs none: the body must be signed with
``SHOPPULSE_SHOPIFY_WEBHOOK_SECRET`` (``X-Shopify-Hmac-Sha256``), checked on the raw bytes
before anything is parsed; without the secret configured every webhook is refused (401).
The topic is ``X-Shopify-Topic``; the store is the path's ``store_id`` (the URL the shop's
webhook subscription is given). Mapping: :mod:`api.connectors.shopify`; validation and
producing: :mod:`api.connectors.produce`; fields: ``docs/connectors.md``.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Header, HTTPException, Request, status

from api.connectors.produce import (
    ERROR_RESPONSES,
    ConnectorOut,
    map_all,
    produce_mapped,
    unprocessable,
)
from api.connectors.shopify import TOPICS, map_webhook, signature_ok
from api.deps import EventProducerDep, FeedDep, IngestStatsDep, SettingsDep, ViewDep
from api.routers.segment import StorePath

router = APIRouter(prefix="/api/v1/connectors", tags=["connectors"])


@router.post(
    "/shopify/{store_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ConnectorOut,
    summary="Ingest Shopify order webhooks",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
    responses={
        400: {"description": "X-Shopify-Topic is missing."},
        401: {
            "description": (
                "X-Shopify-Hmac-Sha256 is missing or does not sign the body with"
                " SHOPPULSE_SHOPIFY_WEBHOOK_SECRET (or no secret is set); nothing produced."
            )
        },
        **ERROR_RESPONSES,
    },
)
async def ingest_shopify(
    store_id: StorePath,
    request: Request,
    producer: EventProducerDep,
    settings: SettingsDep,
    view: ViewDep,
    feed: FeedDep,
    stats: IngestStatsDep,
    x_shopify_topic: Annotated[
        str | None, Header(description=f"The webhook topic: {', '.join(TOPICS)}; others ignored.")
    ] = None,
    x_shopify_hmac_sha256: Annotated[
        str | None, Header(description="base64(HMAC-SHA256(secret, raw body)).")
    ] = None,
) -> ConnectorOut:
    """`orders/create` becomes a placed order, `orders/paid` a paid one, `refunds/create` a
    refunded one (docs/connectors.md); other topics are `ignored` (202, so Shopify does not
    retry them). An order that cannot be mapped, is invalid or late: 422, nothing produced."""
    body = await request.body()
    secret = settings.shopify_webhook_secret
    if secret is None:
        raise _unauthorized(
            "SHOPPULSE_SHOPIFY_WEBHOOK_SECRET is not set: this API cannot verify Shopify webhooks"
        )
    if not x_shopify_hmac_sha256:
        raise _unauthorized("the X-Shopify-Hmac-Sha256 header is missing")
    if not signature_ok(secret.get_secret_value().encode(), body, x_shopify_hmac_sha256):
        raise _unauthorized(
            "X-Shopify-Hmac-Sha256 does not sign this body with SHOPPULSE_SHOPIFY_WEBHOOK_SECRET"
        )
    if not x_shopify_topic:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail="the X-Shopify-Topic header is missing"
        )
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise unprocessable(f"the body is not valid JSON: {exc}") from None
    topic = x_shopify_topic.strip()
    results = map_all([payload], lambda p: map_webhook(topic, p, store_id))
    return await produce_mapped(
        results, producer=producer, settings=settings, view=view, feed=feed, stats=stats
    )


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail)
