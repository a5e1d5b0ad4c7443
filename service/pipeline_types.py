"""What the HTTP layer sees of the running pipeline: camera views and the pipeline protocols.

:class:`service.pipeline.Pipeline` implements them; tests implement them with a fake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from detector.masks import Polygon
from detector.types import LookAlike, Mute
from streams.config import CameraConfig
from streams.frame import Frame
from streams.state import SourceStats


@dataclass(frozen=True, slots=True)
class CameraView:
    """What the API shows about one camera: its config, stream stats and analysis progress.

    ``lag_s`` is how old the last analysed frame was when its score came out (seconds, None
    before the first); ``scores`` the latest raw model score per class. ``behind`` is True while
    the camera streams but was last analysed more than twice its interval ago (overload);
    ``analysis_age_s`` is the time since its last analysis; ``behind_episodes`` counts the
    times it fell behind. ``thresholds`` are the opening thresholds in force (the model's, or the
    camera's own), empty for a camera that is not analysed; ``model`` the name of the model that
    scores it, None for a camera that is not analysed. ``look_alikes`` are the regions that
    have scored above threshold for long without an event (mask candidates).

    With workers on a bus (``serve --bus``): ``holder`` is the worker that holds the camera's
    lease, ``held_since`` when it took it (epoch seconds), and ``handover`` is True while no
    worker reports on it (its worker died, or it is moving to another).
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
    look_alikes: tuple[LookAlike, ...] = ()
    holder: str | None = None
    held_since: float | None = None
    handover: bool = False


class PipelineLike(Protocol):
    """What the HTTP layer needs from the running pipeline, camera changes included
    (``/api/cameras`` writes)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def cameras(self) -> list[CameraView]: ...

    def latest_frame(self, camera_id: str) -> Frame | None: ...

    def set_mutes(self, camera_id: str, mutes: Sequence[Mute]) -> bool: ...

    def add_camera(self, cam: CameraConfig) -> None: ...

    def remove_camera(self, camera_id: str) -> bool: ...

    def set_masks(self, camera_id: str, masks: Sequence[Polygon]) -> CameraConfig | None: ...
