"""Broken and odd files next to a good camera in one real service: named errors, steady memory.

The service runs as a subprocess (``emberwatch serve``) with the corpus of
:mod:`tests.fixtures.corrupt_media` as looping file cameras. Each broken file is reported in
``/api/cameras`` with its state and a message naming the file and the reason; a file whose
timestamps jump back or start hours late is scored like any other (frames are stamped with the
service's clock, not the camera's); the good camera keeps being analysed and the service's
resident memory stays bounded while the broken cameras are retried.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.fixtures.corrupt_media import write_corpus
from tests.fixtures.service import start_service, viewer_headers
from tests.fixtures.webhooks import free_port

pytestmark = pytest.mark.slow

BROKEN = {
    "truncated": "Invalid data found",
    "random": "Invalid data found",
    "audio": "no video stream",
    "empty": "empty file",
}
PLAYING = ("good", "jumpback", "clockoff")
RUN_S = 20.0
RSS_GROWTH_LIMIT = 200 * 1024 * 1024


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def cameras(api: httpx.Client) -> dict[str, dict[str, Any]]:
    return {cam["id"]: cam for cam in api.get("/api/cameras").raise_for_status().json()}


def settled(cams: dict[str, dict[str, Any]]) -> bool:
    """Every broken camera has failed once and every playing one has been analysed."""
    return all(cams[c]["last_error"] for c in BROKEN) and all(
        cams[c]["counters"]["analysed"] > 0 for c in PLAYING
    )


@pytest.fixture
def corpus_config(tmp_path: Path, plume_model_dir: Path) -> Path:
    files = write_corpus(tmp_path / "media")
    config = {
        "cameras": [
            {"id": cam, "url": str(path), "loop": True, "interval_s": 0.5}
            for cam, path in files.items()
        ],
        "detector": {"model_dir": str(plume_model_dir)},
    }
    path = tmp_path / "corpus.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_broken_files_are_named_and_the_good_camera_keeps_scoring(
    corpus_config: Path, tmp_path: Path, service_log: Path
) -> None:
    data_dir, port = tmp_path / "data", free_port()
    api = httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers=viewer_headers(corpus_config, data_dir)
    )
    proc = start_service(corpus_config, data_dir, port, service_log)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if settled(cams := cameras(api)):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the cameras did not settle"
            time.sleep(0.5)
        rss_start, analysed_start = rss_bytes(proc.pid), cams["good"]["counters"]["analysed"]
        time.sleep(RUN_S)
        end = cameras(api)
        rss_end = rss_bytes(proc.pid)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)

    for cam, reason in BROKEN.items():
        state = end[cam]
        assert state["state"] in ("backoff", "connecting"), (cam, state["state"])
        assert reason in state["last_error"] and f"{cam}." in state["last_error"], state
        assert state["counters"]["analysed"] == 0
    for cam in PLAYING:
        assert end[cam]["state"] == "streaming" and end[cam]["last_error"] is None, end[cam]
    assert end["good"]["counters"]["analysed"] > analysed_start
    for cam in ("jumpback", "clockoff"):
        assert end[cam]["counters"]["analysed"] > cams[cam]["counters"]["analysed"]
    assert rss_end - rss_start < RSS_GROWTH_LIMIT, (rss_start, rss_end)
