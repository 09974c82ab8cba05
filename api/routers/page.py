"""``GET /``: the wall dashboard; ``GET /static/{name}``: its stylesheet and script modules.

The page is plain HTML, CSS and JavaScript modules from ``api/static/`` (package data): no
build step, nothing fetched from elsewhere. Files are read once and served with an ETag
and ``Cache-Control: no-cache``, so browsers revalidate cheaply and pick up a new version
after an upgrade. Only flat file names with a known extension are served.

>>> media_type("wall.js"), media_type("wall.css"), media_type("x.exe")
('text/javascript; charset=utf-8', 'text/css; charset=utf-8', None)
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from importlib import resources
from typing import Final

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["page"])

_MEDIA_TYPES: Final = {
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
    "ico": "image/x-icon",
    "html": "text/html; charset=utf-8",
}
_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9_-]*\.([a-z0-9]+)$")


def media_type(name: str) -> str | None:
    """The content type of a static file name, or None when it is not served."""
    match = _NAME.match(name)
    return _MEDIA_TYPES.get(match.group(1)) if match else None


@lru_cache(maxsize=64)
def static_file(name: str) -> tuple[bytes, str] | None:
    """A static file's bytes and ETag, read once from the package data; None if absent
    (a bounded cache: arbitrary missing names cannot grow it)."""
    path = resources.files("api").joinpath("static", name)
    if not path.is_file():
        return None
    data = path.read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:20] + '"'


def _index() -> tuple[bytes, str]:
    found = static_file("index.html")
    if found is None:  # a broken installation
        raise RuntimeError("api/static/index.html is missing from the package")
    return found


def _respond(request: Request, data: bytes, etag: str, media: str) -> Response:
    headers = {"Cache-Control": "no-cache", "ETag": etag, "X-Content-Type-Options": "nosniff"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(data, media_type=media, headers=headers)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request) -> Response:
    """The wall dashboard (``?store=<id>`` follows one store, ``&tv=1`` is TV mode)."""
    data, etag = _index()
    return _respond(request, data, etag, _MEDIA_TYPES["html"])


@router.get("/static/{name}", include_in_schema=False)
def static(name: str, request: Request) -> Response:
    """One file of ``api/static/`` (``wall.js``, ``wall.css``, ...)."""
    media = media_type(name)
    found = static_file(name) if media is not None else None
    if media is None or found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no static file {name!r}")
    return _respond(request, found[0], found[1], media)
