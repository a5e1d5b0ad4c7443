"""The event's slippy map in a real browser: tiles from a loopback tile server, both cameras,
their bearing rays and the two-camera fix; the schematic when no tiles are configured."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from api.app import create_app
from api.routers.maps import LEAFLET
from detector.types import Region, Transition
from service.config import AppConfig, ConfigError, parse_config
from store.roles import Role
from streams.config import CameraConfig
from tests.fixtures.app import FakePipeline, LiveServer, make_update, store_update
from tests.test_console import PASSWORD, browser, login

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from playwright.sync_api import Browser, Route

__all__ = ["browser"]  # the fixture, imported from the flow tests

# Ridge North looks west, Fire tower East west-north-west: their rays cross west of the ridge.
CAMERAS = [
    CameraConfig(id="ridge-north", name="Ridge North", url="rtsp://10.0.0.21/stream1",
                 latitude=32.9127, longitude=-116.7811, heading_deg=270, fov_deg=62),
    CameraConfig(id="tower-east", name="Fire tower East", url="rtsp://10.0.0.22/stream1",
                 latitude=32.8651, longitude=-116.6990, heading_deg=300, fov_deg=60),
]  # fmt: skip
CENTRE = Region("smoke", 0.8, (0.45, 0.3, 0.55, 0.5))  # straight ahead: bearing = heading
TILE = re.compile(r"^/(\d+)/(\d+)/(\d+)\.png$")


def _tile_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (58, 92, 64)).save(out, format="PNG")
    return out.getvalue()


class TileServer:
    """A tile server on loopback: the same green tile for every z/x/y; counts the requests."""

    def __init__(self) -> None:
        png, served = _tile_png(), []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not TILE.match(self.path):
                    self.send_error(404)
                    return
                served.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, *_args: Any) -> None:
                pass

        self.served = served
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> TileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _located_pair(server: LiveServer) -> int:
    """Smoke seen by both cameras a minute apart; returns the first event once it has a fix."""
    now = time.time()
    first = store_update(
        server.app, make_update("ridge-north", Transition.OPENED, now - 90, regions=(CENTRE,))
    )
    store_update(
        server.app, make_update("tower-east", Transition.OPENED, now - 30, regions=(CENTRE,))
    )
    assert first is not None
    locations = server.app.state.publish.locations
    deadline = time.monotonic() + 30
    while (loc := locations.get(first)) is None or loc.latitude is None:
        assert time.monotonic() < deadline, "no two-camera fix"
        time.sleep(0.1)
    return first


def _refuse(outside: list[str]) -> Callable[[Route], None]:
    def handler(route: Route) -> None:
        outside.append(route.request.url)
        route.abort()

    return handler


@pytest.fixture
def tiles() -> Iterator[TileServer]:
    with TileServer() as server:
        yield server


def _service(tmp_path: Path, **map_settings: Any) -> LiveServer:
    config = AppConfig(data_dir=tmp_path / "data", cameras=CAMERAS, map=map_settings)  # type: ignore[arg-type]
    return LiveServer(create_app(config, pipeline=FakePipeline(CAMERAS)))


@pytest.mark.browser
@pytest.mark.slow
def test_event_map_shows_cameras_rays_and_fix_on_the_operators_tiles(
    browser: Browser, tmp_path: Path, tiles: TileServer
) -> None:
    from playwright.sync_api import expect

    if not LEAFLET.is_file():
        pytest.skip("Leaflet is not built in (scripts/vendor-leaflet.sh, run by make)")
    url = tiles.url + "/{z}/{x}/{y}.png"
    with _service(tmp_path, tile_url=url, attribution="Test tiles") as server:
        server.app.state.auth.add_user("maria", Role.ADMIN, PASSWORD)
        event_id = _located_pair(server)
        page = login(browser, server.url, "maria")
        outside: list[str] = []
        page.context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), _refuse(outside))
        page.locator(f'#queue-list .ev[data-id="{event_id}"]').click()
        shown = page.locator("#event-map")
        expect(shown.locator("path.map-camera")).to_have_count(2)
        expect(shown.locator("path.map-ray")).to_have_count(2)
        expect(shown.locator("path.map-fix")).to_have_count(1)
        expect(shown.locator("img.leaflet-tile-loaded").first).to_be_visible()
        expect(shown.locator(".leaflet-control-attribution")).to_contain_text("Test tiles")
        assert page.locator(".pub-map").count() == 0, "no schematic next to the map"
        page.context.close()
    assert tiles.served, "tiles came from the configured server"
    assert outside == [], "the map loads nothing from outside the machine"


@pytest.mark.browser
@pytest.mark.slow
def test_without_tiles_the_schematic_stays(browser: Browser, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with _service(tmp_path) as server:
        server.app.state.auth.add_user("maria", Role.ADMIN, PASSWORD)
        event_id = _located_pair(server)
        page = login(browser, server.url, "maria")
        page.locator(f'#queue-list .ev[data-id="{event_id}"]').click()
        expect(page.locator("#publish-panel img.pub-map")).to_be_visible()
        assert page.locator("#event-map").count() == 0
        page.context.close()


def test_map_settings(client: TestClient) -> None:
    body = client.get("/api/map/settings").json()
    assert body == {
        "tile_url": None,
        "attribution": "",
        "max_zoom": 18,
        "ray_km": 40.0,
        "available": False,
    }


def test_tile_url_needs_its_placeholders() -> None:
    with pytest.raises(ConfigError, match=r"map.tile_url: must contain \{z\}, \{x\} and \{y\}"):
        parse_config({"map": {"tile_url": "http://tiles.example.org/tile.png"}})
