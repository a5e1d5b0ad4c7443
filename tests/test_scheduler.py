"""Cross-camera batching: batches mix cameras, and under overload every camera is still served."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from detector.config import DetectorConfig
from detector.model import CameraRules, OnnxModel, StageTimes
from detector.scheduler import Scheduler
from detector.types import Detection
from streams.frame import Frame
from streams.supervise import Supervisor


class LatestOnly:
    """A camera that always has a fresh frame (a latest-frame slot that is never empty)."""

    def __init__(self, camera_id: str) -> None:
        self.id = camera_id
        self._image = np.zeros((36, 64, 3), np.uint8)
        self.index = 0

    def take(self) -> Frame:
        self.index += 1
        return Frame(self.id, time.time(), self.index, self._image)


class SlowModel:
    """Deliberately slow stand-in (20 ms a frame): 30 cameras cannot all fit in one batch."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def inputs_per_frame(self, width: int, height: int) -> int:
        return 2

    def score(
        self, frames: Sequence[Frame], rules: Mapping[str, CameraRules] | None = None
    ) -> tuple[list[Detection], StageTimes]:
        time.sleep(0.02 * len(frames))
        self.batches.append([f.camera_id for f in frames])
        return [Detection(f, {"smoke": 0.0}) for f in frames], StageTimes(0, 0.02, 0)


def test_overload_degrades_fairly() -> None:
    cams = [LatestOnly(f"cam{i:02d}") for i in range(30)]
    model = SlowModel()
    done = threading.Event()
    handled: Counter[str] = Counter()

    def handle(dets: list[Detection]) -> None:
        handled.update(d.camera_id for d in dets)
        if min(handled.get(c.id, 0) for c in cams) >= 3:
            done.set()

    sched = Scheduler(model, lambda: cams, handle, DetectorConfig(max_batch=8, batch_timeout_s=0))
    sched.start()
    try:
        assert done.wait(30), f"some cameras starved: {handled}"
    finally:
        sched.stop()
    assert all(len(b) <= 4 for b in model.batches)  # 8 inputs / 2 per frame
    assert all(len(set(b)) == len(b) for b in model.batches)  # one frame per camera per batch
    counts = [handled[c.id] for c in cams]
    assert max(counts) - min(counts) <= 2  # round-robin: nobody is served twice as often


def test_batches_mix_cameras_and_skip_idle_ones(plume_model_dir: Path) -> None:
    model = OnnxModel(plume_model_dir)

    class Once:
        def __init__(self, cid: str, has_frame: bool) -> None:
            self.id = cid
            self._frame = (
                Frame(cid, 0.0, 0, np.zeros((90, 160, 3), np.uint8)) if has_frame else None
            )

        def take(self) -> Frame | None:
            frame, self._frame = self._frame, None
            return frame

    sources = [Once("a", True), Once("dead", False), Once("b", True)]
    sched = Scheduler(model, lambda: sources, lambda d: None, DetectorConfig(batch_timeout_s=0.01))
    frames = sched.collect()
    assert sorted(f.camera_id for f in frames) == ["a", "b"]
    detections = sched.run_batch(frames)
    assert [d.camera_id for d in detections] == [f.camera_id for f in frames]


class TiledModel(SlowModel):
    """12 network inputs a frame, like a 16:9 frame of the shipped model; no delay."""

    def inputs_per_frame(self, width: int, height: int) -> int:
        return 12

    def score(
        self, frames: Sequence[Frame], rules: Mapping[str, CameraRules] | None = None
    ) -> tuple[list[Detection], StageTimes]:
        self.batches.append([f.camera_id for f in frames])
        return [Detection(f, {"smoke": 0.0}) for f in frames], StageTimes(0, 0, 0)


def test_a_batch_never_holds_more_inputs_than_max_batch() -> None:
    cams = [LatestOnly(f"cam{i}") for i in range(5)]
    model = TiledModel()
    config = DetectorConfig(max_batch=32, batch_timeout_s=0, batch_timeout_max_s=0)
    sched = Scheduler(model, lambda: cams, lambda d: None, config)  # type: ignore[arg-type]
    for _ in range(3):
        sched.run_batch(sched.collect())
    assert model.batches == [["cam0", "cam1"], ["cam2", "cam3"], ["cam4", "cam0"]]
    small = Scheduler(
        model, lambda: cams, lambda d: None, config.model_copy(update={"max_batch": 8})
    )  # type: ignore[arg-type]
    assert len(small.collect()) == 1  # a frame larger than max_batch still runs, alone


class OverlapModel(SlowModel):
    """Records how many model runs overlap, and fails if one camera is in two at once."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._runs = 0
        self.most_at_once = 0
        self.overlapping_cameras: list[str] = []

    def score(
        self, frames: Sequence[Frame], rules: Mapping[str, CameraRules] | None = None
    ) -> tuple[list[Detection], StageTimes]:
        ids = [f.camera_id for f in frames]
        with self._lock:
            self.overlapping_cameras += [c for c in ids if c in self._running]
            self._running.update(ids)
            self._runs += 1
            self.most_at_once = max(self.most_at_once, self._runs)
        try:
            return super().score(frames, rules)
        finally:
            with self._lock:
                self._running.difference_update(ids)
                self._runs -= 1


def test_two_scoring_threads_overlap_runs_and_keep_each_camera_in_order() -> None:
    # Two frames a batch, three cameras: the second batch would take a camera of the first.
    cams = [LatestOnly(f"cam{i}") for i in range(3)]
    model = OverlapModel()
    seen: dict[str, list[int]] = {c.id: [] for c in cams}
    lock = threading.Lock()
    done = threading.Event()

    def handle(dets: list[Detection]) -> None:
        with lock:
            for d in dets:
                seen[d.camera_id].append(d.frame.index)
            if min(len(v) for v in seen.values()) >= 10:
                done.set()

    config = DetectorConfig(max_batch=4, batch_timeout_s=0, scoring_threads=2)
    sched = Scheduler(model, lambda: cams, handle, config)  # type: ignore[arg-type]
    sched.start()
    try:
        assert done.wait(30), f"cameras not served: {seen}"
    finally:
        sched.stop()
    assert model.most_at_once == 2  # runs overlapped
    assert model.overlapping_cameras == []  # never one camera in two runs at once
    for indices in seen.values():
        assert indices == sorted(indices)  # each camera's frames handled in order
    assert sched.frames == sum(len(b) for b in model.batches)


def test_on_tick_keeps_running_with_several_idle_scoring_threads() -> None:
    ticks = threading.Event()
    config = DetectorConfig(scoring_threads=3)
    sched = Scheduler(SlowModel(), list, lambda d: None, config, on_tick=ticks.set)  # type: ignore[arg-type]
    sched.start()
    try:
        assert ticks.wait(10)
        ticks.clear()
        assert ticks.wait(10)  # not only once
    finally:
        sched.stop()


def test_an_error_in_the_handler_is_counted_and_the_scoring_thread_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cams = [LatestOnly("a"), LatestOnly("b")]
    supervisor = Supervisor()
    handled: Counter[str] = Counter()
    done = threading.Event()

    def handle(dets: list[Detection]) -> None:
        if not handled:
            handled["failed"] += 1
            raise RuntimeError("injected")
        handled.update(d.camera_id for d in dets)
        if min(handled["a"], handled["b"]) >= 2:
            done.set()

    config = DetectorConfig(max_batch=8, batch_timeout_s=0)
    sched = Scheduler(SlowModel(), lambda: cams, handle, config, supervisor=supervisor)
    with caplog.at_level(logging.ERROR, logger="streams.supervise"):
        sched.start()
        try:
            assert done.wait(30), "the scoring thread did not go on after the error"
            [thread] = supervisor.statuses()
            assert (thread.kind, thread.stalled, thread.error) == ("scorer", False, None)
        finally:
            sched.stop()
    assert supervisor.errors() == {"scorer": 1}
    assert supervisor.statuses() == []  # stopped on purpose: no longer watched
    [record] = caplog.records
    assert "cameras a, b failed" in record.getMessage()
    assert "RuntimeError: injected" in record.getMessage()
