"""A worker in process on a real JetStream server: it takes the cameras on the bus, analyses
them with the usual pipeline and reports their state; a camera it cannot analyse (its model is
missing on this node) is named in the log and the others go on."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from cluster.bus import connect, entries
from cluster.metrics import BusCounters
from cluster.settings import STATUS, ClusterSettings
from cluster.state import encode_camera
from cluster.worker import Worker
from service.config import AppConfig
from service.metrics import Metrics
from streams.config import CameraConfig
from tests.fixtures.media import SynthClips
from tests.fixtures.nats import NatsServer


async def _run(
    server: NatsServer, config: AppConfig, cameras: list[CameraConfig]
) -> dict[str, dict[str, Any]]:
    settings = ClusterSettings(bus=server.url, name="w1", lease_ttl_s=2.0)
    probe = await connect(settings.model_copy(update={"name": "probe"}),
                          BusCounters(CollectorRegistry()))  # fmt: skip
    for cam in cameras:
        await probe.cameras.put(cam.id, encode_camera(cam))
    stop = asyncio.Event()
    running = asyncio.create_task(Worker(settings, config, Metrics()).run(stop))
    try:
        for _ in range(300):
            status = {k: json.loads(v) for k, v in (await entries(probe.js, STATUS)).items()}
            if status.get("good", {}).get("analysed", 0) > 0:
                return status
            await asyncio.sleep(0.1)
        raise AssertionError("the good camera was never analysed")
    finally:
        stop.set()
        await running
        await probe.close()


def test_a_worker_analyses_its_cameras_and_skips_one_it_cannot(
    nats_server: NatsServer,
    synth_clips: SynthClips,
    plume_model_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = AppConfig(data_dir=tmp_path, detector={"model_dir": plume_model_dir})  # type: ignore[arg-type]
    good = CameraConfig(id="good", url=str(synth_clips.smoke_mp4), loop=True, interval_s=0.5)
    bad = CameraConfig(id="bad", url=str(synth_clips.smoke_mp4), model_dir=tmp_path / "none")
    with caplog.at_level(logging.INFO):
        status = asyncio.run(asyncio.wait_for(_run(nats_server, config, [good, bad]), 60))
    assert status["good"]["holder"] == "w1" and status["good"]["state"] == "streaming"
    assert "bad" not in status
    assert "camera bad: cannot be analysed on this worker" in caplog.text
