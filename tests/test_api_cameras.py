"""Cameras through the API: state, counters, position, redaction, latest frame."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from detector.types import Transition
from streams.state import StreamState
from tests.fixtures.app import (
    CAMERA_PASSWORD,
    MODEL_THRESHOLDS,
    T0,
    FakePipeline,
    make_frame,
    make_update,
    push_update,
)


def test_list_cameras(client: TestClient, fake_pipeline: FakePipeline) -> None:
    now = time.time()
    fake_pipeline.set_stats(
        "ridge",
        state=StreamState.STREAMING,
        decoded=250,
        sampled=50,
        dropped=3,
        reconnects=2,
        last_frame_ts=now - 4.0,
        keyframes_only=True,
        gop_s=2.0,
        fps=25.0,
    )
    fake_pipeline.set_analysis("ridge", 47, 0.35, {"smoke": 0.12, "flame": 0.01})
    cams = {c["id"]: c for c in client.get("/api/cameras").json()}
    assert list(cams) == ["ridge", "valley"]
    ridge = cams["ridge"]
    assert ridge["name"] == "Ridge North" and ridge["state"] == "streaming"
    assert ridge["counters"] == {
        "decoded": 250, "sampled": 50, "dropped": 3, "analysed": 47, "reconnects": 2
    }  # fmt: skip
    assert 4.0 <= ridge["last_frame_age_s"] < 60
    assert ridge["last_frame_at"].endswith("Z")
    assert (ridge["lag_s"], ridge["scores"]) == (0.35, {"smoke": 0.12, "flame": 0.01})
    assert ridge["thresholds"] == MODEL_THRESHOLDS, "what the scores are compared with"
    assert (ridge["latitude"], ridge["longitude"], ridge["heading_deg"], ridge["fov_deg"]) == (
        46.5, 7.9, 135.0, 60.0,
    )  # fmt: skip
    assert (ridge["keyframes_only"], ridge["gop_s"], ridge["fps"]) == (True, 2.0, 25.0)
    assert ridge["latest_url"] == "/api/cameras/ridge/latest.jpg"
    valley = cams["valley"]
    assert valley["name"] == "valley" and valley["state"] == "connecting"
    assert valley["last_frame_at"] is None and valley["last_frame_age_s"] is None
    assert valley["latitude"] is None and valley["lag_s"] is None
    assert valley["thresholds"] == {}, "not analysed yet"


def test_credentials_never_leave_the_api(client: TestClient, fake_pipeline: FakePipeline) -> None:
    # Even if an error message from the stream layer carried the password, it is masked.
    fake_pipeline.set_stats(
        "ridge",
        state=StreamState.BACKOFF,
        last_error=f"401 Unauthorized for rtsp://admin:{CAMERA_PASSWORD}@127.0.0.1:8554/smoke "
        f"(password {CAMERA_PASSWORD})",
    )
    push_update(client, make_update("ridge", Transition.OPENED, T0))
    ridge = client.get("/api/cameras/ridge").json()
    assert ridge["url"] == "rtsp://admin:***@127.0.0.1:8554/smoke?token=***"
    assert "401 Unauthorized" in ridge["last_error"] and "***" in ridge["last_error"]
    for path in (
        "/api/cameras",
        "/api/cameras/ridge",
        "/api/cameras/ridge/latest.jpg",
        "/api/events",
        "/api/events/1",
        "/healthz",
        "/metrics",
        "/openapi.json",
    ):
        response = client.get(path)
        assert CAMERA_PASSWORD not in response.text, path
        assert CAMERA_PASSWORD not in str(response.headers), path


def test_errors_name_the_file_and_keep_their_colon(
    client: TestClient, fake_pipeline: FakePipeline
) -> None:
    # A file path is not a credential: the error of a corrupt file names it.
    path = fake_pipeline.configs["valley"].url
    corrupt = f"{path}: cannot open: not a video (Invalid data found when processing input)"
    fake_pipeline.set_stats("valley", state=StreamState.BACKOFF, last_error=corrupt)
    # An error the stream layer already redacted keeps its "<what>: <cause>" form.
    refused = "rtsp://admin:***@127.0.0.1:8554/smoke?token=***: cannot open: Connection refused"
    fake_pipeline.set_stats("ridge", state=StreamState.BACKOFF, last_error=refused)
    cams = {c["id"]: c for c in client.get("/api/cameras").json()}
    assert cams["valley"]["last_error"] == corrupt
    assert cams["ridge"]["last_error"] == refused
    detail = client.get("/api/cameras/valley/latest.jpg").json()["detail"]
    assert detail.endswith(f"last error: {corrupt}")


def test_unknown_camera(client: TestClient) -> None:
    for path in ("/api/cameras/nowhere", "/api/cameras/nowhere/latest.jpg"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "camera 'nowhere' is not configured"}


def test_latest_frame_before_and_after_the_first_frame(
    client: TestClient, fake_pipeline: FakePipeline
) -> None:
    fake_pipeline.set_stats("valley", state=StreamState.BACKOFF, last_error="file not found")
    response = client.get("/api/cameras/valley/latest.jpg")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "camera 'valley' has no frame yet (stream state: backoff); "
        "last error: file not found"
    }
    frame = make_frame("valley", T0, seed=3)
    fake_pipeline.frames["valley"] = frame
    response = client.get("/api/cameras/valley/latest.jpg")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "no-store"
    with Image.open(io.BytesIO(response.content)) as img:
        decoded = np.asarray(img.convert("RGB")).astype(int)
    assert decoded.shape == frame.image.shape
    assert np.abs(decoded - frame.image.astype(int)).mean() < 4, "the clean frame, as decoded"


@pytest.mark.parametrize("state", list(StreamState))
def test_state_is_reported_as_is(
    client: TestClient, fake_pipeline: FakePipeline, state: StreamState
) -> None:
    if state is not StreamState.CONNECTING:
        fake_pipeline.set_stats("ridge", state=state)
    assert client.get("/api/cameras/ridge").json()["state"] == state.value
