"""Wiring: camera sources -> cross-camera scheduler -> smoothing -> event sink."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from detector.types import EventUpdate
from streams.config import CameraConfig
from streams.frame import Frame
from streams.state import SourceStats

EventSink = Callable[[EventUpdate], None]


@dataclass(frozen=True, slots=True)
class CameraView:
    """What the API shows about one camera: its config, stream stats and analysis progress.

    ``lag_s`` is how long ago the last analysed frame was captured (None before the first);
    ``scores`` the latest raw model score per class.
    """

    config: CameraConfig
    stats: SourceStats
    analysed: int = 0
    lag_s: float | None = None
    scores: Mapping[str, float] = field(default_factory=dict)


class BatchObserver(Protocol):
    """Receives timing of every model batch (for Prometheus)."""

    def observe_batch(self, frames: int, inputs: int, seconds: Mapping[str, float]) -> None: ...


class PipelineLike(Protocol):
    """What the HTTP layer needs from the running pipeline."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def cameras(self) -> list[CameraView]: ...

    def latest_frame(self, camera_id: str) -> Frame | None: ...
