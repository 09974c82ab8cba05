"""``GET /``: the self-contained wall dashboard page (``api/static/index.html``)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["page"])


@cache
def index_html() -> str:
    """The page's HTML, read once from the package data."""
    return resources.files("api").joinpath("static", "index.html").read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index() -> HTMLResponse:
    """The live wall dashboard: connects to ``/ws/live`` and reconnects by itself."""
    return HTMLResponse(index_html(), headers={"Cache-Control": "no-cache"})
