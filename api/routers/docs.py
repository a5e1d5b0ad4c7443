"""Interactive API documentation served from this machine: Swagger UI at ``/docs``, ReDoc at
``/redoc``.

FastAPI's own pages load their scripts from a CDN, which leaves a blank page on a control-room
network without internet. The same pages here load the Swagger UI and ReDoc bundles that the
``fastapi-offline`` package ships, mounted under ``/docs/static``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/static"
OPENAPI_URL = "/openapi.json"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
TITLE = "Emberwatch"
FAVICON_URL = "/static/icon.svg"
# validatorUrl None: Swagger UI would otherwise send the spec to an online validator.
SWAGGER_PARAMETERS = {"validatorUrl": None}
# ReDoc's bundle draws its maker's logo from their CDN in the side menu; the browser is told to
# take pictures and data from this service only, so that request is never made.
LOCAL_ONLY = {"Content-Security-Policy": "img-src 'self' data:; connect-src 'self'"}

router = APIRouter(include_in_schema=False)


def assets() -> StaticFiles:
    """Mount at :data:`ASSETS_URL`: ``swagger-ui-bundle.js``, ``swagger-ui.css``,
    ``redoc.standalone.js``."""
    return StaticFiles(directory=Path(str(files("fastapi_offline") / "static")))


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=f"{TITLE} - Swagger UI",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=FAVICON_URL,
        oauth2_redirect_url=OAUTH2_REDIRECT_URL,
        swagger_ui_parameters=SWAGGER_PARAMETERS,
    )
    page.headers.update(LOCAL_ONLY)
    return page


@router.get(OAUTH2_REDIRECT_URL)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc() -> HTMLResponse:
    page = get_redoc_html(
        openapi_url=OPENAPI_URL,
        title=f"{TITLE} - ReDoc",
        redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=FAVICON_URL,
        with_google_fonts=False,
    )
    page.headers.update(LOCAL_ONLY)
    return page
