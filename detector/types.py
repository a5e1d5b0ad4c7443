"""Values passed between detector stages and out of the detector."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from streams.frame import Frame

# (x0, y0, x1, y1), normalised to 0..1 by the frame width (x) and height (y), origin top-left.
Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class Region:
    """A scored area of a frame for one class."""

    cls: str
    score: float
    box: Box


@dataclass(frozen=True, slots=True, eq=False)
class Detection:
    """Model output for one frame: the best score per class and the regions above threshold.

    ``scores`` holds, for every class of the model, the highest region score (0..1) after masks.
    ``tile_scores`` (tiled classifiers only) is the ``[T, C]`` array of every tile's class scores,
    in the model's tile order; the smoothing stage may keep a per-tile baseline from it.
    """

    frame: Frame
    scores: Mapping[str, float]
    regions: tuple[Region, ...] = ()
    tile_scores: np.ndarray | None = None

    @property
    def camera_id(self) -> str:
        return self.frame.camera_id

    @property
    def ts(self) -> float:
        return self.frame.ts


class Transition(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True, eq=False)
class EventUpdate:
    """A material change of one (camera, class) detection episode.

    Attributes:
        camera_id, cls: what the episode is about.
        transition: opened, updated (new peak or regions) or closed.
        started_at: ``ts`` of the first frame above the opening threshold (seconds).
        ts: ``ts`` of the frame that caused this update (seconds).
        score: smoothed score at ``ts`` (0..1).
        peak_score: highest smoothed score of the episode so far.
        is_peak: True when this update set a new peak (a peak snapshot is due).
        regions: regions of the class in the frame at ``ts``.
        frame: the frame at ``ts`` (for snapshots); None for a close caused by time passing.
    """

    camera_id: str
    cls: str
    transition: Transition
    started_at: float
    ts: float
    score: float
    peak_score: float
    is_peak: bool = False
    regions: tuple[Region, ...] = field(default_factory=tuple)
    frame: Frame | None = None
