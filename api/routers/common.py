"""Shared query parameters and checks of the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Query, status

from api.view import ALL_STORES, KpiView

StoreQuery = Annotated[
    str,
    Query(
        min_length=1,
        max_length=256,
        description="A store id, or `all` to sum every store.",
        examples=["store-001", "all"],
    ),
]


def require_store(view: KpiView, store_id: str) -> None:
    """Raise 404 unless ``store_id`` is ``all`` or a store the view holds."""
    if store_id == ALL_STORES or view.has_store(store_id):
        return
    known = view.stores()
    hint = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
    raise HTTPException(
        status.HTTP_404_NOT_FOUND,
        detail=f"unknown store {store_id!r}; known stores: {hint or 'none yet'} (or 'all')",
    )
