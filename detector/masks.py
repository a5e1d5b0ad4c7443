"""Camera masks: polygons (normalised coordinates) whose pixels the detector must ignore."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

# Masked pixels are painted black: grey would look like smoke and bright like flame, while a
# black patch reads as "nothing here" to a smoke or flame classifier.
MASK_FILL = (0, 0, 0)

Polygon = Sequence[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class MaskSet:
    """The ignore polygons of one camera, normalised to 0..1 of the frame."""

    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()

    @classmethod
    def of(cls, polygons: Sequence[Polygon]) -> MaskSet:
        return cls(tuple(tuple((float(x), float(y)) for x, y in poly) for poly in polygons))

    def __bool__(self) -> bool:
        return bool(self.polygons)

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Return a copy of ``image`` (H x W x 3) with masked areas painted; no copy if empty."""
        if not self.polygons:
            return image
        height, width = image.shape[:2]
        out = image.copy()
        scale = np.array([width, height], dtype=np.float64)
        pts = [np.round(np.asarray(p) * scale).astype(np.int32) for p in self.polygons]
        cv2.fillPoly(out, pts, MASK_FILL)
        return out

    def covers(self, x: float, y: float) -> bool:
        """True when the normalised point (x, y) lies inside any polygon."""
        for poly in self.polygons:
            contour = np.asarray(poly, dtype=np.float32).reshape(-1, 1, 2)
            if cv2.pointPolygonTest(contour, (x, y), False) >= 0:
                return True
        return False
