"""Bearings and two-camera fixes on real events, in payloads, on the map; signed snapshots."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from detector.types import Region, Transition
from service.config import AppConfig
from streams.config import CameraConfig
from tests.fixtures.app import make_update, push_update
from tests.fixtures.webhooks import FAST_PUBLISH, Receiver, wait_until

OPENED = Transition.OPENED
# The hand-computed case of tests/test_geo.py: "west" at 46°N 7°E looking north-east, "east"
# 10 km east of it looking north-west; smoke in the centre column of both frames meets at
# 46.0449664°N, 7.0647311°E, 7.071 km from each camera.
CAMERAS = [
    CameraConfig(id="west", url="w.mp4", latitude=46.0, longitude=7.0, heading_deg=45.0,
                 fov_deg=60.0),
    CameraConfig(id="east", url="e.mp4", latitude=46.0, longitude=7.0 + 10 / 77.24269,
                 heading_deg=315.0, fov_deg=60.0),
    CameraConfig(id="blind", url="b.mp4"),  # no pose: no bearing
]  # fmt: skip
CENTRE = Region(cls="smoke", score=0.8, box=(0.45, 0.2, 0.55, 0.4))
RIGHT = Region(cls="smoke", score=0.8, box=(0.9, 0.2, 1.0, 0.4))  # x = 0.95: 45 + 28.8°


@pytest.fixture
def app_config(tmp_path: Path) -> AppConfig:
    return AppConfig(data_dir=tmp_path / "data", cameras=CAMERAS, publish=FAST_PUBLISH)


@pytest.fixture
def hook(client: TestClient) -> Iterator[Receiver]:
    receiver = Receiver().start()
    body = {"name": "brigade", "webhook_url": receiver.url, "secret": "0123456789abcdef"}
    assert client.post("/api/departments", json=body).status_code == 201
    yield receiver
    receiver.stop()


def open_event(client: TestClient, camera: str, ts: float, region: Region = CENTRE) -> int:
    event_id = push_update(client, make_update(camera, OPENED, ts, regions=(region,)))
    assert event_id is not None
    client.app.state.publish.reactor.drain()  # type: ignore[attr-defined]
    return event_id


def location(client: TestClient, event_id: int) -> dict[str, Any]:
    response = client.get(f"/api/events/{event_id}/location")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_two_cameras_give_a_fix_on_both_events(client: TestClient) -> None:
    now = time.time()
    west = open_event(client, "west", now)
    assert location(client, west) == {
        "event_id": west,
        "bearing_deg": pytest.approx(45.0),
        "latitude": None,
        "longitude": None,
        "paired_event_id": None,
        "distance_km": None,
    }
    east = open_event(client, "east", now + 90)
    for mine, other in ((west, east), (east, west)):
        loc = location(client, mine)
        assert loc["latitude"] == pytest.approx(46.0449664, abs=1e-5)
        assert loc["longitude"] == pytest.approx(7.0647311, abs=1e-5)
        assert loc["paired_event_id"] == other
        assert loc["distance_km"] == pytest.approx(7.071, abs=0.005)
    assert location(client, east)["bearing_deg"] == pytest.approx(315.0)


def test_no_fix_outside_the_window_or_without_pose(client: TestClient) -> None:
    now = time.time()
    west = open_event(client, "west", now)
    late = open_event(client, "east", now + 301)  # pair_window_s is 300
    blind = open_event(client, "blind", now)
    assert location(client, west)["latitude"] is None
    assert location(client, late)["latitude"] is None
    assert location(client, blind)["bearing_deg"] is None
    assert client.get("/api/events/999/location").status_code == 404


def test_off_centre_region_bearing(client: TestClient) -> None:
    event_id = open_event(client, "west", time.time(), RIGHT)
    # atan(0.45 * 2 * tan 30°) = atan(0.519615) = 27.4576°
    assert location(client, event_id)["bearing_deg"] == pytest.approx(72.4576, abs=1e-3)


def test_payload_carries_bearing_location_and_a_signed_snapshot_link(
    client: TestClient, anon_client: TestClient, hook: Receiver
) -> None:
    now = time.time()
    west = open_event(client, "west", now)
    open_event(client, "east", now + 30)
    client.post(f"/api/events/{west}/confirm", json={})
    client.post(f"/api/events/{west}/publish", json={"departments": "all"})
    wait_until(lambda: hook.bodies(), what="the alert")
    sent = json.loads(hook.bodies()[0].body)
    assert sent["bearing_deg"] == pytest.approx(45.0)
    assert sent["location"]["latitude"] == pytest.approx(46.0449664, abs=1e-5)
    assert sent["location"]["method"] == "triangulation"
    assert sent["camera"]["heading_deg"] == 45.0

    link = urlsplit(sent["snapshot"]["url"])
    assert link.netloc == "127.0.0.1:8000" and link.path == f"/api/published/{west}/snapshot.jpg"
    image = anon_client.get(f"{link.path}?{link.query}")  # no account: the signature is enough
    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"
    query = dict(p.split("=") for p in link.query.split("&"))
    tampered = f"{link.path}?expires={int(query['expires']) + 1}&sig={query['sig']}"
    assert anon_client.get(tampered).status_code == 403
    other = f"/api/published/{west + 1}/snapshot.jpg?{link.query}"
    assert anon_client.get(other).status_code == 403
    signer = client.app.state.publish.signer  # type: ignore[attr-defined]
    expired = f"{link.path}?{signer.query(west, int(now) - 1)}"
    assert anon_client.get(expired).status_code == 403


def test_map_svg_draws_cameras_rays_and_fixes(client: TestClient) -> None:
    now = time.time()
    open_event(client, "west", now)
    open_event(client, "east", now + 30)
    response = client.get("/api/map.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.text)
    ns = "{http://www.w3.org/2000/svg}"
    classes = [el.get("class") for el in root.iter() if el.get("class")]
    assert classes.count("camera") == 2  # "blind" has no position
    assert classes.count("ray") == 2 and classes.count("fix") == 2
    assert "http" not in response.text.replace("http://www.w3.org/2000/svg", "")  # no tiles
    circles = [
        (el.get("class"), float(el.get("cx", 0)), float(el.get("cy", 0)))
        for el in root.iter(f"{ns}circle")
    ]
    (_, wx, wy), (_, ex, ey) = [c for c in circles if c[0] == "camera"]
    _, fx, fy = next(c for c in circles if c[0] == "fix")
    # North up, east right: the fix lies north of both cameras, halfway between them.
    assert wx < ex and wy == pytest.approx(ey, abs=0.2)
    assert fy < wy and fx == pytest.approx((wx + ex) / 2, abs=0.5)
