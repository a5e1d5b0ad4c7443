"""Focus crops: extra tiles centred where a camera's view changed over the last minutes.

The fixed tiles of a tiled classifier are a fraction of the frame height wide, so a young plume
of 20-40 pixels is a speck in its tile and scores low until it has grown (on the Red Mountain
time-lapse the plume is clear to the eye two minutes before its tile scores). A new plume is
also a change of the view: comparing each frame with the same camera's view ``reference_s``
earlier and cutting a smaller crop around each of the strongest changes shows it to the network
at a scale where it is seen. Clouds, traffic and swaying trees change too, and their crops are
scored like any tile: the model card measures what that costs on negative footage.

State is kept per camera: a few small grey thumbnails of the (masked) view, one every quarter of
``reference_s``.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from detector.modelspec import FocusSpec
from detector.types import Box

#: Width of the grey thumbnails that are compared (a 1080p frame: 256 x 144).
THUMB_WIDTH = 256
# Gaussian blur of the difference image (thumbnail pixels): one plume is one peak, not many.
_BLUR_SIGMA = 3.0
# Burnt-in captions (camera name, clock) change every frame: the top band is never a peak.
_CAPTION_BAND = 0.04


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A grey ``THUMB_WIDTH``-wide uint8 copy of an RGB frame (36 KB for 16:9)."""
    height, width = image.shape[:2]
    size = (THUMB_WIDTH, max(1, round(height * THUMB_WIDTH / width)))
    if width > 2 * THUMB_WIDTH:
        # Area averaging at a non-integer ratio costs 6 ms on a 1080p frame; bilinear to twice
        # the size, then 2x2 averaging, costs 0.3 ms.
        image = cv2.resize(image, (2 * size[0], 2 * size[1]), interpolation=cv2.INTER_LINEAR)
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)


def change_peaks(
    current: np.ndarray, reference: np.ndarray, count: int, spacing: int
) -> list[tuple[int, int]]:
    """The ``count`` strongest changes between two thumbnails, as (row, column), at least
    ``spacing`` pixels apart in both directions (strongest first)."""
    raw = cv2.absdiff(current, reference).astype(np.float32)
    raw[: int(_CAPTION_BAND * raw.shape[0])] = 0.0
    diff = cv2.GaussianBlur(raw, (0, 0), _BLUR_SIGMA)
    peaks: list[tuple[int, int]] = []
    for _ in range(count):
        row, col = np.unravel_index(int(diff.argmax()), diff.shape)
        if diff[row, col] <= 0.0:
            break
        peaks.append((int(row), int(col)))
        diff[max(0, row - spacing) : row + spacing, max(0, col - spacing) : col + spacing] = 0.0
    return peaks


def centred_box(row: float, col: float, side: float, width: int, height: int) -> Box:
    """A ``side`` x ``side`` pixel square centred on (row, col), moved inside the frame."""
    side = min(side, width, height)
    x0 = min(max(col - side / 2, 0.0), width - side)
    y0 = min(max(row - side / 2, 0.0), height - side)
    return (x0 / width, y0 / height, (x0 + side) / width, (y0 + side) / height)


class ChangeFocus:
    """One camera's recent views and where its latest frame differs from them.

    Not thread-safe: one camera's frames are scored one at a time (the scheduler never puts a
    camera in two batches at once).
    """

    def __init__(self, spec: FocusSpec) -> None:
        self.spec = spec
        self._views: deque[tuple[float, np.ndarray]] = deque()

    def boxes(self, image: np.ndarray, ts: float) -> list[Box]:
        """Focus boxes for this frame (none until a view ``reference_s`` old is known)."""
        current = thumbnail(image)
        reference = self._reference(ts)
        self._remember(ts, current)
        if reference is None or reference.shape != current.shape:
            return []
        height, width = image.shape[:2]
        side = self.spec.size * height
        scale = width / current.shape[1]
        spacing = max(1, round(side / scale))  # crops do not overlap
        return [
            centred_box(row * scale, col * scale, side, width, height)
            for row, col in change_peaks(current, reference, self.spec.crops, spacing)
        ]

    def _reference(self, ts: float) -> np.ndarray | None:
        """The newest view at least ``reference_s`` older than ``ts``; older ones are dropped."""
        if self._views and ts < self._views[-1][0]:
            self._views.clear()  # the clock went back (a replayed file): start again
        while len(self._views) > 1 and ts - self._views[1][0] >= self.spec.reference_s:
            self._views.popleft()
        if self._views and ts - self._views[0][0] >= self.spec.reference_s:
            return self._views[0][1]
        return None

    def _remember(self, ts: float, view: np.ndarray) -> None:
        if not self._views or ts - self._views[-1][0] >= self.spec.reference_s / 4:
            self._views.append((ts, view))
