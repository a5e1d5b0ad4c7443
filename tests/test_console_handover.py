"""The camera wall with cameras on workers, in a real browser: each tile names the worker that
analyses the camera, and a camera whose worker stopped shows that it is being handed over."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from api.app import create_app
from api.auth import Role
from service.config import AppConfig
from streams.config import CameraConfig
from streams.state import StreamState
from tests.fixtures.app import FakePipeline, LiveServer
from tests.test_console import PASSWORD, browser, login

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from service.pipeline_types import CameraView

__all__ = ["browser"]  # fixture
pytestmark = [pytest.mark.browser, pytest.mark.slow]

CAMERAS = [
    CameraConfig(id="ridge-north", name="Ridge North", url="rtsp://10.0.0.21/stream1"),
    CameraConfig(id="tower-east", name="Fire tower East", url="rtsp://10.0.0.22/stream1"),
]


class OnWorkers(FakePipeline):
    """Ridge North analysed on worker w2; Fire tower East's worker is gone (hand-over)."""

    def cameras(self) -> list[CameraView]:
        return [
            replace(v, holder="w2", held_since=1.78e9)
            if v.config.id == "ridge-north"
            else replace(v, holder="w1", held_since=1.78e9, handover=True)
            for v in super().cameras()
        ]


@pytest.fixture
def wall(tmp_path: Path) -> Iterator[LiveServer]:
    fake = OnWorkers(CAMERAS)
    fake.set_stats("ridge-north", state=StreamState.STREAMING)
    config = AppConfig(data_dir=tmp_path / "data", cameras=CAMERAS)
    with LiveServer(create_app(config, pipeline=fake)) as server:
        server.app.state.auth.add_user("vic", Role.VIEWER, PASSWORD)
        yield server


def test_the_wall_names_each_cameras_worker_and_shows_a_hand_over(
    browser: Browser, wall: LiveServer
) -> None:
    from playwright.sync_api import expect

    page = login(browser, wall.url, "vic")
    page.click("#nav button[data-view=cameras]")
    ridge = page.locator('.tile[data-camera="ridge-north"]')
    tower = page.locator('.tile[data-camera="tower-east"]')
    expect(ridge.locator(".state")).to_have_text("Streaming")
    expect(ridge.locator("footer")).to_contain_text("on worker w2")
    expect(tower.locator(".state")).to_have_text("Hand-over")
    handover = re.compile(r"\bst-handover-tile\b")
    expect(tower).to_have_class(handover)
    expect(ridge).not_to_have_class(handover)
