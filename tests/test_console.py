"""The operator console in a real browser (Debian Chromium driven by Playwright).

The main flow runs the real service: real pipeline, the colour-rule fixture model, and a
synthetic smoke clip added as a camera through the API only after the console is open, so the
event can only reach the page over the live feed.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from api.app import create_app
from benchmarks.synth import SynthSpec, write_clip
from detector.types import Transition
from service.config import AppConfig
from store.roles import Role
from tests.fixtures.app import T0, LiveServer, make_update

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
PASSWORD = "watch-the-ridge"
# Generous: the machine running the tests may be busy; each wait ends as soon as it is met.
EVENT_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (/usr/bin/chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def login(browser: Browser, base: str, name: str, locale: str = "en-US") -> Page:
    """A new browser context logged in as ``name``, on the event queue with the feed live."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1600, "height": 900}, locale=locale)
    page = context.new_page()
    page.goto(base + "/")
    expect(page).to_have_url(base + "/login")
    page.fill("#login-name", name)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    expect(page).to_have_url(base + "/")
    expect(page.locator("#live")).to_have_class("live on", timeout=30_000)
    return page


@pytest.fixture
def live_service(tmp_path: Path, plume_model_dir: Path) -> Iterator[LiveServer]:
    """The real service with no camera yet; operator olga and viewer vic can log in."""
    config = AppConfig.model_validate(
        {
            "data_dir": tmp_path / "data",
            "detector": {"model_dir": str(plume_model_dir), "batch_timeout_s": 0.01},
            "smoothing": {"tau_s": 0.2, "min_persistence_s": 0.3, "quiet_s": 0.3},
        }
    )
    with LiveServer(create_app(config)) as server:
        auth = server.app.state.auth
        auth.add_user("olga", Role.OPERATOR, PASSWORD)
        auth.add_user("vic", Role.VIEWER, PASSWORD)
        auth.add_user("root", Role.ADMIN)
        yield server


def _admin(server: LiveServer) -> httpx.Client:
    token = server.app.state.auth.issue_token("root")
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})


def _add_smoke_camera(server: LiveServer, tmp_path: Path) -> None:
    # Inside the data directory: the API takes video files from there only.
    clip = write_clip(
        tmp_path / "data" / "plume.mp4", SynthSpec(seconds=8, plume_start_s=1.0, fps=10)
    )
    body: dict[str, Any] = {
        "id": "hill",
        "name": "Hillside (synthetic)",
        "url": str(clip),
        "loop": True,
        "realtime": False,
        "interval_s": 0.2,
    }
    with _admin(server) as api:
        response = api.post("/api/cameras", json=body)
    assert response.status_code == 201, response.text


def test_login_page_refuses_a_wrong_password(browser: Browser, live_service: LiveServer) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(live_service.url + "/")
    page.fill("#login-name", "olga")
    page.fill("#login-password", "not-her-password")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("Wrong user name or password.")
    expect(page).to_have_url(live_service.url + "/login")
    page.close()


def test_live_event_confirmed_with_the_keyboard(
    browser: Browser, live_service: LiveServer, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = login(browser, live_service.url, "olga")
    expect(page.locator("#queue-empty")).to_be_visible()
    page.evaluate("window.__notReloaded = true")

    _add_smoke_camera(live_service, tmp_path)
    first = page.locator("#queue-list .ev").first
    expect(first).to_be_visible(timeout=EVENT_TIMEOUT_MS)
    assert page.evaluate("window.__notReloaded") is True, "the event arrived without a reload"
    expect(first).to_contain_text("Hillside (synthetic)")
    expect(page.locator(".toast.alert").first).to_have_text("New Smoke event: Hillside (synthetic)")
    expect(first).to_have_class(re.compile(r"\bs-open\b.*\bselected\b"), timeout=10_000)

    # The first event opens by itself; the detail shows its picture and timeline.
    detail = page.locator("#detail")
    expect(detail.locator("h1")).to_have_text("Hillside (synthetic)")
    expect(detail.locator("#snapshot")).to_be_visible()
    page.wait_for_function("document.querySelector('#snapshot').naturalWidth > 0")
    event_id = int(first.get_attribute("data-id") or 0)

    page.keyboard.press("c")
    expect(page.locator("#confirm")).to_have_class(re.compile(r"\barmed\b"))
    page.keyboard.type("column of smoke behind the ridge")
    page.keyboard.press("Enter")
    expect(detail.locator("#detail-status")).to_have_text("Confirmed")
    expect(page.locator(f'#queue-list .ev[data-id="{event_id}"]')).to_have_class(
        re.compile(r"\bs-confirmed\b")
    )
    with _admin(live_service) as api:
        stored = api.get(f"/api/events/{event_id}").json()
    assert (stored["status"], stored["operator"]) == ("confirmed", "olga")
    assert stored["note"] == "column of smoke behind the ridge"
    page.context.close()


def test_viewer_sees_no_decision_and_the_api_refuses(
    browser: Browser, live_service: LiveServer, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    _add_smoke_camera(live_service, tmp_path)
    page = login(browser, live_service.url, "vic")
    first = page.locator("#queue-list .ev").first
    expect(first).to_be_visible(timeout=EVENT_TIMEOUT_MS)
    first.click()
    expect(page.locator("#detail h1")).to_have_text("Hillside (synthetic)")
    expect(page.locator("#detail .decide")).to_have_text(
        "Your role can view events but not decide them."
    )
    assert page.locator("#confirm").count() == 0 and page.locator("#dismiss").count() == 0
    page.keyboard.press("c")
    assert page.locator(".armed").count() == 0

    event_id = int(first.get_attribute("data-id") or 0)
    status = page.evaluate(
        """async (id) => (await fetch(`/api/events/${id}/confirm`, {
            method: "POST", body: "{}",
            headers: {"Content-Type": "application/json", "X-CSRF-Token": csrfToken()},
        })).status""",
        event_id,
    )
    assert status == 403
    with _admin(live_service) as api:
        assert api.get(f"/api/events/{event_id}").json()["status"] == "open"
    page.context.close()


def test_mask_drawn_in_the_editor_is_applied(
    browser: Browser, live_service: LiveServer, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    live_service.app.state.auth.update_user("olga", role=Role.ADMIN)
    _add_smoke_camera(live_service, tmp_path)
    page = login(browser, live_service.url, "olga")
    page.click("#nav button[data-view=cameras]")
    tile = page.locator('.tile[data-camera="hill"]')
    expect(tile.locator(".state")).to_have_text("Streaming", timeout=EVENT_TIMEOUT_MS)
    tile.locator(".mask-btn").click()
    canvas = page.locator("#mask-canvas")
    expect(canvas).to_be_visible()
    page.wait_for_function("MaskEditor.image !== null && MaskEditor.image.naturalWidth > 0")
    box = canvas.bounding_box()
    assert box is not None
    for fx, fy in ((0.1, 0.1), (0.5, 0.1), (0.5, 0.5), (0.1, 0.5)):
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    page.keyboard.press("Enter")
    page.click("#mask-save")
    expect(page.locator("#mask-editor")).not_to_be_visible()
    expect(tile.locator("polygon")).to_have_count(1)
    with _admin(live_service) as api:
        masks = api.get("/api/cameras/hill").json()["masks"]
    assert len(masks) == 1 and len(masks[0]) == 4
    (x0, y0), (x2, y2) = masks[0][0], masks[0][2]
    assert abs(x0 - 0.1) < 0.02 and abs(y0 - 0.1) < 0.02
    assert abs(x2 - 0.5) < 0.02 and abs(y2 - 0.5) < 0.02
    running = {v.config.id: v.config for v in live_service.app.state.pipeline.cameras()}
    assert [list(map(list, p)) for p in running["hill"].masks] == masks, "the detector has it"
    page.context.close()


def test_admin_adds_an_email_department(
    browser: Browser, tmp_path: Path, plume_model_dir: Path
) -> None:
    from playwright.sync_api import expect

    smtp = {"host": "127.0.0.1", "port": 2525, "security": "none", "from_address": "a@b.org"}
    detector = {"model_dir": str(plume_model_dir)}
    config = AppConfig.model_validate(
        {"data_dir": tmp_path / "data", "detector": detector, "publish": {"smtp": smtp}}
    )
    with LiveServer(create_app(config)) as server:
        server.app.state.auth.add_user("ada", Role.ADMIN, PASSWORD)
        page = login(browser, server.url, "ada")
        page.click("#nav button[data-view=departments]")
        form = page.locator("#department-form")
        form.locator("[name=name]").fill("Forestry")
        form.locator("[name=webhook_url]").fill("http://127.0.0.1:9/hook")
        form.locator("[name=email_to]").fill("duty@forest.example.org, chief@forest.example.org")
        form.locator("[name=secret]").fill("forestry-secret-0123")
        form.locator("button[type=submit]").click()
        expect(page.locator(".toast")).to_contain_text("exactly one channel")
        form.locator("[name=webhook_url]").fill("")
        form.locator("button[type=submit]").click()
        row = page.locator("#view-departments tbody tr")
        expect(row).to_contain_text("duty@forest.example.org, chief@forest.example.org")
        deps = server.app.state.publish.departments.list_all()
        assert [(d.name, d.email_to, d.webhook_url) for d in deps] == [
            ("Forestry", ("duty@forest.example.org", "chief@forest.example.org"), None)
        ]
        page.context.close()


def test_the_camera_wall_shows_the_recorders_backlog(
    browser: Browser, live_service: LiveServer, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = login(browser, live_service.url, "olga")
    page.click("#nav button[data-view=cameras]")
    health = page.locator("#health")
    expect(health).to_be_hidden()
    recorder = live_service.app.state.recorder
    # Another connection holds the database's write lock: the recorder waits on the first
    # transition, the next two queue up behind it.
    other = sqlite3.connect(tmp_path / "data" / "emberwatch.db", timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        for track in range(3):
            recorder.submit(make_update("hill", Transition.OPENED, T0 + track, track=track))
        expect(health).to_contain_text("Recorder backlog: 2 of 256 waiting", timeout=30_000)
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert recorder.drain(60)
    expect(health).to_be_hidden(timeout=30_000)
    page.context.close()
