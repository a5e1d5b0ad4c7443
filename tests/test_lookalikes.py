"""Likely look-alikes: the detector's steady cells reach /api/cameras as merged regions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from detector.config import DetectorConfig, SmoothingConfig
from detector.smoothing import CameraSmoother
from detector.types import LookAlike
from service.config import AppConfig
from service.pipeline import Pipeline
from streams.config import CameraConfig
from tests.fixtures.app import FakePipeline
from tests.fixtures.media import SynthClips

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

# Three cells of a haze band along the horizon (two touch, one overlaps), and a chimney apart.
BAND = [(0.0, 0.3, 0.25, 0.5), (0.25, 0.3, 0.5, 0.5), (0.45, 0.35, 0.7, 0.5)]
CHIMNEY = (0.85, 0.6, 0.9, 0.8)


def test_touching_steady_cells_of_one_class_are_one_look_alike() -> None:
    """The real smoother: three band cells (two touch, the third overlaps the second) and a
    chimney score high for longer than look_alike_s; a cell that rises late is not one yet."""
    cells = (*BAND, CHIMNEY, (0.0, 0.8, 0.2, 1.0))
    cfg = SmoothingConfig(tau_s=1.0, look_alike_s=600)
    sm = CameraSmoother("ridge", ("smoke",), {"smoke": 0.5}, cfg)
    for i in range(80):
        late = 0.8 if i > 60 else 0.0
        sm.observe(i * 10.0, cells, np.array([[0.8], [0.8], [0.8], [0.9], [late]]), len(cells))
    assert sm.look_alikes() == (
        LookAlike("smoke", (0.0, 0.3, 0.7, 0.5)),  # the band: one region
        LookAlike("smoke", CHIMNEY),
    )


class SteadySmoother(CameraSmoother):
    """The real smoother, reporting the band as a look-alike."""

    def look_alikes(self) -> tuple[LookAlike, ...]:
        return (LookAlike("smoke", (0.0, 0.3, 0.5, 0.5)),)


def test_the_pipeline_shows_each_camera_its_look_alikes(
    tmp_path: Path,
    plume_model_dir: Path,
    synth_clips: SynthClips,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("service.pipeline.CameraSmoother", SteadySmoother)
    cam = CameraConfig(id="ridge", url=str(synth_clips.negative_mp4), loop=True, interval_s=0.5)
    config = AppConfig(
        data_dir=tmp_path / "data",
        cameras=[cam],
        detector=DetectorConfig(model_dir=plume_model_dir, batch_timeout_s=0.01),
    )
    pipe = Pipeline(config, lambda _update: None)
    (before,) = pipe.cameras()
    assert before.look_alikes == ()  # nothing analysed yet
    pipe.start()
    try:
        deadline = time.monotonic() + 60
        while pipe.cameras()[0].analysed == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        (view,) = pipe.cameras()
    finally:
        pipe.stop()
    assert view.analysed > 0
    assert view.look_alikes == (LookAlike("smoke", (0.0, 0.3, 0.5, 0.5)),)


def test_api_lists_look_alikes_per_camera(
    viewer_client: TestClient, fake_pipeline: FakePipeline
) -> None:
    fake_pipeline.look_alikes["ridge"] = (LookAlike("smoke", CHIMNEY),)
    cameras = {cam["id"]: cam for cam in viewer_client.get("/api/cameras").json()}
    assert cameras["ridge"]["look_alikes"] == [{"cls": "smoke", "box": list(CHIMNEY)}]
    assert cameras["valley"]["look_alikes"] == []
