"""Scaling rules: adaptive batch timeout, analysis overrun episodes, execution-provider fallback."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from detector.config import DetectorConfig
from detector.model import CameraRules, OnnxModel, StageTimes, choose_providers
from detector.scheduler import AdaptiveTimeout, Scheduler
from detector.types import Detection
from service.overrun import OverrunWatch
from streams.config import CameraConfig, DecodeMode, StreamSettings
from streams.frame import Frame
from streams.sampler import IntervalSampler
from streams.source import CameraSource
from tests.fixtures.media import SynthClips


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # (full, extra_frames, busy) per batch -> timeout after the last one
        ([(False, 2, 0.1)], 0.075),
        ([(False, 2, 0.1)] * 20, 0.5),  # capped at max_s
        ([(False, 2, 0.9)], 0.0375),  # the model is busy: never wait longer
        ([(False, 0, 0.1)], 0.0375),  # waiting brought nothing: wait less
        ([(False, 2, 0.1)] * 20 + [(True, 9, 0.1)], 0.25),  # full batches halve it
        ([(True, 9, 0.1)] * 10, 0.025),  # never below base_s
    ],
)
def test_adaptive_timeout(steps: list[tuple[bool, int, float]], expected: float) -> None:
    timeout = AdaptiveTimeout(0.025, 0.5)
    timeout.value = 0.05
    for full, extra, busy in steps:
        timeout.update(full=full, extra_frames=extra, busy=busy)
    assert timeout.value == pytest.approx(expected)


def test_adaptive_timeout_can_be_turned_off() -> None:
    timeout = AdaptiveTimeout(0.05, 0.05)
    for _ in range(5):
        timeout.update(full=False, extra_frames=3, busy=0.0)
    assert timeout.value == 0.05


class Trickle:
    """A camera whose frames arrive every ``period`` seconds (a latest-frame slot)."""

    def __init__(self, camera_id: str, period: float, phase: float) -> None:
        self.id = camera_id
        self._period = period
        self._next = time.monotonic() + phase
        self._image = np.zeros((36, 64, 3), np.uint8)
        self._index = 0

    def take(self) -> Frame | None:
        if time.monotonic() < self._next:
            return None
        self._next += self._period
        self._index += 1
        return Frame(self.id, time.time(), self._index, self._image, received=time.monotonic())


class FastModel:
    def inputs_per_frame(self, width: int, height: int) -> int:
        return 1

    def score(
        self, frames: Sequence[Frame], rules: Mapping[str, CameraRules] | None = None
    ) -> tuple[list[Detection], StageTimes]:
        return [Detection(f, {"smoke": 0.0}) for f in frames], StageTimes(0, 0, 0)


def test_scheduler_grows_its_timeout_when_frames_trickle_in() -> None:
    """Staggered cameras and an idle model: the scheduler waits longer to batch them."""
    cams = [Trickle(f"cam{i}", period=0.2, phase=i * 0.01) for i in range(10)]
    sizes: list[int] = []
    enough = threading.Event()

    def handle(dets: list[Detection]) -> None:
        sizes.append(len(dets))
        if len(sizes) >= 40:
            enough.set()

    config = DetectorConfig(max_batch=64, batch_timeout_s=0.0, batch_timeout_max_s=0.15)
    sched = Scheduler(FastModel(), lambda: cams, handle, config)  # type: ignore[arg-type]
    sched.start()
    try:
        assert enough.wait(30)
    finally:
        sched.stop()
    assert sched.timeout.value > 0.0
    assert max(sizes[-10:]) > 1  # frames of different cameras now share a batch


def test_overrun_episode_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    watch = OverrunWatch("ridge", interval_s=5.0)
    with caplog.at_level(logging.INFO, logger="service.overrun"):
        assert watch.check(0.0, streaming=True) is False
        assert watch.check(9.0, streaming=True) is False
        assert watch.check(10.5, streaming=True) is True
        for t in (11.0, 20.0, 30.0):
            assert watch.check(t, streaming=True) is True
        watch.analysed(31.0)
        assert watch.check(32.0, streaming=True) is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "ridge" in warnings[0].getMessage()
    assert "behind" in warnings[0].getMessage()
    assert any("no longer behind" in r.getMessage() for r in caplog.records)
    assert watch.episodes == 1 and watch.age(32.0) == 1.0


def test_overrun_waits_while_the_stream_is_down() -> None:
    watch = OverrunWatch("ridge", interval_s=5.0)
    watch.check(0.0, streaming=True)
    watch.analysed(1.0)
    assert watch.check(8.0, streaming=False) is False
    assert watch.check(100.0, streaming=False) is False
    # Streaming again: the clock starts when frames flow again, not at the last analysis.
    assert watch.check(101.0, streaming=True) is False
    assert watch.check(110.0, streaming=True) is False
    assert watch.check(111.5, streaming=True) is True
    assert watch.episodes == 1


def test_missing_provider_falls_back_to_cpu_with_a_warning(
    caplog: pytest.LogCaptureFixture, plume_model_dir: Path
) -> None:
    with caplog.at_level(logging.WARNING, logger="detector.model"):
        chosen = choose_providers(["TensorrtExecutionProvider", "CPUExecutionProvider"])
    assert chosen[-1] == "CPUExecutionProvider"
    if "TensorrtExecutionProvider" in chosen:
        pytest.skip("this onnxruntime build has TensorRT")
    assert chosen == ["CPUExecutionProvider"]
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("TensorrtExecutionProvider" in m and "not available" in m for m in messages)


def test_model_loads_on_cpu_when_cuda_is_missing(
    caplog: pytest.LogCaptureFixture, plume_model_dir: Path
) -> None:
    with caplog.at_level(logging.WARNING, logger="detector.model"):
        model = OnnxModel(plume_model_dir, providers=["CUDAExecutionProvider"])
    if "CUDAExecutionProvider" in model.providers:
        pytest.skip("this onnxruntime build and machine have CUDA")
    assert model.providers == ["CPUExecutionProvider"]
    assert any("CUDAExecutionProvider" in r.getMessage() for r in caplog.records)
    frame = Frame("cam", 0.0, 0, np.zeros((90, 160, 3), np.uint8))
    detections, _ = model.score([frame])
    assert set(detections[0].scores) == {"smoke", "flame"}


def test_sampler_would_take_peeks_without_advancing() -> None:
    sampler = IntervalSampler(10.0, tolerance_s=1.0)
    assert sampler.would_take(0.0) and sampler.due(0.0)
    assert not sampler.would_take(8.5)
    assert sampler.would_take(9.0) and sampler.would_take(9.5)  # within the tolerance
    assert sampler.due(9.5) and not sampler.would_take(12.0)
    assert sampler.would_take(5.0)  # time went backwards: the grid re-anchors


def test_keyframes_are_decoded_only_when_they_will_be_analysed(synth_clips: SynthClips) -> None:
    """GOP 2 s, interval 3 s: half the keyframes fall between analyses and are never decoded."""
    camera = CameraConfig(
        id="ridge", url=str(synth_clips.smoke_mp4), interval_s=3.0, decode=DecodeMode.KEYFRAMES
    )
    source = CameraSource(camera, StreamSettings())
    source.start()
    try:
        deadline = time.monotonic() + 60
        while source.stats().sampled < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        stats = source.stats()
    finally:
        source.stop()
    assert stats.sampled >= 4 and stats.keyframes_only
    # Without skipping, ~1.5 keyframes would be decoded per analysed one.
    assert stats.decoded <= stats.sampled + 1
