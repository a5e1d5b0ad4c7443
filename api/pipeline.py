"""Wiring: camera sources -> cross-camera scheduler -> smoothing -> event sink."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from api.config import AppConfig
from detector.masks import MaskSet
from detector.model import CameraRules, OnnxModel
from detector.scheduler import BatchObserver, Scheduler
from detector.smoothing import CameraSmoother
from detector.types import Detection, EventUpdate
from streams.config import CameraConfig
from streams.frame import Frame
from streams.source import CameraSource
from streams.state import SourceStats

__all__ = ["BatchObserver", "CameraView", "EventSink", "Pipeline", "PipelineLike"]

log = logging.getLogger(__name__)

EventSink = Callable[[EventUpdate], None]


@dataclass(frozen=True, slots=True)
class CameraView:
    """What the API shows about one camera: its config, stream stats and analysis progress.

    ``lag_s`` is how old the last analysed frame was when its score came out (seconds, None
    before the first); ``scores`` the latest raw model score per class.
    """

    config: CameraConfig
    stats: SourceStats
    analysed: int = 0
    lag_s: float | None = None
    scores: Mapping[str, float] = field(default_factory=dict)


class PipelineLike(Protocol):
    """What the HTTP layer needs from the running pipeline."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def cameras(self) -> list[CameraView]: ...

    def latest_frame(self, camera_id: str) -> Frame | None: ...


@dataclass
class _Camera:
    source: CameraSource
    smoother: CameraSmoother
    rules: CameraRules
    analysed: int = 0
    lag_s: float | None = None
    scores: Mapping[str, float] = field(default_factory=dict)


class Pipeline:
    """Owns the camera sources, the shared model and scheduler, and a smoother per camera."""

    def __init__(
        self,
        config: AppConfig,
        sink: EventSink,
        *,
        observer: BatchObserver | None = None,
        model: OnnxModel | None = None,
    ) -> None:
        self.config = config
        self._sink = sink
        self.model = model or OnnxModel(
            config.model_dir,
            providers=config.detector.providers,
            intra_op_threads=config.detector.intra_op_threads,
        )
        self._lock = threading.Lock()
        self._cams: dict[str, _Camera] = {}
        self._running = False
        self.scheduler = Scheduler(
            self.model,
            self._sources,
            self._on_detections,
            config.detector,
            rules=self._rules,
            observer=observer,
            on_tick=self._expire,
        )
        for cam in config.cameras:
            if cam.enabled:
                self._cams[cam.id] = self._build(cam)

    def _build(self, cam: CameraConfig) -> _Camera:
        source = CameraSource(cam, self.config.streams, notify=self.scheduler.wake)
        thresholds = self.model.thresholds(cam.thresholds)
        smoother = CameraSmoother(cam.id, self.model.classes, thresholds, self.config.smoothing)
        return _Camera(source, smoother, CameraRules(MaskSet.of(cam.masks), thresholds))

    def start(self) -> None:
        with self._lock:
            self._running = True
            for cam in self._cams.values():
                cam.source.start()
        self.scheduler.start()
        log.info("pipeline started: %d cameras, model %s", len(self._cams), self.model.spec.name)

    def stop(self) -> None:
        self.scheduler.stop()
        with self._lock:
            self._running = False
            cams = list(self._cams.values())
        for cam in cams:
            cam.source.stop()
        log.info("pipeline stopped")

    def add_camera(self, cam: CameraConfig) -> None:
        """Start watching ``cam`` (replacing a camera with the same id) without a restart."""
        built = self._build(cam)
        with self._lock:
            old = self._cams.pop(cam.id, None)
            self._cams[cam.id] = built
            if self._running:
                built.source.start()
        if old is not None:
            old.source.stop()

    def remove_camera(self, camera_id: str) -> bool:
        with self._lock:
            old = self._cams.pop(camera_id, None)
        if old is None:
            return False
        old.source.stop()
        for update in old.smoother.expire(time.time() + self.config.smoothing.quiet_s):
            self._sink(update)
        return True

    def cameras(self) -> list[CameraView]:
        with self._lock:
            cams = list(self._cams.values())
        return [
            CameraView(c.source.camera, c.source.stats(), c.analysed, c.lag_s, dict(c.scores))
            for c in cams
        ]

    def latest_frame(self, camera_id: str) -> Frame | None:
        with self._lock:
            cam = self._cams.get(camera_id)
        return cam.source.latest() if cam else None

    def _sources(self) -> list[CameraSource]:
        with self._lock:
            return [c.source for c in self._cams.values()]

    def _rules(self) -> dict[str, CameraRules]:
        with self._lock:
            return {cid: c.rules for cid, c in self._cams.items()}

    def _on_detections(self, detections: list[Detection]) -> None:
        now = time.time()
        for det in detections:
            with self._lock:
                cam = self._cams.get(det.camera_id)
            if cam is None:  # removed while its frame was being scored
                continue
            cam.analysed += 1
            cam.lag_s = max(now - det.ts, 0.0)
            cam.scores = det.scores
            for update in cam.smoother.update(det):
                self._emit(update)

    def _expire(self) -> None:
        now = time.time()
        with self._lock:
            smoothers = [c.smoother for c in self._cams.values()]
        for smoother in smoothers:
            for update in smoother.expire(now):
                self._emit(update)

    def _emit(self, update: EventUpdate) -> None:
        log.info(
            "event %s: camera=%s class=%s score=%.2f peak=%.2f",
            update.transition.value,
            update.camera_id,
            update.cls,
            update.score,
            update.peak_score,
        )
        self._sink(update)
