"""A full disk under the data directory: the service says so, keeps scoring, keeps its events.

The real service runs as a subprocess with its data directory (database and snapshots) on a
small tmpfs, mounted here (root only; skipped where mounting is not permitted). Once events are
stored, a filler file takes the remaining space: ``/healthz`` turns ``degraded`` with storage
``failing`` and a log line says so, ``/metrics`` counts the failed writes, the cameras are
still analysed, and every event stored before is still there, the database intact. Removing
the filler brings the storage back to ``ok``.
"""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from benchmarks.synth import SynthSpec, write_clip
from tests.fixtures.service import start_service, viewer_headers
from tests.fixtures.webhooks import free_port

pytestmark = pytest.mark.slow

TMPFS_SIZE = "16m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs mounted at tmp_path/disk, unmounted at the end."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    cmd = ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", str(mount_point)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("no mount command here to make a small tmpfs")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path) -> Path:
    """Write a file in ``folder`` until the file system is full; return it."""
    filler = folder / "filler.bin"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as out:
        while True:
            try:
                out.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
    while True:  # the last partial block too
        try:
            with filler.open("ab", buffering=0) as out:
                out.write(b"\0" * 512)
        except OSError:
            return filler


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def plume_config(tmp_path: Path, plume_model_dir: Path) -> Path:
    clip = write_clip(tmp_path / "plume.mp4", SynthSpec(seconds=6, plume_start_s=1.0, fps=10))
    cameras = [{"id": f"cam{i}", "url": str(clip), "loop": True, "interval_s": 0.3} for i in (0, 1)]
    config = {
        "cameras": cameras,
        "detector": {"model_dir": str(plume_model_dir), "batch_timeout_s": 0.01},
        "smoothing": {"tau_s": 0.2, "min_persistence_s": 0.3, "quiet_s": 0.3},
    }
    path = tmp_path / "plume.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def analysed(api: httpx.Client) -> int:
    return sum(c["counters"]["analysed"] for c in api.get("/api/cameras").json())


def test_full_disk_is_reported_scoring_goes_on_and_stored_events_stay(
    small_disk: Path, plume_config: Path, service_log: Path
) -> None:
    data_dir, port = small_disk / "data", free_port()
    api = httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers=viewer_headers(plume_config, data_dir)
    )
    proc = start_service(plume_config, data_dir, port, service_log)
    try:
        wait_for(lambda: api.get("/api/events").json()["total"] >= 3, 90, "3 stored events")
        before = api.get("/api/events", params={"limit": 500}).json()["items"]
        assert api.get("/healthz").json()["storage"] == "ok"
        filler = fill(small_disk)
        health = wait_for(
            lambda: (h := api.get("/healthz").json())["storage"] == "failing" and h, 60, "failing"
        )
        assert health["status"] == "degraded" and health["free_bytes"] is not None
        scored = analysed(api)
        wait_for(lambda: analysed(api) > scored + 4, 30, "scoring to go on")
        metrics = api.get("/metrics").text
        assert any(
            line.startswith("emberwatch_storage_write_errors_total") and float(line.split()[-1]) > 0
            for line in metrics.splitlines()
        ), metrics
        for event in before:
            assert api.get(f"/api/events/{event['id']}").json()["started_at"] == event["started_at"]
        filler.unlink()
        wait_for(lambda: api.get("/healthz").json()["status"] == "ok", 60, "storage back to ok")
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert "storage: " in service_log.read_text() and "writes failing" in service_log.read_text()
    with sqlite3.connect(data_dir / "emberwatch.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        ids = {row[0] for row in db.execute("SELECT id FROM events")}
    assert {e["id"] for e in before} <= ids
