"""Console details that only show in a real browser: long camera names, cameras without a
heading, in both languages."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from api.app import create_app
from detector.types import Transition
from service.config import AppConfig
from store.events import Decision
from store.roles import Role
from streams.config import CameraConfig
from tests.fixtures.app import FakePipeline, LiveServer, make_update, store_update
from tests.test_console import PASSWORD, browser, login

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["browser"]  # the fixture, imported from the flow tests
pytestmark = [pytest.mark.browser, pytest.mark.slow]

LONG_NAME = "North ridge lookout tower, east-facing camera 2 (Qingshan forest farm)"
# No position and no heading, like the demo camera: no bearing can be drawn.
CAMERA = CameraConfig(id="north-ridge", name=LONG_NAME, url="rtsp://10.0.0.21/stream1")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[LiveServer]:
    """One open and one confirmed event on a camera with a long name and no heading."""
    config = AppConfig(data_dir=tmp_path / "data", cameras=[CAMERA])
    with LiveServer(create_app(config, pipeline=FakePipeline([CAMERA]))) as server:
        server.app.state.auth.add_user("maria", Role.ADMIN, PASSWORD)
        now = time.time()
        for start in (now - 600, now - 60):
            update = make_update(CAMERA.id, Transition.OPENED, start)
            event_id = store_update(server.app, update)
            assert event_id is not None
        server.app.state.store.decide(event_id - 1, Decision.CONFIRM, "maria", "")
        yield server


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_long_camera_name_leaves_the_status_whole(
    browser: Browser, service: LiveServer, locale: str
) -> None:
    from playwright.sync_api import expect

    page = login(browser, service.url, "maria", locale=locale)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.click(".queue .seg button[data-filter=all]")
    expect(page.locator("#queue-list .ev")).to_have_count(2)
    for item in page.locator("#queue-list .ev").all():
        fits = item.evaluate(
            """(li) => {
                const badge = li.querySelector(".side .status");
                const cam = li.querySelector(".cam");
                const outer = li.getBoundingClientRect(), b = badge.getBoundingClientRect();
                return {
                    whole: badge.scrollWidth <= badge.clientWidth,
                    inside: b.left >= outer.left && b.right <= outer.right + 0.5,
                    apart: cam.getBoundingClientRect().right <= b.left,
                    ellipsis: cam.scrollWidth > cam.clientWidth,
                };
            }"""
        )
        assert fits == {"whole": True, "inside": True, "apart": True, "ellipsis": True}
    page.context.close()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.VIEWER])
def test_alerts_panel_without_a_bearing_shows_no_null(
    browser: Browser, service: LiveServer, role: Role
) -> None:
    from playwright.sync_api import expect

    service.app.state.auth.add_user("vic", role, PASSWORD)
    page = login(browser, service.url, "vic")
    page.click(".queue .seg button[data-filter=all]")
    page.locator("#queue-list .ev.s-confirmed").click()
    panel = page.locator("#publish-panel")
    expect(panel.locator("h2")).to_have_text("Alerts to departments")
    expect(panel.locator(".pub-status")).to_be_visible()
    assert panel.locator(".pub-location").count() == 0
    assert "null" not in panel.inner_text()
    page.context.close()
