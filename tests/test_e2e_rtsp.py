"""The whole service over real RTSP: gst-rtsp-server, PyAV, ONNX, smoothing, SQLite, API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.app import create_app
from benchmarks.rtsp import RtspServer
from service.config import AppConfig
from store.roles import Role
from tests.fixtures.app import authorize
from tests.fixtures.media import SynthClips

pytestmark = pytest.mark.slow

FAST_SMOOTHING = {"tau_s": 1.0, "min_persistence_s": 2.0, "quiet_s": 5.0}


@contextmanager
def service(
    tmp_path: Path, model_dir: Path, cameras: list[dict[str, Any]], scoring_threads: int = 1
) -> Iterator[TestClient]:
    detector = {"model_dir": str(model_dir), "batch_timeout_s": 0.02}
    config = AppConfig.model_validate(
        {
            "data_dir": tmp_path / "data",
            "cameras": cameras,
            "detector": detector | {"scoring_threads": scoring_threads},
            "smoothing": FAST_SMOOTHING,
            "streams": {"open_timeout_s": 2, "read_timeout_s": 2, "backoff_max_s": 2},
        }
    )
    with TestClient(create_app(config)) as client:
        yield authorize(client, "tester", Role.ADMIN)


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def camera(client: TestClient, camera_id: str) -> dict[str, Any]:
    response = client.get(f"/api/cameras/{camera_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_camera(
    client: TestClient, camera_id: str, check: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """Poll the camera until ``check(camera)`` holds; return that camera."""

    def matching() -> dict[str, Any] | None:
        cam = camera(client, camera_id)
        return cam if check(cam) else None

    found: dict[str, Any] = wait_until(matching, 60, what)
    return found


@pytest.fixture(params=[1, 2], ids=["one-scoring-thread", "two-scoring-threads"])
def smoke_and_negative(
    request: pytest.FixtureRequest, tmp_path: Path, plume_model_dir: Path, rtsp_server: RtspServer
) -> Iterator[TestClient]:
    cams = [
        {"id": "smoke", "url": rtsp_server.url("smoke"), "interval_s": 0.5},
        {"id": "negative", "url": rtsp_server.url("negative"), "interval_s": 0.5},
    ]
    with service(tmp_path, plume_model_dir, cams, request.param) as client:
        yield client


def test_smoke_camera_opens_an_event_with_snapshot_negative_none(
    smoke_and_negative: TestClient,
) -> None:
    client = smoke_and_negative
    events = wait_until(
        lambda: client.get("/api/events", params={"camera": "smoke"}).json()["items"],
        90,
        "an event on the smoke camera",
    )
    event = events[0]
    assert event["cls"] == "smoke" and event["status"] == "open"
    snap = client.get(f"/api/events/{event['id']}/snapshot.jpg")
    assert snap.status_code == 200 and snap.headers["content-type"] == "image/jpeg"
    clean = client.get(f"/api/events/{event['id']}/snapshot.jpg", params={"clean": 1})
    from io import BytesIO

    annotated_px = np.asarray(Image.open(BytesIO(snap.content)))
    clean_px = np.asarray(Image.open(BytesIO(clean.content)))
    assert annotated_px.shape == clean_px.shape == (360, 640, 3)
    assert np.abs(annotated_px.astype(int) - clean_px).max() > 100  # the region is drawn
    # the negative camera was analysed all along and never raised an event
    assert camera(client, "negative")["counters"]["analysed"] >= 10
    assert client.get("/api/events", params={"camera": "negative"}).json()["total"] == 0


def test_rtsp_outage_backs_off_and_recovers_while_other_cameras_run(
    tmp_path: Path,
    plume_model_dir: Path,
    make_rtsp_server: Callable[..., RtspServer],
    synth_clips: SynthClips,
) -> None:
    server = make_rtsp_server({"cam": synth_clips.negative_h264})
    cams = [
        {"id": "flaky", "url": server.url("cam"), "interval_s": 0.5},
        {"id": "steady", "url": str(synth_clips.negative_mp4), "loop": True, "interval_s": 0.5},
    ]
    with service(tmp_path, plume_model_dir, cams) as client:
        wait_camera(client, "flaky", lambda c: c["state"] == "streaming", "streaming")
        server.stop()
        down = wait_camera(client, "flaky", lambda c: c["state"] == "backoff", "backoff")
        assert down["last_error"]
        steady_before = camera(client, "steady")["counters"]["analysed"]
        server.restart()
        up = wait_camera(
            client,
            "flaky",
            lambda c: c["state"] == "streaming" and c["counters"]["reconnects"] >= 1,
            "streaming again",
        )
        assert up["counters"]["analysed"] > 0
        steady = camera(client, "steady")
        assert steady["state"] == "streaming"
        assert steady["counters"]["analysed"] > steady_before  # never stopped meanwhile
