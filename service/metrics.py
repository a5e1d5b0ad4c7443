"""Prometheus metrics in a registry owned by each app (never the process-global one).

Batch histograms and the events counter are fed as things happen; per-camera stream counters
are read from the pipeline at scrape time, so they cost nothing between scrapes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from detector.types import EventUpdate
from service.runtime_metrics import RuntimeCollector
from streams.state import StreamState

if TYPE_CHECKING:
    from service.pipeline import CameraView, PipelineLike
    from service.record_queue import Backlog
    from store.health import StorageHealth
    from streams.supervise import Supervisor

PREFIX = "emberwatch_"
# Batch sizes are bounded by detector.max_batch (<= 1024).
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
# From ~1 ms (postprocessing a small batch) to seconds (a large detector batch on CPU).
_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# (metric suffix, help, how to read the value from a CameraView)
_COUNTERS: tuple[tuple[str, str, Callable[[CameraView], int]], ...] = (
    ("frames_decoded", "Frames produced by the decoder.", lambda v: v.stats.decoded),
    (
        "frames_sampled",
        "Frames taken for analysis at the camera's interval.",
        lambda v: v.stats.sampled,
    ),
    ("frames_dropped", "Sampled frames overwritten before analysis.", lambda v: v.stats.dropped),
    ("frames_analysed", "Frames scored by the model.", lambda v: v.analysed),
    ("reconnects", "Successful stream re-opens after the first.", lambda v: v.stats.reconnects),
    (
        "camera_behind_episodes",
        "Times the camera fell behind: streaming but not analysed for over 2x its interval.",
        lambda v: v.behind_episodes,
    ),
)


class _CameraCollector(Collector):
    """Reads the pipeline's camera views at scrape time."""

    def __init__(self, cameras: Callable[[], list[CameraView]], clock: Callable[[], float]):
        self._cameras = cameras
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        views = self._cameras()
        for suffix, doc, read in _COUNTERS:
            family = CounterMetricFamily(PREFIX + suffix, doc, labels=["camera"])
            for view in views:
                family.add_metric([view.config.id], read(view))
            yield family
        yield self._state(views)
        lag = GaugeMetricFamily(
            PREFIX + "camera_lag_seconds",
            "Age of the last analysed frame when its score came out.",
            labels=["camera"],
        )
        age = GaugeMetricFamily(
            PREFIX + "camera_last_frame_age_seconds",
            "Seconds since the camera's last sampled frame.",
            labels=["camera"],
        )
        now = self._clock()
        for view in views:
            if view.lag_s is not None:
                lag.add_metric([view.config.id], view.lag_s)
            if view.stats.last_frame_ts is not None:
                age.add_metric([view.config.id], max(0.0, now - view.stats.last_frame_ts))
        yield lag
        yield age
        yield from self._overrun(views)

    @staticmethod
    def _overrun(views: list[CameraView]) -> Iterator[Metric]:
        # Fair degradation must never be silent: alert on emberwatch_cameras_behind > 0.
        since = GaugeMetricFamily(
            PREFIX + "camera_analysis_age_seconds",
            "Seconds since the camera's last analysed frame.",
            labels=["camera"],
        )
        behind = GaugeMetricFamily(
            PREFIX + "camera_behind",
            "1 while the camera streams but was not analysed for over 2x its interval.",
            labels=["camera"],
        )
        for view in views:
            if view.analysis_age_s is not None:
                since.add_metric([view.config.id], view.analysis_age_s)
            behind.add_metric([view.config.id], float(view.behind))
        yield since
        yield behind
        yield GaugeMetricFamily(
            PREFIX + "cameras_behind",
            "Cameras currently behind their analysis interval.",
            value=float(sum(view.behind for view in views)),
        )

    @staticmethod
    def _state(views: list[CameraView]) -> GaugeMetricFamily:
        # One series per state, 1 for the current one: alert on state="backoff" == 1.
        family = GaugeMetricFamily(
            PREFIX + "camera_state",
            "1 for the stream's current state, 0 for the others.",
            labels=["camera", "state"],
        )
        for view in views:
            for state in StreamState:
                family.add_metric([view.config.id, state.value], float(view.stats.state == state))
        return family


class _StorageCollector(Collector):
    """Write failures and free space of the store's :class:`StorageHealth`, at scrape time."""

    def __init__(self, health: Callable[[], StorageHealth | None]) -> None:
        self._health = health

    def collect(self) -> Iterator[Metric]:
        health = self._health()
        if health is None:
            return
        errors = CounterMetricFamily(
            PREFIX + "storage_write_errors",
            "Event (database) and snapshot (file) writes that failed, e.g. with a full disk.",
            labels=["kind"],
        )
        for kind, count in health.errors().items():
            errors.add_metric([kind], count)
        yield errors
        free = health.free_bytes()
        if free is not None:
            yield GaugeMetricFamily(
                PREFIX + "storage_free_bytes",
                "Free space left for the database and snapshots (the least of both).",
                value=float(free),
            )


class Metrics:
    """Owns a CollectorRegistry; a :class:`service.pipeline.BatchObserver` for the scheduler.

    Call :meth:`attach` with the pipeline to export its per-camera counters.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry()
        self._pipeline: PipelineLike | None = None
        self.batch_frames = Histogram(
            PREFIX + "batch_frames",
            "Camera frames per model batch.",
            buckets=_SIZE_BUCKETS,
            registry=self.registry,
        )
        self.batch_inputs = Histogram(
            PREFIX + "batch_inputs",
            "Network inputs (tiles or crops) per model batch.",
            buckets=_SIZE_BUCKETS,
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            PREFIX + "batch_stage_seconds",
            "Seconds per model batch and stage.",
            ["stage"],
            buckets=_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.events = Counter(
            PREFIX + "events",
            "Event transitions stored.",
            ["camera", "cls", "transition"],
            registry=self.registry,
        )
        self.registry.register(_CameraCollector(self._views, clock))
        self._storage: StorageHealth | None = None
        self.registry.register(_StorageCollector(lambda: self._storage))
        self._runtime = RuntimeCollector()
        self.registry.register(self._runtime)

    def watch_storage(self, health: StorageHealth) -> None:
        self._storage = health

    def watch_runtime(self, supervisor: Supervisor, backlog: Callable[[], Backlog]) -> None:
        """Export the supervised threads and the recorder's backlog."""
        self._runtime.watch(supervisor, backlog)

    def attach(self, pipeline: PipelineLike) -> None:
        self._pipeline = pipeline

    def _views(self) -> list[CameraView]:
        return self._pipeline.cameras() if self._pipeline is not None else []

    def observe_batch(self, frames: int, inputs: int, seconds: Mapping[str, float]) -> None:
        """Record one batch: its size and the seconds of each stage (preprocess, ...)."""
        self.batch_frames.observe(frames)
        self.batch_inputs.observe(inputs)
        for stage, value in seconds.items():
            self.stage_seconds.labels(stage=stage).observe(value)

    def observe_event(self, update: EventUpdate) -> None:
        self.events.labels(
            camera=update.camera_id, cls=update.cls, transition=update.transition.value
        ).inc()

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
