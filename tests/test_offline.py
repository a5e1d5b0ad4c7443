"""Nothing the service serves loads anything from outside the machine: a control room's network
often has no internet, and a page waiting on a CDN stays blank.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from api.routers.console import STATIC_DIR
from tests.test_console import PASSWORD, browser
from tests.test_console_screens import demo

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from playwright.sync_api import Browser, Route

    from tests.fixtures.app import LiveServer

__all__ = ["browser", "demo"]  # fixtures, imported from the console tests

URL = re.compile(r"https?://[^\s\"'<>)]+")
# Not a load: the namespace of SVG elements, in markup and in createElementNS.
NAMESPACES = {"http://www.w3.org/2000/svg"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_load_only_local_assets(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert "img-src 'self'" in response.headers["content-security-policy"]
    html = response.text
    assert URL.findall(html) == []
    assets = ASSET.findall(html)
    assert any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    scripts = "\n".join(re.findall(r"<script>(.*?)</script>", html, re.S))
    assert "/openapi.json" in html and "http" not in scripts


@pytest.mark.parametrize(
    "path", sorted(p for p in STATIC_DIR.iterdir() if p.suffix in (".html", ".js", ".css", ".svg"))
)
def test_console_files_name_no_outside_address(path: Path) -> None:
    assert set(URL.findall(path.read_text(encoding="utf-8"))) <= NAMESPACES


@pytest.mark.browser
@pytest.mark.slow
def test_browser_requests_stay_on_the_machine(browser: Browser, demo: LiveServer) -> None:
    """Every console screen and both documentation pages, with every request watched: any to
    another host is recorded and refused."""
    from playwright.sync_api import expect

    outside: list[str] = []

    def watch(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    context.route(re.compile(r"^(https?|wss?)://"), watch)
    page = context.new_page()
    page.goto(demo.url + "/login")
    page.fill("#login-name", "maria")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#live")).to_have_class("live on", timeout=30_000)
    page.wait_for_function("document.querySelector('#snapshot').naturalWidth > 0")
    for view in ("cameras", "history", "stats", "users", "departments", "queue"):
        page.click(f"#nav button[data-view={view}]")
        expect(page.locator(f"#view-{view}")).to_be_visible()
    page.wait_for_load_state("networkidle")

    page.goto(demo.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Emberwatch")
    page.goto(demo.url + "/redoc")
    expect(page.locator("h1").first).to_contain_text("Emberwatch")
    page.wait_for_load_state("networkidle")
    context.close()
    assert outside == []
