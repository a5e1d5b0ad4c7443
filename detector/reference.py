"""Reference views for temporal models: each input also gets the same box minutes earlier.

A model whose ``model.yaml`` has a ``temporal`` section takes six channels per input: the tile
and the same box of the camera's view ``reference_s`` earlier. What a young plume adds to a view
is change (it appears where the view was clear, stays anchored and grows), and a single frame
hardly separates it from haze or cloud.

Memory is bounded per camera: a view is kept every quarter of ``reference_s``, scaled so that
the tallest input (a fixed tile of ``1/rows`` of the frame height) is at network size (a 1080p
frame with two rows at 224 px: 796 x 448, about 1 MB), and views older than needed are dropped,
so at most five are held. A smaller input (a focus crop) gets its reference cut from the same
scaled view and enlarged, softer than the current crop; the training recipe makes its
references the same way.

A camera with no view ``reference_s`` old yet (its first minutes after a start, a restart or a
mask change, or a frame of another size) uses the current frame, scaled the same way, as its own
reference: the model then sees no change and scores the frame on its looks alone.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from detector.modelspec import ModelSpec
from detector.preprocess import cut
from detector.types import Box


def view_scale(spec: ModelSpec, height: int) -> float:
    """Scale of a kept view: a fixed tile (frame height / rows) becomes the input height."""
    return min(1.0, spec.input.size[1] * spec.tiling.rows / height)


def scaled_view(image: np.ndarray, scale: float) -> np.ndarray:
    """``image`` scaled by ``scale`` (area averaging), as kept for reference."""
    if scale >= 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


class ReferenceViews:
    """One camera's scaled recent views, and the reference crops of a frame's boxes.

    Not thread-safe: one camera's frames are scored one at a time.
    """

    def __init__(self, spec: ModelSpec) -> None:
        if spec.temporal is None:
            raise ValueError(f"model {spec.name} has no temporal input")
        self.spec = spec
        self.reference_s = spec.temporal.reference_s
        self._views: deque[tuple[float, np.ndarray]] = deque()

    def crops(self, image: np.ndarray, ts: float, boxes: list[Box]) -> list[np.ndarray]:
        """The reference crop of each box (normalised), at network size; remembers the frame."""
        current = scaled_view(image, view_scale(self.spec, image.shape[0]))
        reference = self._reference(ts)
        self._remember(ts, current)
        if reference is None or reference.shape != current.shape:
            reference = current
        return cut(reference, boxes, self.spec.input.size)

    def _reference(self, ts: float) -> np.ndarray | None:
        """The newest view at least ``reference_s`` older than ``ts``; older ones are dropped."""
        if self._views and ts < self._views[-1][0]:
            self._views.clear()  # the clock went back (a replayed file): start again
        while len(self._views) > 1 and ts - self._views[1][0] >= self.reference_s:
            self._views.popleft()
        if self._views and ts - self._views[0][0] >= self.reference_s:
            return self._views[0][1]
        return None

    def _remember(self, ts: float, view: np.ndarray) -> None:
        if not self._views or ts - self._views[-1][0] >= self.reference_s / 4:
            self._views.append((ts, view))

    @property
    def kept(self) -> int:
        """Views held now (at most five in steady state)."""
        return len(self._views)
