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
    Tiled classifiers also give every network input: ``boxes`` (the fixed tiles in the model's
    order, then the focus crops) and ``input_scores [N, C]`` in the same order; the first
    ``tiles`` are the fixed tiles, the cells in which the smoothing stage keeps its evidence.
    """

    frame: Frame
    scores: Mapping[str, float]
    regions: tuple[Region, ...] = ()
    boxes: tuple[Box, ...] = ()
    input_scores: np.ndarray | None = None
    tiles: int = 0

    @property
    def tile_scores(self) -> np.ndarray | None:
        """``[T, C]`` scores of the fixed tiles (None for models without tiles)."""
        return None if self.input_scores is None else self.input_scores[: self.tiles]

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


class Reason(StrEnum):
    """Why an event opened or closed, beyond the evidence crossing a threshold.

    An event that continues another one (its region grew, or its evidence rose sharply) is a new
    event linked to the old one, never a silent update: the operator is alerted again.
    """

    NONE = ""
    GREW = "grew"  # opened: the region of an open event spread to new tiles
    ROSE = "rose"  # opened: the evidence of an open event jumped
    GREW_SINCE_DISMISSED = "grew since dismissed"  # opened: beyond a muted region
    ROSE_SINCE_DISMISSED = "rose since dismissed"  # opened: clearly above a muted level
    CONTINUED = "continued"  # closed: a linked event (grew/rose) took over
    DISMISSED = "dismissed"  # closed: an operator dismissed it; its region is muted


@dataclass(frozen=True, slots=True)
class LookAlike:
    """A region of one class that has scored above threshold for long without an event: a fog
    bank, a chimney, glare. ``box`` is normalised like :data:`Box` (a mask proposal)."""

    cls: str
    box: Box


@dataclass(frozen=True, slots=True)
class Mute:
    """A region an operator dismissed: inside it, evidence must clearly exceed a decaying level.

    ``box`` is normalised like :data:`Box`; ``level`` the smoothed evidence of the dismissed
    event; ``since`` the dismissal time (epoch seconds). The level halves every
    ``SmoothingConfig.mute_half_life_s``, so a mute fades over hours by itself. ``event_id`` is the
    dismissed event (an event re-alerted from this mute links to it).
    """

    event_id: int
    cls: str
    box: Box
    level: float
    since: float


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
        track: the episode's number, unique within one camera's smoother (several episodes of
            one class may be open at once, each in its own region of the view).
        box: the episode's region (union of its tiles), normalised; None when unknown.
        parent_track: the episode of this camera that this one continues (reason grew/rose).
        parent_event: the stored event this one re-alerts (a dismissed, muted event).
        reason: why it opened or closed beyond the threshold (see :class:`Reason`).
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
    track: int = 0
    box: Box | None = None
    parent_track: int | None = None
    parent_event: int | None = None
    reason: Reason = Reason.NONE
