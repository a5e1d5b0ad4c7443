"""Per-cell evidence of one camera: smoothed scores, each against the cell's own slow baseline.

A tiled classifier scores the same fixed tiles of a view in every frame: they are the *cells* in
which evidence is kept. Focus crops move from frame to frame; each crop's scores are folded into
the cell it overlaps most (the cell's raw score is the highest of its tile and its crops). A
YOLO-style detector, or a caller that has only per-class scores, gives one cell: the whole frame.

For every cell and class the state is an exponential moving average of the raw score over
``tau_s`` (time in seconds, never frame counts) and, when ``baseline_tau_s`` is set, a much slower
average of the same score: the level the view usually shows. Evidence is the part of the
remaining headroom the score has used up since then::

    evidence = max(ema - baseline, 0) / (1 - baseline)

so a tile that scores 0.8 all afternoon (fog bank, haze band, glare) shows ~0 evidence, while
smoke that takes a clear tile from 0.1 to 0.7 shows 0.67, and smoke under that haze band taking
it from 0.8 to 0.95 shows 0.75. The baseline does not learn in cells that an open event holds,
so a long fire is never absorbed. It starts at the first frame: a camera is assumed to start on
its ordinary view (a fire already burning when the service starts is found by its growth, and
by its flames).

No clock, no I/O: time is an argument, so a benchmark replays it exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from detector.config import SmoothingConfig
from detector.types import Box

#: The single cell of a model or caller that gives no tiles.
WHOLE_FRAME: tuple[Box, ...] = ((0.0, 0.0, 1.0, 1.0),)


def intersection(a: Box, b: Box) -> float:
    """Area of the overlap of two normalised boxes (0 when they do not overlap)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def area(box: Box) -> float:
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


def union_box(boxes: Sequence[Box]) -> Box:
    """The smallest box holding every box of ``boxes`` (not empty)."""
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def touches(a: Box, b: Box, gap: float = 1e-6) -> bool:
    """True when two boxes overlap or share a stretch of edge (a shared corner is not enough).

    >>> touches((0, 0, 0.5, 0.5), (0.5, 0, 1, 0.5)), touches((0, 0, 0.5, 0.5), (0.5, 0.5, 1, 1))
    (True, False)
    """
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w >= -gap and h >= -gap and max(w, h) > gap


def fold(cells: Sequence[Box], boxes: Sequence[Box], scores: np.ndarray) -> np.ndarray:
    """Raw scores per cell ``[T, C]`` from every input's ``scores [N, C]``.

    The first ``len(cells)`` inputs are the cells themselves; each further input (a focus crop)
    raises the cell it overlaps most.
    """
    raw = np.array(scores[: len(cells)], dtype=np.float64, copy=True)
    for box, row in zip(boxes[len(cells) :], scores[len(cells) :], strict=True):
        best = max(range(len(cells)), key=lambda i: intersection(cells[i], box))
        raw[best] = np.maximum(raw[best], row)
    return raw


class CellEvidence:
    """Smoothed scores and baselines of one camera's cells, for every class."""

    def __init__(self, classes: Sequence[str], config: SmoothingConfig) -> None:
        self.classes = tuple(classes)
        self.config = config
        self.cells: tuple[Box, ...] = ()
        self.ema = np.zeros((0, len(self.classes)))
        self.base = np.zeros((0, len(self.classes)))
        self.last_ts: float | None = None
        self.gap = 0.0  # seconds between the last two frames

    def observe(
        self, ts: float, cells: Sequence[Box], raw: np.ndarray, frozen: np.ndarray
    ) -> np.ndarray:
        """Advance with the raw cell scores ``[T, C]`` seen at ``ts``; return evidence ``[T, C]``.

        ``frozen [T, C]`` marks cells whose baseline must not learn (an open event holds them).
        A change of the cell layout (another frame size) starts the cells afresh.
        """
        if tuple(cells) != self.cells or self.last_ts is None:
            self.cells = tuple(cells)
            self.ema, self.base = raw.copy(), raw.copy()
            self.last_ts = ts
            return self.evidence()
        dt = max(ts - self.last_ts, 0.0)
        self.gap, self.last_ts = dt, ts
        self.ema += (1.0 - math.exp(-dt / self.config.tau_s)) * (raw - self.ema)
        tau_b = self.config.baseline_tau_s
        if tau_b is not None:
            learn = (1.0 - math.exp(-dt / tau_b)) * (self.ema - self.base)
            self.base += np.where(frozen, 0.0, learn)
        return self.evidence()

    def evidence(self) -> np.ndarray:
        if self.config.baseline_tau_s is None:
            return self.ema.copy()
        headroom = np.maximum(1.0 - self.base, 1e-3)
        return np.asarray(np.clip((self.ema - self.base) / headroom, 0.0, 1.0))
