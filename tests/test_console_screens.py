"""Every console screen renders in a real browser, in English and Chinese; screenshots.

A fake pipeline with synthetic hillside frames and pushed events gives a stable picture. With
``EMBERWATCH_SCREENSHOTS=1`` the PNGs are written to docs/screenshots/ (for the README);
otherwise to a temporary directory. The queue, camera wall and Chinese pictures of the README
come from the real service instead; these staged ones are named ``staged-*``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from sqlalchemy import select, update

from api.app import create_app
from benchmarks.synth import SynthSpec, render_frame
from detector.types import EventUpdate, Region, Transition
from service.config import AppConfig
from store.db import EventRow
from store.events import Decision
from store.mutes import MuteRow
from store.roles import Role
from streams.config import CameraConfig
from streams.frame import Frame
from streams.state import StreamState
from tests.fixtures.app import FakePipeline, LiveServer, store_update
from tests.test_console import PASSWORD, browser, login

if TYPE_CHECKING:
    from fastapi import FastAPI
    from playwright.sync_api import Browser, Page

__all__ = ["browser"]  # the fixture, imported from the flow tests
pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOCS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
W, H = 1280, 720
CAMERAS = [
    CameraConfig(id="ridge-north", name="Ridge North", url="rtsp://10.0.0.21/stream1",
                 latitude=32.9127, longitude=-116.7811, heading_deg=270, fov_deg=62),
    CameraConfig(id="tower-east", name="Fire tower East", url="rtsp://10.0.0.22/stream1",
                 latitude=32.8651, longitude=-116.6990, heading_deg=300, fov_deg=60,
                 masks=[[(0.0, 0.86), (0.34, 0.8), (0.42, 1.0), (0.0, 1.0)]]),
    CameraConfig(id="valley-road", name="Valley road", url="rtsp://10.0.0.23/stream1",
                 latitude=32.8812, longitude=-116.7402, heading_deg=15, fov_deg=90),
    CameraConfig(id="summit", name="Summit relay", url="rtsp://10.0.0.24/stream1"),
]  # fmt: skip


def _spec(seed: int, plume: bool = True) -> SynthSpec:
    return SynthSpec(width=W, height=H, seed=seed, plume_start_s=2.0 if plume else None)


def _frame(cam: str, seed: int, t: float, ts: float, plume: bool = True) -> Frame:
    return Frame(camera_id=cam, ts=ts, index=int(t * 10), image=render_frame(_spec(seed, plume), t))


def _plume_box(seed: int, t: float) -> tuple[float, float, float, float]:
    """Normalised box around the synthetic plume: where it changes a cloudless frame."""
    bare = SynthSpec(width=W, height=H, seed=seed, plume_start_s=2.0, clouds=False, haze=False)
    diff = np.abs(render_frame(bare, t).astype(int) - render_frame(bare, 0.0).astype(int))
    ys, xs = np.nonzero(diff.sum(axis=2) > 30)
    return (xs.min() / W, ys.min() / H, (xs.max() + 1) / W, (ys.max() + 1) / H)


def _episode(
    app: FastAPI, cam: str, seed: int, start: float, steps: int, cls: str = "smoke"
) -> int:
    """An event on ``cam`` with ``steps`` rising updates, 20 s apart; returns its id."""
    event_id = None
    for i in range(steps):
        t = 4.0 + 3.0 * i
        score = min(0.97, 0.55 + 0.09 * i + 0.03 * np.sin(i))
        box = _plume_box(seed, t)
        update = EventUpdate(
            camera_id=cam, cls=cls, started_at=start, ts=start + 20 * i, score=score,
            peak_score=score, is_peak=True, transition=Transition.OPENED if i == 0 else
            Transition.UPDATED, regions=(Region(cls, score, box),),
            frame=_frame(cam, seed, t, start + 20 * i),
        )  # fmt: skip
        event_id = store_update(app, update) or event_id
    assert event_id is not None
    return event_id


def _decide(
    app: FastAPI, event_id: int, action: Decision, who: str, note: str, after_s: float
) -> None:
    app.state.store.decide(event_id, action, who, note)
    with app.state.store.engine.begin() as conn:  # a realistic reaction time for the statistics
        conn.execute(
            update(EventRow).where(EventRow.id == event_id)
            .values(created_at=EventRow.started_at + 16,
                    decided_at=EventRow.started_at + 16 + after_s)
        )  # fmt: skip
        started = select(EventRow.started_at).where(EventRow.id == event_id).scalar_subquery()
        conn.execute(  # muted when it was dismissed: older mutes have faded
            update(MuteRow).where(MuteRow.event_id == event_id)
            .values(created_at=started + 16 + after_s)
        )  # fmt: skip


def _history(app: FastAPI, now: float) -> None:
    """Two weeks of decided events, so history and statistics have something to show."""
    rng = np.random.default_rng(7)
    for day in range(13, 0, -1):
        for n in range(int(rng.integers(0, 4))):
            cam = CAMERAS[int(rng.integers(0, 3))].id
            start = now - day * 86400 + n * 3600 + float(rng.integers(0, 3000))
            event_id = _episode(app, cam, 3 + day, start, 2)
            store_update(app, EventUpdate(cam, "smoke", Transition.CLOSED, start, start + 300,
                                          0.3, 0.7))  # fmt: skip
            real = rng.random() < 0.3
            _decide(app, event_id, Decision.CONFIRM if real else Decision.DISMISS,
                    "li.wei" if n % 2 else "maria",
                    "" if real else ["low cloud", "dust from the road", "sun glare"][n % 3],
                    float(rng.integers(20, 400)))  # fmt: skip


def _seed(app: FastAPI, fake: FakePipeline) -> None:
    now = time.time()
    for i, cam in enumerate(CAMERAS):
        fake.frames[cam.id] = _frame(
            cam.id, 10 + i, 30.0 if i == 0 else 0.0, now - 1.5, plume=i == 0
        )
        fake.set_stats(cam.id, state=StreamState.STREAMING, last_frame_ts=now - 1.5 - i,
                       decoded=4200 + 917 * i, sampled=840, dropped=i)  # fmt: skip
        fake.set_analysis(cam.id, 838 + i, 0.21 + 0.07 * i, {"smoke": 0.05, "flame": 0.01})
    fake.set_stats("summit", state=StreamState.BACKOFF, last_frame_ts=now - 95,
                   last_error="connection refused (retry in 8 s)")  # fmt: skip
    _history(app, now)
    old = _episode(app, "valley-road", 21, now - 3000, 3)
    _decide(app, old, Decision.DISMISS, "maria", "dust from the road", 48)
    _episode(app, "tower-east", 22, now - 1500, 4)
    _episode(app, "ridge-north", 10, now - 400, 8)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[LiveServer]:
    config = AppConfig(data_dir=tmp_path / "data", cameras=CAMERAS)
    fake = FakePipeline(CAMERAS)
    with LiveServer(create_app(config, pipeline=fake)) as server:
        server.app.state.auth.add_user("maria", Role.ADMIN, PASSWORD)
        _seed(server.app, fake)
        yield server


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    out = DOCS if os.environ.get("EMBERWATCH_SCREENSHOTS") == "1" else tmp_path / "shots"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _shot(page: Page, out: Path, name: str) -> None:
    page.wait_for_timeout(400)  # let images decode and animations settle
    page.screenshot(path=str(out / f"{name}.png"))
    assert (out / f"{name}.png").stat().st_size > 10_000


def test_screens(browser: Browser, demo: LiveServer, shots: Path) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="en-US")
    page.goto(demo.url + "/login")
    expect(page.locator("#login-submit")).to_have_text("Sign in")
    _shot(page, shots, "login")
    page.close()

    page = login(browser, demo.url, "maria")
    page.set_viewport_size({"width": 1600, "height": 900})
    expect(page.locator("#queue-list .ev")).to_have_count(2)  # the open ones
    expect(page.locator("#detail h1")).to_have_text("Ridge North")  # the newest, opened by itself
    page.click(".queue .seg button[data-filter=all]")
    expect(page.locator("#queue-list .ev.s-dismissed").first).to_be_visible()
    page.wait_for_function("document.querySelector('#snapshot').naturalWidth > 0")
    _shot(page, shots, "staged-queue")
    page.keyboard.press("j")
    expect(page.locator("#detail h1")).to_have_text("Fire tower East")
    page.keyboard.press("k")
    expect(page.locator("#detail h1")).to_have_text("Ridge North")
    page.keyboard.press("m")
    assert page.evaluate("localStorage.getItem('emberwatch.muted')") == "1"

    page.click("#nav button[data-view=cameras]")
    expect(page.locator(".tile")).to_have_count(4)
    expect(page.locator('.tile[data-camera="summit"] .state')).to_have_text("Reconnecting")
    expect(page.locator('.tile[data-camera="ridge-north"] footer')).to_contain_text(
        "Smoke 0.05 / 0.60"
    )
    page.wait_for_function(
        "[...document.querySelectorAll('.tile img')].filter(i => i.naturalWidth).length >= 3"
    )
    _shot(page, shots, "staged-cameras")

    page.locator('.tile[data-camera="ridge-north"] .mask-btn').click()
    page.wait_for_function("MaskEditor.image !== null")
    box = page.locator("#mask-canvas").bounding_box()
    assert box is not None
    for fx, fy in ((0.62, 0.70), (0.98, 0.62), (0.98, 0.95), (0.66, 0.95)):
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    page.keyboard.press("Enter")
    for fx, fy in ((0.05, 0.1), (0.2, 0.08), (0.22, 0.25)):
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    _shot(page, shots, "mask-editor")
    page.click("#mask-cancel")

    page.click("#nav button[data-view=history]")
    expect(page.locator("#history-rows tr").first).to_be_visible()
    _shot(page, shots, "history")

    page.click("#nav button[data-view=stats]")
    expect(page.locator("#stats-rows tr")).to_have_count(4)
    _shot(page, shots, "stats")
    page.context.close()


def test_chinese_console(browser: Browser, demo: LiveServer, shots: Path) -> None:
    from playwright.sync_api import expect

    page = login(browser, demo.url, "maria", locale="zh-CN")
    page.set_viewport_size({"width": 1600, "height": 900})
    expect(page.locator("#nav button[data-view=queue]")).to_contain_text("事件")
    expect(page.locator("#live")).to_contain_text("实时")
    expect(page.locator("#confirm")).to_contain_text("确认火情")
    page.wait_for_function("document.querySelector('#snapshot').naturalWidth > 0")
    _shot(page, shots, "staged-queue-zh")
    page.click("#lang")
    expect(page.locator("#nav button[data-view=queue]")).to_contain_text("Events")
    expect(page.locator("#confirm")).to_contain_text("Confirm fire")
    page.reload()
    expect(page.locator("#nav button[data-view=queue]")).to_contain_text("Events")
    page.context.close()
