"""Wiring: camera sources -> cross-camera scheduler (one per model) -> smoothing -> event sink."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from detector.masks import MaskSet, Polygon
from detector.model import CameraRules, OnnxModel
from detector.night import Light
from detector.scheduler import BatchObserver, Scheduler
from detector.smoothing import CameraSmoother
from detector.types import Detection, EventUpdate, LookAlike, Mute
from service.config import AppConfig
from service.overrun import OverrunWatch
from service.pipeline_types import CameraView, PipelineLike
from service.scoring import ScoringGroup, ScoringGroups
from streams.config import CameraConfig
from streams.frame import Frame
from streams.memory import release_frame_buffers
from streams.redact import redact_url
from streams.source import CameraSource
from streams.state import SourceStats, StreamState
from streams.supervise import Supervisor

__all__ = [
    "BatchObserver",
    "CameraView",
    "EventSink",
    "MuteSource",
    "Pipeline",
    "PipelineLike",
    "ScoredHook",
]

log = logging.getLogger(__name__)

EventSink = Callable[[EventUpdate], None]
# Called on a scoring thread with every batch's detections, after smoothing (benchmarks).
ScoredHook = Callable[[Sequence[Detection]], None]
# A camera's muted regions in force (the stored ones), read when its smoother is built.
MuteSource = Callable[[str], Sequence[Mute]]


@dataclass
class _Camera:
    config: CameraConfig
    group: ScoringGroup  # the model that scores it
    source: CameraSource
    smoother: CameraSmoother
    rules: CameraRules
    watch: OverrunWatch
    analysed: int = 0
    lag_s: float | None = None
    scores: Mapping[str, float] = field(default_factory=dict)
    look_alikes: tuple[LookAlike, ...] = ()  # as of the last analysed frame
    # Held while the smoother changes and its updates are emitted: scores come from any scoring
    # thread, expiry from the tick and from removal, and each camera's events stay in order.
    smoothing: threading.Lock = field(default_factory=threading.Lock)


class Pipeline:
    """Owns the camera sources, the models and their schedulers, and a smoother per camera.

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
        mutes: MuteSource | None = None,
        supervisor: Supervisor | None = None,
    ) -> None:
        """``model``: the already loaded model of ``config.model_dir`` (tests, benchmarks).

        ``supervisor`` watches the decode and scoring threads (a private one when None). The
        sink is called on the scoring threads: it must not block (the service queues).
        """
        self.config = config
        self.supervisor = supervisor or Supervisor()
        self._sink = sink
        self._on_scored = on_scored
        self._mutes = mutes
        self._observer = observer
        self._lock = threading.Lock()
        self._cams: dict[str, _Camera] = {}
        self._disabled: dict[str, CameraConfig] = {}
        self._running = False
        self._groups = ScoringGroups(self._load, self._scheduler)
        if model is not None:
            self._groups.add_loaded(config.model_dir, model)
        for cam in config.cameras:
            if cam.enabled:
                self._cams[cam.id] = self._build(cam)
            else:
                self._disabled[cam.id] = cam

    @property
    def model(self) -> OnnxModel:
        """The model of cameras without their own (``detector.model_dir``)."""
        return self._groups.get(self.config.model_dir).model

    @property
    def scheduler(self) -> Scheduler:
        return self._groups.get(self.config.model_dir).scheduler

    def _load(self, model_dir: Path) -> OnnxModel:
        detector = self.config.detector
        return OnnxModel(
            model_dir,
            providers=detector.providers,
            intra_op_threads=detector.intra_op_threads,
            spin_wait=detector.spin_wait,
        )

    def _scheduler(self, model: OnnxModel, key: Path) -> Scheduler:
        return Scheduler(
            model,
            lambda: self._sources(key),
            self._on_detections,
            self.config.detector,
            rules=self._rules,
            observer=self._observer,
            on_tick=self._tick,  # with several models, on each of their threads
            supervisor=self.supervisor,
            label=model.spec.name,
        )

    def _build(self, cam: CameraConfig) -> _Camera:
        group = self._groups.get(cam.model_dir or self.config.model_dir)
        source = CameraSource(
            cam, self.config.streams, notify=group.scheduler.wake, supervisor=self.supervisor
        )
        thresholds = group.model.thresholds(cam.thresholds)
        night = group.model.night_rule(Light(cam.latitude, cam.longitude), cam.thresholds)
        smoother = CameraSmoother(
            cam.id, group.model.classes, thresholds, self.config.smoothing, night=night
        )
        muted = self._mutes(cam.id) if self._mutes is not None else ()
        if muted:  # a new smoother has none: muted regions outlive restarts and replacements
            self._emit_all(smoother.set_mutes(muted, time.time()))
        rules = CameraRules(MaskSet.of(cam.masks), thresholds, focus=cam.focus)
        return _Camera(cam, group, source, smoother, rules, OverrunWatch(cam.id, cam.interval_s))

    def start(self) -> None:
        release_frame_buffers()
        with self._lock:
            self._running = True
            for cam in self._cams.values():
                cam.source.start()
        self._groups.start()
        models = ", ".join(g.model.spec.name for g in self._groups.all())
        log.info("pipeline started: %d cameras, models %s", len(self._cams), models)

    def stop(self) -> None:
        self._groups.stop()
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
        if built is not None:
            log.info("camera %s: scored by model %s", cam.id, built.group.model.spec.name)

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
                cam.group.model.forget(camera_id)  # its remembered views were masked differently
                return cam.config
            disabled = self._disabled.get(camera_id)
            if disabled is None:
                return None
            updated = disabled.model_copy(update={"masks": [list(p) for p in masks]})
            self._disabled[camera_id] = updated
            return updated

    def set_mutes(self, camera_id: str, mutes: Sequence[Mute]) -> bool:
        """Give the camera's smoother its muted regions (all of them, replacing the previous
        ones) and emit the closes this causes. False when the camera is not analysed."""
        with self._lock:
            cam = self._cams.get(camera_id)
        if cam is None:
            return False
        with cam.smoothing:
            self._emit_all(cam.smoother.set_mutes(mutes, time.time()))
        return True

    def _retire(self, cam: _Camera) -> None:
        cam.source.stop()
        cam.group.model.forget(cam.config.id)
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
                        c.group.model.spec.name,
                        c.look_alikes,
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

    def _sources(self, key: Path) -> list[CameraSource]:
        """The sources of the cameras that the model of directory ``key`` scores."""
        with self._lock:
            return [c.source for c in self._cams.values() if c.group.key == key]

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
                cam.look_alikes = cam.smoother.look_alikes()
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
