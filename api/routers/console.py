"""The operator console: static pages served by the app itself (no CDN, no build step).

``/`` is the console for a logged-in browser and redirects to ``/login`` otherwise; the pages
call the JSON API with the session cookie.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.auth import SESSION_COOKIE
from api.deps import get_auth

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
router = APIRouter(include_in_schema=False)
# Pages are small and change with each release: always revalidate.
_NO_CACHE = {"Cache-Control": "no-cache"}


def static_files() -> StaticFiles:
    """Mount at ``/static``: scripts, styles, icons."""
    return StaticFiles(directory=STATIC_DIR)


@router.get("/")
def index(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or get_auth(request).session_user(token) is None:
        return RedirectResponse("/login", status_code=303)
    return FileResponse(STATIC_DIR / "index.html", headers=_NO_CACHE)


@router.get("/login")
def login_page() -> Response:
    return FileResponse(STATIC_DIR / "login.html", headers=_NO_CACHE)
