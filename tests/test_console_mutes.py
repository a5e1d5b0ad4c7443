"""Muted regions and re-alerts in a real browser: what one operator's dismissal muted is drawn on
the camera wall with who muted it, another operator lifts it, and a re-alert after a dismissal
says so and links to the dismissed event. Likely look-alikes are outlined, and an admin turns
one into a mask proposal.

With ``EMBERWATCH_SCREENSHOTS=1`` the screenshots go to docs/screenshots/ (see
tests/test_console_screens.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from detector.types import Box, EventUpdate, LookAlike, Reason, Region, Transition
from service.config import AppConfig
from store.events import Decision
from store.mutes import MuteRecord, MuteRow, mute_record
from store.roles import Role
from streams.config import CameraConfig
from streams.state import StreamState
from tests.fixtures.app import FakePipeline, LiveServer, store_update
from tests.test_console import PASSWORD, browser, login
from tests.test_console_screens import _frame, _plume_box, _shot, shots

if TYPE_CHECKING:
    from fastapi import FastAPI
    from playwright.sync_api import Browser, Locator, Page

__all__ = ["browser", "shots"]  # fixtures
pytestmark = [pytest.mark.browser, pytest.mark.slow]

CAMERAS = [
    CameraConfig(id="ridge-north", name="Ridge North", url="rtsp://10.0.0.21/stream1"),
    CameraConfig(id="tower-east", name="Fire tower East", url="rtsp://10.0.0.22/stream1"),
]
HAZE_BAND: Box = (0.0, 0.36, 1.0, 0.50)  # a bright band along the horizon, high all afternoon
GLARE: Box = (0.70, 0.05, 0.95, 0.25)  # steady above threshold on the tower camera


def _open(
    app: FastAPI, ts: float, track: int, box: Box, score: float, seed: int, **kw: object
) -> int:
    update = EventUpdate(
        "ridge-north", "smoke", Transition.OPENED, ts - 30, ts, score, score, is_peak=True,
        regions=(Region("smoke", score, box),), frame=_frame("ridge-north", seed, 20.0, ts),
        track=track, box=box, **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    event_id = store_update(app, update)
    assert event_id is not None
    return event_id


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[LiveServer]:
    """Ridge North: a haze band event dismissed by olga, a plume event open at the same time,
    and a re-alert from the haze band's muted region; operators olga and oscar, viewer vic."""
    fake = FakePipeline(CAMERAS)
    config = AppConfig(data_dir=tmp_path / "data", cameras=CAMERAS)
    with LiveServer(create_app(config, pipeline=fake)) as server:
        app, now = server.app, time.time()
        users = {"olga": Role.OPERATOR, "oscar": Role.OPERATOR, "vic": Role.VIEWER,
                 "ada": Role.ADMIN}  # fmt: skip
        for name, role in users.items():
            app.state.auth.add_user(name, role, PASSWORD)
        fake.look_alikes["tower-east"] = (LookAlike("smoke", GLARE),)
        for i, cam in enumerate(CAMERAS):
            fake.frames[cam.id] = _frame(cam.id, 10 + i, 20.0, now - 1)
            fake.set_stats(cam.id, state=StreamState.STREAMING, last_frame_ts=now - 1)
        haze = _open(app, now - 2400, 1, HAZE_BAND, 0.74, 10)
        app.state.store.decide(haze, Decision.DISMISS, "olga", "bright haze band")
        _open(app, now - 600, 2, _plume_box(11, 20.0), 0.81, 11)
        _open(app, now - 120, 3, _plume_box(10, 20.0), 0.93, 10, parent_event=haze,
              reason=Reason.GREW_SINCE_DISMISSED)  # fmt: skip
        yield server


def _tile(page: Page, camera: str = "ridge-north") -> Locator:
    """The camera's tile on the camera wall (opened)."""
    page.click("#nav button[data-view=cameras]")
    return page.locator(f'.tile[data-camera="{camera}"]')


def test_re_alert_after_a_dismissal_links_to_the_dismissed_event(
    browser: Browser, watch: LiveServer, shots: Path
) -> None:
    from playwright.sync_api import expect

    page = login(browser, watch.url, "oscar")
    items = page.locator("#queue-list .ev")
    expect(items).to_have_count(2)  # two open events on one camera at once
    expect(items.first.locator(".badge.realert")).to_have_text("Re-alert: grew since dismissed")
    expect(items.nth(1).locator(".badge.realert")).to_have_count(0)
    expect(page.locator("#detail .detail-head .badge.realert")).to_have_text(
        "Re-alert: grew since dismissed"
    )
    page.wait_for_function("document.querySelector('#snapshot').naturalWidth > 0")
    _shot(page, shots, "re-alert")
    link = page.locator("#detail .parent-link")
    expect(link).to_contain_text("Dismissed")
    link.click()
    expect(page.locator("#detail-status")).to_have_text("Dismissed")
    expect(page.locator("#detail .decided-note")).to_have_text("bright haze band")

    # A re-alert arriving live is announced as one.
    haze = int(page.locator("#detail .id").inner_text().lstrip("#"))
    _open(watch.app, time.time(), 4, HAZE_BAND, 0.97, 10, parent_event=haze,
          reason=Reason.ROSE_SINCE_DISMISSED)  # fmt: skip
    expect(page.locator(".toast.alert").last).to_have_text(
        "Re-alert: rose since dismissed (Smoke): Ridge North"
    )
    expect(items.first.locator(".badge.realert")).to_have_text("Re-alert: rose since dismissed")
    page.click("#nav button[data-view=history]")
    expect(page.locator("#history-rows .badge.realert")).to_have_count(2)
    page.context.close()


def test_a_mute_made_by_one_operator_is_shown_and_lifted_by_another(
    browser: Browser, watch: LiveServer, shots: Path
) -> None:
    from playwright.sync_api import expect

    # olga dismisses the plume event in the console: its region is muted too.
    page = login(browser, watch.url, "olga")
    page.locator("#queue-list .ev", has_text="0.81").click()
    expect(page.locator("#detail .facts")).to_contain_text("0.81")
    page.keyboard.press("d")
    page.keyboard.press("Enter")
    expect(page.locator(".toast").last).to_have_text(re.compile(r"dismissed; its region is muted"))
    page.context.close()

    viewer = login(browser, watch.url, "vic")
    tile = _tile(viewer)
    expect(tile.locator(".mute-count")).to_have_text("2 muted regions")
    expect(tile.locator(".mute-list li")).to_have_count(2)
    for item in tile.locator(".mute-list li").all():
        expect(item).to_contain_text("Smoke muted by olga")
        expect(item).to_contain_text(re.compile(r"fades in \d+ h"))  # halves every 3 h
    expect(tile.locator(".lift-btn")).to_have_count(0)  # a viewer cannot lift
    other = viewer.locator('.tile[data-camera="tower-east"]')
    expect(other.locator(".mute-count")).to_be_hidden()
    viewer.context.close()

    page = login(browser, watch.url, "oscar")
    tile = _tile(page)
    boxes = tile.locator(".mute-box")
    expect(boxes).to_have_count(2)
    page.wait_for_function("document.querySelector('.tile img').naturalWidth > 0")
    _shot(page, shots, "cameras-muted")
    # Drawn where the region is: the band spans the picture's width at the horizon.
    frame = tile.locator(".frame").bounding_box()
    drawn = boxes.first.bounding_box()
    assert frame is not None and drawn is not None
    assert abs(drawn["width"] - frame["width"]) < 2
    assert abs(drawn["y"] - (frame["y"] + HAZE_BAND[1] * frame["height"])) < 2

    tile.locator(".mute-list .lift-btn").first.click()
    expect(page.locator(".toast").last).to_contain_text("Mute lifted")
    expect(boxes).to_have_count(1)
    expect(tile.locator(".mute-count")).to_have_text("1 muted region")
    lifted = [m for m in _all_mutes(watch) if not m.active]
    assert [(m.box, m.created_by, m.lifted_by) for m in lifted] == [(HAZE_BAND, "olga", "oscar")]
    page.context.close()


def _all_mutes(server: LiveServer) -> list[MuteRecord]:
    """Every stored mute, lifted ones included."""
    with Session(server.app.state.store.engine) as session:
        return [mute_record(row) for row in session.scalars(select(MuteRow))]


def test_a_look_alike_becomes_a_mask_proposal(browser: Browser, watch: LiveServer) -> None:
    from playwright.sync_api import expect

    operator = login(browser, watch.url, "oscar")
    tower = _tile(operator, "tower-east")
    expect(tower.locator(".lookalike-box")).to_have_count(1)
    expect(tower.locator(".lookalike-list li")).to_contain_text("Likely look-alike (Smoke)")
    expect(tower.locator(".propose-btn")).to_have_count(0)  # masks are an admin's
    operator.context.close()

    page = login(browser, watch.url, "ada")
    tower = _tile(page, "tower-east")
    tower.locator(".propose-btn").click()
    expect(page.locator("#mask-editor")).to_be_visible()
    expect(page.locator("#mask-title")).to_contain_text("proposed from a likely look-alike")
    x0, y0, x1, y1 = GLARE
    assert page.evaluate("[MaskEditor.polys, MaskEditor.selected]") == [
        [[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]],
        0,
    ]
    page.click("#mask-cancel")
    page.context.close()
