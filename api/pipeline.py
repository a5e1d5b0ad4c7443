"""Wiring: camera sources -> cross-camera scheduler -> smoothing -> event sink."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from api.config import AppConfig
from api.overrun import OverrunWatch
from detector.config import DEMO_MODEL
from detector.masks import MaskSet, Polygon
from detector.model import CameraRules, OnnxModel
from detector.scheduler import BatchObserver, Scheduler
from detector.smoothing import CameraSmoother
from detector.types import Detection, EventUpdate
from streams.config import CameraConfig
from streams.frame import Frame
from streams.memory import release_frame_buffers
from streams.redact import redact_url
from streams.source import CameraSource
from streams.state import SourceStats, StreamState

__all__ = [
    "BatchObserver",
    "CameraManager",
    "CameraView",
    "EventSink",
    "Pipeline",
    "PipelineLike",
    "ScoredHook",
]

log = logging.getLogger(__name__)

EventSink = Callable[[EventUpdate], None]
# Called on a scoring thread with every batch's detections, after smoothing (benchmarks).
ScoredHook = Callable[[Sequence[Detection]], None]


@dataclass(frozen=True, slots=True)
class CameraView:
    """What the API shows about one camera: its config, stream stats and analysis progress.

    ``lag_s`` is how old the last analysed frame was when its score came out (seconds, None
    before the first); ``scores`` the latest raw model score per class. ``behind`` is True while
    the camera streams but was last analysed more than twice its interval ago (overload);
    ``analysis_age_s`` is the time since its last analysis; ``behind_episodes`` counts the
    times it fell behind. ``thresholds`` are the opening thresholds in force (the model's, or the
    camera's own), empty for a camera that is not analysed; ``model`` the name of the model that
    scores it, None for a camera that is not analysed.
    """

    config: CameraConfig
    stats: SourceStats
    analysed: int = 0
    lag_s: float | None = None
    scores: Mapping[str, float] = field(default_factory=dict)
    behind: bool = False
    analysis_age_s: float | None = None
    behind_episodes: int = 0
    thresholds: Mapping[str, float] = field(default_factory=dict)
    model: str | None = None


class PipelineLike(Protocol):
    """What the HTTP layer needs from the running pipeline."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def cameras(self) -> list[CameraView]: ...

    def latest_frame(self, camera_id: str) -> Frame | None: ...


class CameraManager(PipelineLike, Protocol):
    """A pipeline whose cameras can be changed while it runs (``/api/cameras`` writes)."""

    def add_camera(self, cam: CameraConfig) -> None: ...

    def remove_camera(self, camera_id: str) -> bool: ...

    def set_masks(self, camera_id: str, masks: Sequence[Polygon]) -> CameraConfig | None: ...


@dataclass
class _Camera:
    config: CameraConfig
    source: CameraSource
    smoother: CameraSmoother
    rules: CameraRules
    watch: OverrunWatch
    analysed: int = 0
    lag_s: float | None = None
    scores: Mapping[str, float] = field(default_factory=dict)
    # Held while the smoother changes and its updates are emitted: scores come from any scoring
    # thread, expiry from the tick and from removal, and each camera's events stay in order.
    smoothing: threading.Lock = field(default_factory=threading.Lock)


class Pipeline:
    """Owns the camera sources, the shared model and scheduler, and a smoother per camera.

    Cameras can be added, replaced, removed and re-masked while it runs; the other cameras
    keep streaming. Disabled cameras are listed (state ``stopped``) but never opened.
    """

    def __init__(
        self,
        config: AppConfig,
        sink: EventSink,
        *,
        observer: BatchObserver | None = None,
        model: OnnxModel | None = None,
        on_scored: ScoredHook | None = None,
    ) -> None:
        self.config = config
        self._sink = sink
        self._on_scored = on_scored
        self.model = model or OnnxModel(
            config.model_dir,
            providers=config.detector.providers,
            intra_op_threads=config.detector.intra_op_threads,
            spin_wait=config.detector.spin_wait,
        )
        self._lock = threading.Lock()
        self._cams: dict[str, _Camera] = {}
        self._disabled: dict[str, CameraConfig] = {}
        self._running = False
        self.scheduler = Scheduler(
            self.model,
            self._sources,
            self._on_detections,
            config.detector,
            rules=self._rules,
            observer=observer,
            on_tick=self._tick,
        )
        for cam in config.cameras:
            if cam.enabled:
                self._cams[cam.id] = self._build(cam)
            else:
                self._disabled[cam.id] = cam

    def _build(self, cam: CameraConfig) -> _Camera:
        source = CameraSource(cam, self.config.streams, notify=self.scheduler.wake)
        thresholds = self.model.thresholds(cam.thresholds)
        smoother = CameraSmoother(cam.id, self.model.classes, thresholds, self.config.smoothing)
        rules = CameraRules(MaskSet.of(cam.masks), thresholds, focus=cam.focus)
        return _Camera(cam, source, smoother, rules, OverrunWatch(cam.id, cam.interval_s))

    def start(self) -> None:
        release_frame_buffers()
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
        """Start watching ``cam`` without a restart, replacing a camera with the same id.

        A replaced camera's stream is closed and its active events end; a disabled ``cam`` is
        only listed. The other cameras are not touched.
        """
        built = self._build(cam) if cam.enabled else None
        with self._lock:
            old = self._cams.pop(cam.id, None)
            self._disabled.pop(cam.id, None)
            if built is None:
                self._disabled[cam.id] = cam
            else:
                self._cams[cam.id] = built
                if self._running:
                    built.source.start()
        if old is not None:
            self._retire(old)
        log.info("camera %s: %s %s", cam.id, "replaced" if old else "added", redact_url(cam.url))
        if cam.enabled and self.config.model_dir.resolve() == DEMO_MODEL.resolve():
            # One model scores every camera: in demo mode that is the colour rule until a restart.
            log.warning(
                "camera %s: scored by the demo model %s, which only knows the synthetic plume, "
                "until the service restarts (then every camera is scored by the configured or "
                "shipped model)",
                cam.id,
                self.model.spec.name,
            )

    def remove_camera(self, camera_id: str) -> bool:
        """Stop watching ``camera_id``; its active events end. False when it is unknown."""
        with self._lock:
            old = self._cams.pop(camera_id, None)
            disabled = self._disabled.pop(camera_id, None)
        if old is not None:
            self._retire(old)
        if old is None and disabled is None:
            return False
        log.info("camera %s: removed", camera_id)
        return True

    def set_masks(self, camera_id: str, masks: Sequence[Polygon]) -> CameraConfig | None:
        """Replace the camera's ignore polygons (normalised) from its next frame on.

        Only the detector's rules change; the stream is not reopened. Returns the updated
        config, None when the camera is unknown.
        """
        with self._lock:
            cam = self._cams.get(camera_id)
            if cam is not None:
                cam.config = cam.config.model_copy(update={"masks": [list(p) for p in masks]})
                cam.rules = replace(cam.rules, mask=MaskSet.of(masks))
                self.model.forget(camera_id)  # its remembered views were masked differently
                return cam.config
            disabled = self._disabled.get(camera_id)
            if disabled is None:
                return None
            updated = disabled.model_copy(update={"masks": [list(p) for p in masks]})
            self._disabled[camera_id] = updated
            return updated

    def _retire(self, cam: _Camera) -> None:
        cam.source.stop()
        self.model.forget(cam.config.id)
        with cam.smoothing:
            self._emit_all(cam.smoother.expire(time.time() + self.config.smoothing.quiet_s))

    def cameras(self) -> list[CameraView]:
        now = time.monotonic()
        views = []
        with self._lock:
            for c in self._cams.values():
                stats = c.source.stats()
                behind = c.watch.check(now, streaming=stats.state == StreamState.STREAMING)
                views.append(
                    CameraView(
                        c.config,
                        stats,
                        c.analysed,
                        c.lag_s,
                        dict(c.scores),
                        behind,
                        c.watch.age(now),
                        c.watch.episodes,
                        dict(c.rules.thresholds or {}),
                        self.model.spec.name,
                    )
                )
            for cfg in self._disabled.values():
                views.append(
                    CameraView(cfg, SourceStats(cfg.id, StreamState.STOPPED, redact_url(cfg.url)))
                )
        return views

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
        now, mono = time.time(), time.monotonic()
        for det in detections:
            with self._lock:
                cam = self._cams.get(det.camera_id)
                if cam is None:
                    continue  # removed while its frame was being scored
                cam.analysed += 1
                cam.lag_s = max(now - det.ts, 0.0)
                cam.scores = det.scores
                cam.watch.analysed(mono)
            with cam.smoothing:
                self._emit_all(cam.smoother.update(det))
        if self._on_scored is not None:
            self._on_scored(detections)

    def _tick(self) -> None:
        """Once a second on a scoring thread: close quiet events, check for overruns."""
        now, mono = time.time(), time.monotonic()
        with self._lock:
            cams = list(self._cams.values())
            for c in cams:
                c.watch.check(mono, streaming=c.source.state == StreamState.STREAMING)
        for cam in cams:
            with cam.smoothing:
                self._emit_all(cam.smoother.expire(now))

    def _emit_all(self, updates: Sequence[EventUpdate]) -> None:
        for update in updates:
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
