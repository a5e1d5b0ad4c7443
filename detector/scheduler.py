"""Cross-camera batching: one model run scores the latest frames of many cameras.

The scheduler never waits for every camera (one slow or dead camera must not delay the others):
it collects whatever frames are ready, waits at most ``batch_timeout_s`` after the first one for
more, stops early when the batch is full, and visits cameras in a rotating order so that under
overload every camera keeps being analysed, each less often, always on its latest frame.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import onnxruntime as ort

from detector.config import DetectorConfig
from detector.model import CameraRules, OnnxModel
from detector.types import Detection
from streams.frame import Frame

log = logging.getLogger(__name__)

# How often the idle loop wakes up to call ``on_tick`` (expiring events of silent cameras).
TICK_S = 1.0


class FrameSource(Protocol):
    @property
    def id(self) -> str: ...

    def take(self) -> Frame | None: ...


class BatchObserver(Protocol):
    def observe_batch(self, frames: int, inputs: int, seconds: Mapping[str, float]) -> None: ...


Handler = Callable[[list[Detection]], None]


class Scheduler:
    """Runs the model over frames taken from ``sources()`` on one background thread."""

    def __init__(
        self,
        model: OnnxModel,
        sources: Callable[[], Sequence[FrameSource]],
        handle: Handler,
        config: DetectorConfig,
        *,
        rules: Callable[[], Mapping[str, CameraRules]] = dict,
        observer: BatchObserver | None = None,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self.model = model
        self._sources = sources
        self._handle = handle
        self._rules = rules
        self._config = config
        self._observer = observer
        self._on_tick = on_tick
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._offset = 0
        self.batches = 0
        self.frames = 0

    def wake(self) -> None:
        """Tell the scheduler a frame is ready (sources call this from their threads)."""
        self._wake.set()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        last_tick = time.monotonic()
        while not self._stop.is_set():
            frames = self.collect()
            if frames:
                self.run_batch(frames)
            if self._on_tick is not None and time.monotonic() - last_tick >= TICK_S:
                last_tick = time.monotonic()
                self._on_tick()

    def collect(self) -> list[Frame]:
        """Gather ready frames: at most one per camera, up to ``max_batch`` network inputs."""
        frames: list[Frame] = []
        taken: set[str] = set()
        inputs = 0
        deadline: float | None = None
        while not self._stop.is_set():
            self._wake.clear()
            inputs = self._take_ready(frames, taken, inputs)
            now = time.monotonic()
            if inputs >= self._config.max_batch:
                break
            if frames and deadline is None:
                deadline = now + self._config.batch_timeout_s
            if deadline is not None and now >= deadline:
                break
            wait = TICK_S if deadline is None else deadline - now
            if not self._wake.wait(wait) and deadline is None:
                break  # idle tick: let the loop run on_tick
        return frames

    def _take_ready(self, frames: list[Frame], taken: set[str], inputs: int) -> int:
        sources = list(self._sources())
        if not sources:
            return inputs
        start = self._offset % len(sources)
        for source in sources[start:] + sources[:start]:
            if inputs >= self._config.max_batch:
                break
            if source.id in taken:
                continue
            frame = source.take()
            if frame is None:
                continue
            taken.add(source.id)
            frames.append(frame)
            inputs += self.model.inputs_per_frame(frame.width, frame.height)
        # Next batch starts after the last camera served, so a capped batch rotates fairly.
        self._offset = start + len(taken)
        return inputs

    def run_batch(self, frames: list[Frame]) -> list[Detection]:
        """Score ``frames`` in one model run and pass the detections on; errors are logged."""
        try:
            detections, times = self.model.score(frames, self._rules())
        except (RuntimeError, ValueError, ort.capi.onnxruntime_pybind11_state.Fail) as exc:  # type: ignore[attr-defined]
            cams = sorted({f.camera_id for f in frames})
            log.error("model run failed for cameras %s: %s", cams, exc)
            return []
        self.batches += 1
        self.frames += len(frames)
        if self._observer is not None:
            inputs = sum(self.model.inputs_per_frame(f.width, f.height) for f in frames)
            self._observer.observe_batch(len(frames), inputs, times.as_dict())
        self._handle(detections)
        return detections
