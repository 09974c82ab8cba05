"""Shared query parameters and checks of the routers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import HTTPException, Query, status

from api.rollups import ALL_STORES
from api.store_marks import absence_note
from api.view import KpiView

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
    """Raise 404 unless ``store_id`` is ``all`` or a store the view has read a snapshot of
    (minutes held or not: a store with only old minutes is known, with none here)."""
    if store_id == ALL_STORES or view.knows_store(store_id):
        return
    known = view.known_stores()
    hint = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
    raise HTTPException(
        status.HTTP_404_NOT_FOUND,
        detail=f"unknown store {store_id!r}; known stores: {hint or 'none yet'} (or 'all')",
    )


def require_one_store(view: KpiView, configured: Iterable[str], store_id: str, what: str) -> None:
    """422 for ``all`` (``what`` is per store); 404 unless the view or config knows the store."""
    if store_id == ALL_STORES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"{what} are per store: ask for one store id, not {ALL_STORES!r}",
        )
    if view.knows_store(store_id) or store_id in set(configured):
        return
    require_store(view, store_id)  # raises the usual 404 with the known stores


def absence_notes(view: KpiView, store_id: str, minutes: int) -> list[str]:
    """Why a read of one known store found no minutes (empty when it found some)."""
    mark = view.mark(store_id) if store_id != ALL_STORES and minutes == 0 else None
    return [absence_note(mark, view.cutoff_ms())] if mark is not None else []


def now_utc(view: KpiView) -> datetime:
    """The view's clock as an aware UTC datetime (tests pin it)."""
    return datetime.fromtimestamp(view.clock() / 1000, UTC)
