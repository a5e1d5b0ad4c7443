"""Cameras added, replaced, re-masked and removed through the API while the others stream.

The real app and pipeline run: looping synthetic files and a real RTSP server, PyAV decoding,
the colour-rule ONNX model, SQLite in tmp_path. Changes must survive a restart.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from detector.config import DEFAULT_MODEL, DEMO_MODEL, DetectorConfig
from service.config import AppConfig
from store.roles import Role
from streams.config import CameraConfig
from tests.fixtures.app import authorize
from tests.fixtures.media import MakeRtspServer, SynthClips

MASK = [[[0.0, 0.0], [0.5, 0.0], [0.5, 0.5]]]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def cameras(client: TestClient) -> dict[str, dict[str, Any]]:
    response = client.get("/api/cameras")
    assert response.status_code == 200
    return {c["id"]: c for c in response.json()}


def analysed(client: TestClient, cam_id: str) -> int:
    return int(cameras(client).get(cam_id, {}).get("counters", {}).get("analysed", 0))


def file_body(cam_id: str, clip: Path, **kw: Any) -> dict[str, Any]:
    return {"id": cam_id, "url": str(clip), "loop": True, "interval_s": 0.5, **kw}


@pytest.fixture
def config(tmp_path: Path, plume_model_dir: Path, synth_clips: SynthClips) -> AppConfig:
    """Two YAML cameras (looping files) and the colour-rule model."""
    yaml_cams = [
        CameraConfig.model_validate(file_body(cid, synth_clips.negative_mp4)) for cid in ("a", "b")
    ]
    return AppConfig(
        data_dir=tmp_path / "data",
        cameras=yaml_cams,
        detector=DetectorConfig(model_dir=plume_model_dir, batch_timeout_s=0.01),
    )


@dataclass(frozen=True)
class Clips:
    """Video files inside the data directory, where cameras added through the API must be."""

    smoke: Path
    negative: Path


@pytest.fixture
def clips(config: AppConfig, synth_clips: SynthClips) -> Clips:
    videos = config.data_dir / "videos"
    videos.mkdir(parents=True)
    return Clips(
        smoke=Path(shutil.copy(synth_clips.smoke_mp4, videos)),
        negative=Path(shutil.copy(synth_clips.negative_mp4, videos)),
    )


@pytest.fixture
def run_app(config: AppConfig) -> Iterator[Callable[[], TestClient]]:
    """Start the real app on ``config`` (again after a restart); every client is an admin."""
    opened: list[TestClient] = []

    def start() -> TestClient:
        client = TestClient(create_app(config))
        client.__enter__()
        opened.append(client)
        return authorize(client, "root", Role.ADMIN)

    yield start
    for client in opened:
        client.__exit__(None, None, None)


def test_add_replace_delete_while_others_stream_and_restart_keeps_it(
    run_app: Callable[[], TestClient], clips: Clips
) -> None:
    client = run_app()
    wait_until(lambda: analysed(client, "a") > 0 and analysed(client, "b") > 0, 60, "a, b")

    added = client.post("/api/cameras", json=file_body("c", clips.smoke, name="Cee"))
    assert added.status_code == 201, added.text
    assert added.json()["name"] == "Cee"
    wait_until(lambda: analysed(client, "c") > 0, 60, "the added camera analysed")

    before = {cid: analysed(client, cid) for cid in "ab"}
    replaced = client.put("/api/cameras/a", json=file_body("a", clips.smoke, name="A2"))
    assert replaced.status_code == 200 and replaced.json()["name"] == "A2"
    masked = client.put("/api/cameras/b/masks", json={"masks": MASK})
    assert masked.status_code == 200, masked.text
    assert masked.json()["masks"] == MASK
    assert client.delete("/api/cameras/c").status_code == 204
    assert "c" not in cameras(client)
    wait_until(lambda: analysed(client, "b") > before["b"] + 1, 60, "b keeps being analysed")
    wait_until(lambda: analysed(client, "a") > 0, 60, "the replaced camera analysed")

    # A deleted YAML camera stays deleted; a camera added at runtime comes back.
    assert client.delete("/api/cameras/b").status_code == 204
    body = file_body("d", clips.smoke, focus=False)  # e.g. a camera that pans
    assert client.post("/api/cameras", json=body).is_success
    assert client.put("/api/cameras/d/masks", json={"masks": MASK}).is_success
    client.__exit__(None, None, None)

    again = run_app()
    cams = cameras(again)
    assert sorted(cams) == ["a", "d"]
    assert cams["a"]["name"] == "A2" and cams["d"]["masks"] == MASK
    assert cams["a"]["focus"] is True and cams["d"]["focus"] is False
    wait_until(lambda: analysed(again, "a") > 0 and analysed(again, "d") > 0, 60, "after restart")
    # Re-creating a deleted YAML camera is allowed and survives too.
    assert again.post("/api/cameras", json=file_body("b", clips.negative)).is_success


def test_yaml_camera_masks_survive_a_restart(run_app: Callable[[], TestClient]) -> None:
    client = run_app()
    assert client.put("/api/cameras/a/masks", json={"masks": MASK}).status_code == 200
    client.__exit__(None, None, None)
    assert cameras(run_app())["a"]["masks"] == MASK


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"interval_s": -1}, "body.interval_s: Input should be greater than 0"),
        ({"id": "no spaces"}, "body.id"),
        ({"colour": "red"}, "body.colour: unknown key"),
        ({"url": "rtsp://u:${EMBERWATCH_TEST_UNSET}@127.0.0.1/x"}, "body.url: ${...} is expanded"),
        ({"url": "/nonexistent/clip.mp4"}, "body.url: a video file for a camera added"),
        ({"url": "clip\u0000.mp4"}, "body.url: a video file for a camera added"),
        ({"url": "x" * 5000}, "body.url: a video file for a camera added"),
        ({"masks": [[[0.1, 0.1], [0.2, 0.2]]]}, "body.masks: mask 0 has 2 points; a polygon"),
        ({"url": "ftp://127.0.0.1/cam.mp4"}, "body.url: unsupported scheme 'ftp': use rtsp://"),
    ],
)
def test_invalid_camera_is_422_naming_the_field(
    run_app: Callable[[], TestClient],
    clips: Clips,
    change: dict[str, Any],
    field: str,
) -> None:
    client = run_app()
    response = client.post("/api/cameras", json=file_body("new", clips.smoke) | change)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(field)
    assert "new" not in cameras(client)


def test_file_cameras_come_from_the_data_directory_and_no_other_file_is_probed(
    run_app: Callable[[], TestClient], config: AppConfig, synth_clips: SynthClips
) -> None:
    client = run_app()
    answers = [
        client.post("/api/cameras", json=file_body("x", Path(path))).json()["detail"]
        for path in (synth_clips.smoke_mp4, "/etc/passwd", "/no/such/file.mp4", "../../etc/x")
    ]
    assert len(set(answers)) == 1, "the same answer whether the file exists or not"
    assert f"must be inside {config.data_dir}" in answers[0]
    missing = client.post("/api/cameras", json=file_body("x", config.data_dir / "none.mp4"))
    assert missing.status_code == 422 and "no such video file in" in missing.json()["detail"]


def test_conflicts_unknown_ids_and_roles(run_app: Callable[[], TestClient], clips: Clips) -> None:
    client = run_app()
    body = file_body("a", clips.smoke)
    assert client.post("/api/cameras", json=body).status_code == 409
    assert client.put("/api/cameras/zz", json=file_body("zz", clips.smoke)).status_code == 404
    assert client.delete("/api/cameras/zz").status_code == 404
    assert client.put("/api/cameras/zz/masks", json={"masks": []}).status_code == 404
    mismatch = client.put("/api/cameras/a", json=file_body("b", clips.smoke))
    assert mismatch.status_code == 422 and "body.id" in mismatch.json()["detail"]
    bad_mask = client.put("/api/cameras/a/masks", json={"masks": [[[0, 0], [2, 0], [0, 1]]]})
    assert bad_mask.status_code == 422 and "outside 0..1" in bad_mask.json()["detail"]

    operator = authorize(TestClient(client.app), "otto", Role.OPERATOR)
    new = file_body("x", clips.smoke)
    assert operator.post("/api/cameras", json=new).status_code == 403
    assert operator.delete("/api/cameras/a").status_code == 403
    assert operator.put("/api/cameras/a/masks", json={"masks": []}).status_code == 403
    assert TestClient(client.app).post("/api/cameras", json=new).status_code == 401
    assert sorted(cameras(client)) == ["a", "b"]


def test_rtsp_camera_added_with_a_password_never_shows_it(
    run_app: Callable[[], TestClient],
    make_rtsp_server: MakeRtspServer,
    config: AppConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    password = "Sup3r-s3cret"
    server = make_rtsp_server(credentials=("admin", password))
    url = server.url("smoke")
    client = run_app()
    response = client.post("/api/cameras", json={"id": "ridge", "url": url, "interval_s": 1.0})
    assert response.status_code == 201, response.text
    wait_until(lambda: analysed(client, "ridge") > 0, 60, "the RTSP camera analysed")
    listing = client.get("/api/cameras")
    assert password not in response.text and password not in listing.text
    assert cameras(client)["ridge"]["state"] == "streaming"
    assert cameras(client)["ridge"]["url"].startswith("rtsp://admin:***@127.0.0.1:")


def test_the_api_never_expands_the_server_environment(
    run_app: Callable[[], TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBERWATCH_TEST_OTHER_PW", "0therCam-s3cret")
    client = run_app()
    for url in ("rtsp://127.0.0.1:9/${EMBERWATCH_TEST_OTHER_PW}", "rtsp://127.0.0.1:9/${PATH}"):
        response = client.post("/api/cameras", json={"id": "leak", "url": url})
        assert response.status_code == 422, response.text
        assert "only in the configuration file" in response.json()["detail"]
        assert "0therCam-s3cret" not in response.text and os.environ["PATH"] not in response.text
    assert "leak" not in cameras(client)


def test_a_stored_env_reference_is_not_expanded_at_start(
    run_app: Callable[[], TestClient],
    config: AppConfig,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A definition stored with ${VAR} before the API refused them is reported, not run."""
    run_app().__exit__(None, None, None)
    monkeypatch.setenv("EMBERWATCH_TEST_OTHER_PW", "0therCam-s3cret")
    db = sqlite3.connect(config.data_dir / "emberwatch.db")
    definition = '{"id": "old", "url": "rtsp://127.0.0.1:9/${EMBERWATCH_TEST_OTHER_PW}"}'
    db.execute(
        "INSERT INTO runtime_cameras (camera_id, definition, deleted, created_at, updated_at)"
        " VALUES ('old', ?, 0, 0, 0)",
        (definition,),
    )
    db.commit()
    db.close()
    with caplog.at_level(logging.ERROR):
        client = run_app()
    assert "old" not in cameras(client)
    assert "camera old: stored definition is invalid (url: ${...} is expanded" in caplog.text
    assert "0therCam-s3cret" not in caplog.text


def test_demo_camera_and_added_cameras_are_scored_by_their_own_models(
    tmp_path: Path, synth_clips: SynthClips, caplog: pytest.LogCaptureFixture
) -> None:
    """Demo mode: the synthetic camera keeps the demo colour rule while a camera added through
    the API is scored by the shipped model, side by side, both analysed; each camera says which
    model scores it. A camera's own model is set in the file, never through the API."""
    demo = CameraConfig.model_validate(file_body("demo", synth_clips.smoke_mp4))
    config = AppConfig(
        data_dir=tmp_path / "data",
        cameras=[demo.model_copy(update={"model_dir": DEMO_MODEL})],
        detector=DetectorConfig(batch_timeout_s=0.01),  # the shipped model for the others
    )
    videos = config.data_dir / "videos"  # where the API takes video files from
    videos.mkdir(parents=True)
    clip = Path(shutil.copy(synth_clips.negative_mp4, videos))
    with TestClient(create_app(config)) as client:
        authorize(client, "root", Role.ADMIN)
        with caplog.at_level(logging.INFO, logger="service"):
            body = file_body("ridge", clip)
            assert client.post("/api/cameras", json=body).status_code == 201
        assert f"camera ridge: scored by model {DEFAULT_MODEL.name}" in caplog.text
        off = file_body("off", clip, enabled=False)
        assert client.post("/api/cameras", json=off).status_code == 201
        own = client.post("/api/cameras", json=file_body("x", clip) | {
            "model_dir": str(DEMO_MODEL)})  # fmt: skip
        assert own.status_code == 422
        assert own.json()["detail"] == (
            "body.model_dir: a camera's own model is set in the configuration file only"
        )
        wait_until(lambda: min(analysed(client, c) for c in ("demo", "ridge")) >= 2, 60, "scores")
        models = {cam_id: cam["model"] for cam_id, cam in cameras(client).items()}
    assert models == {"demo": "demo-plume", "ridge": DEFAULT_MODEL.name, "off": None}
