"""The real pipeline (real files, PyAV, onnxruntime) changed while it runs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from api.routers.cameras import camera_out
from detector.config import DetectorConfig
from detector.model import CameraRules, OnnxModel, StageTimes
from detector.types import Detection, EventUpdate
from service.config import AppConfig
from service.pipeline import CameraView, Pipeline
from streams.config import CameraConfig
from streams.frame import Frame
from tests.fixtures.media import SynthClips

FULL_FRAME = [[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def file_camera(cam_id: str, clip: Path, **kw: object) -> CameraConfig:
    fields: dict[str, object] = {"url": str(clip), "loop": True, "interval_s": 0.5}
    fields.update(kw)
    return CameraConfig(id=cam_id, **fields)  # type: ignore[arg-type]


class Scored:
    """Collects every detection the pipeline hands out (its ``on_scored`` hook)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[Detection] = []

    def __call__(self, detections: Sequence[Detection]) -> None:
        with self.lock:
            self.items.extend(detections)

    def of(self, cam_id: str, after: float = 0.0) -> list[Detection]:
        with self.lock:
            return [d for d in self.items if d.camera_id == cam_id and d.frame.received > after]


def views(pipe: Pipeline) -> dict[str, CameraView]:
    return {v.config.id: v for v in pipe.cameras()}


@pytest.fixture
def make_pipeline(tmp_path: Path, plume_model_dir: Path) -> Iterator[Callable[..., Pipeline]]:
    started: list[Pipeline] = []

    def make(cameras: list[CameraConfig], **kw: object) -> Pipeline:
        config = AppConfig(
            data_dir=tmp_path / "data",
            cameras=cameras,
            detector=DetectorConfig(model_dir=plume_model_dir, batch_timeout_s=0.01),
        )
        events: list[EventUpdate] = []
        pipe = Pipeline(config, events.append, **kw)  # type: ignore[arg-type]
        pipe.start()
        started.append(pipe)
        return pipe

    yield make
    for pipe in started:
        pipe.stop()


def test_add_replace_and_remove_cameras_while_others_stream(
    make_pipeline: Callable[..., Pipeline], synth_clips: SynthClips
) -> None:
    clip = synth_clips.smoke_mp4
    pipe = make_pipeline([file_camera("a", clip), file_camera("b", clip)])
    wait_until(lambda: all(v.analysed > 0 for v in pipe.cameras()), 30, "a and b analysed")

    pipe.add_camera(file_camera("c", synth_clips.negative_mp4))
    wait_until(lambda: views(pipe)["c"].analysed > 0, 30, "the added camera analysed")

    before = {cid: v.analysed for cid, v in views(pipe).items()}
    assert pipe.remove_camera("a") is True
    assert pipe.remove_camera("a") is False
    assert "a" not in views(pipe) and pipe.latest_frame("a") is None
    wait_until(lambda: all(views(pipe)[c].analysed > before[c] + 1 for c in "bc"), 30, "b, c go on")

    # Replacing restarts only that camera; a disabled camera is listed but not opened.
    pipe.add_camera(
        file_camera("c", clip, interval_s=1.0, name="Replaced", thresholds={"smoke": 0.8})
    )
    pipe.add_camera(file_camera("d", clip, enabled=False))
    now = views(pipe)
    assert now["c"].config.display_name == "Replaced" and now["c"].analysed == 0
    assert now["d"].stats.state == "stopped" and now["d"].analysed == 0
    b_before = now["b"].analysed
    wait_until(lambda: views(pipe)["c"].analysed > 0, 30, "the replaced camera analysed")
    wait_until(lambda: views(pipe)["b"].analysed > b_before, 30, "b goes on")
    assert views(pipe)["d"].stats.decoded == 0
    # The thresholds in force: the model's, the camera's own over them, none when not analysed.
    shown = {cid: camera_out(v, time.monotonic()).thresholds for cid, v in views(pipe).items()}
    assert shown == {
        "b": {"smoke": 0.5, "flame": 0.5},
        "c": {"smoke": 0.8, "flame": 0.5},
        "d": {},
    }
    assert pipe.remove_camera("d") is True


def test_set_masks_applies_from_the_next_frame_without_reopening(
    make_pipeline: Callable[..., Pipeline], synth_clips: SynthClips
) -> None:
    scored = Scored()
    # From 5 s into the smoke clip the plume is visible: the colour-rule model scores high.
    pipe = make_pipeline([file_camera("ridge", synth_clips.smoke_mp4)], on_scored=scored)
    wait_until(lambda: any(d.scores["smoke"] > 0.5 for d in scored.of("ridge")), 60, "smoke seen")
    reconnects = views(pipe)["ridge"].stats.reconnects
    updated = pipe.set_masks("ridge", FULL_FRAME)
    assert updated is not None and updated.masks == FULL_FRAME
    assert views(pipe)["ridge"].config.masks == FULL_FRAME
    since = time.monotonic()
    wait_until(lambda: len(scored.of("ridge", since)) >= 4, 30, "frames after the mask")
    assert all(d.scores["smoke"] < 0.5 for d in scored.of("ridge", since))
    assert views(pipe)["ridge"].stats.reconnects == reconnects
    assert views(pipe)["ridge"].stats.state == "streaming"
    assert pipe.set_masks("nope", FULL_FRAME) is None


class SlowModel(OnnxModel):
    """The real model, plus a fixed delay per batch: the detector cannot keep up."""

    delay_s = 1.5

    def score(
        self, frames: Sequence[Frame], rules: Mapping[str, CameraRules] | None = None
    ) -> tuple[list[Detection], StageTimes]:
        time.sleep(self.delay_s)
        return super().score(frames, rules)


def test_overloaded_cameras_are_flagged_behind_and_still_analysed(
    make_pipeline: Callable[..., Pipeline],
    synth_clips: SynthClips,
    plume_model_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cams = [file_camera(f"cam{i}", synth_clips.negative_mp4, interval_s=0.2) for i in range(3)]
    with caplog.at_level(logging.WARNING, logger="service.overrun"):
        pipe = make_pipeline(cams, model=SlowModel(plume_model_dir))
        wait_until(lambda: all(v.behind for v in pipe.cameras()), 30, "every camera flagged behind")
        wait_until(lambda: all(v.analysed >= 2 for v in pipe.cameras()), 60, "each still analysed")
    for view in pipe.cameras():
        assert view.behind_episodes >= 1
        assert view.analysis_age_s is not None
    behind = [r.getMessage() for r in caplog.records if "behind" in r.getMessage()]
    assert {m.split(":")[0] for m in behind} == {"camera cam0", "camera cam1", "camera cam2"}
