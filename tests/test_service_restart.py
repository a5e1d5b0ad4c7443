"""The real service in a subprocess: SIGKILL while events are written loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from benchmarks.synth import SynthSpec, write_clip
from tests.fixtures.service import start_service
from tests.fixtures.webhooks import free_port

pytestmark = pytest.mark.slow


def admin_token(config: Path, data_dir: Path) -> dict[str, str]:
    """Create a token-only admin with the real CLI; return the Authorization header."""
    cli = [sys.executable, "-m", "cli", "users"]
    where = ["--config", str(config), "--data-dir", str(data_dir)]
    subprocess.run([*cli, "add", "tester", "--role", "admin", "--no-password", *where], check=True)
    token = subprocess.run(
        [*cli, "token", "tester", *where], check=True, capture_output=True, text=True
    ).stdout.strip()
    return {"Authorization": f"Bearer {token}"}


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def busy_config(tmp_path: Path, plume_model_dir: Path) -> Path:
    """Four looping file cameras whose short plume clip opens and closes an event every loop."""
    clip = write_clip(tmp_path / "plume.mp4", SynthSpec(seconds=8, plume_start_s=1.0, fps=10))
    cameras = [
        {"id": f"cam{i}", "url": str(clip), "loop": True, "realtime": False, "interval_s": 0.2}
        for i in range(4)
    ]
    config = {
        "cameras": cameras,
        "detector": {"model_dir": str(plume_model_dir), "batch_timeout_s": 0.01},
        "smoothing": {"tau_s": 0.2, "min_persistence_s": 0.3, "quiet_s": 0.3},
    }
    path = tmp_path / "busy.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_sigkill_while_writing_events_loses_nothing(
    busy_config: Path, tmp_path: Path, service_log: Path
) -> None:
    data_dir, port = tmp_path / "data", free_port()
    auth = admin_token(busy_config, data_dir)
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=auth)
    proc = start_service(busy_config, data_dir, port, service_log)
    try:
        wait_for(lambda: api.get("/api/events").json()["total"] >= 8, 120, "8 events")
        reported = api.get("/api/events", params={"limit": 500}).json()["items"]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(reported) >= 8

    port = free_port()
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=auth)
    proc = start_service(busy_config, data_dir, port, service_log)
    try:
        wait_for(lambda: api.get("/healthz").status_code == 200, 60, "restart")
        after = {e["id"]: e for e in api.get("/api/events?limit=500").json()["items"]}
        for event in reported:
            assert event["id"] in after, f"event {event['id']} lost"
            assert after[event["id"]]["camera_id"] == event["camera_id"]
            snap = api.get(f"/api/events/{event['id']}/snapshot.jpg")
            assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8"
    finally:
        proc.terminate()
        proc.wait(10)
