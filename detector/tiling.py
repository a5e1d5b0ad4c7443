"""Square tiles covering a frame, shared by the detector and the training recipe.

Tiles are squares of side ``H / rows`` laid in as many columns as needed to cover the width with
at least ``min_overlap`` overlap, spread evenly, and in ``rows`` rows; with ``row_overlap`` > 0,
extra rows are added the same way so that neighbouring rows overlap by at least that fraction
(``rows=2, row_overlap=0.5`` adds a row straddling the middle of the frame, where smoke on the
horizon often sits astride the edge between two rows). Square tiles keep the aspect ratio of
smoke plumes whatever the camera's aspect ratio (16:9 or 4:3).
"""

from __future__ import annotations

import math

from detector.types import Box


def tile_boxes(
    width: int, height: int, rows: int, min_overlap: float = 0.0, row_overlap: float = 0.0
) -> list[Box]:
    """Return tile boxes, row-major, normalised to 0..1 by ``width`` and ``height``.

    >>> len(tile_boxes(1920, 1080, rows=2))
    8
    >>> len(tile_boxes(1920, 1080, rows=2, row_overlap=0.5))
    12
    >>> tile_boxes(640, 480, rows=1)[0]
    (0.0, 0.0, 0.75, 1.0)
    """
    if width <= 0 or height <= 0 or rows < 1:
        raise ValueError(f"bad frame size {width}x{height} or rows={rows}")
    side = height / rows
    if side >= width:  # portrait or very tall tiles: one column, clipped to the width
        cols, side_x = 1, float(width)
    else:
        cols, side_x = _count(width, side, min_overlap), side
    stride_x = 0.0 if cols == 1 else (width - side_x) / (cols - 1)
    n_rows = _count(height, side, row_overlap) if row_overlap > 0 else rows
    stride_y = 0.0 if n_rows == 1 else (height - side) / (n_rows - 1)
    boxes: list[Box] = []
    for r in range(n_rows):
        y0 = r * stride_y
        for c in range(cols):
            x0 = c * stride_x
            boxes.append((x0 / width, y0 / height, (x0 + side_x) / width, (y0 + side) / height))
    return boxes


def _count(length: float, side: float, min_overlap: float) -> int:
    """How many tiles of ``side`` cover ``length`` with at least ``min_overlap`` overlap."""
    stride_max = side * (1.0 - min_overlap)
    return max(1, math.ceil((length - side) / stride_max - 1e-9) + 1)


def pixel_box(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """Normalised box to integer pixel bounds (x0, y0, x1, y1), clipped, at least 1 pixel."""
    x0 = min(max(round(box[0] * width), 0), width - 1)
    y0 = min(max(round(box[1] * height), 0), height - 1)
    x1 = max(min(round(box[2] * width), width), x0 + 1)
    y1 = max(min(round(box[3] * height), height), y0 + 1)
    return x0, y0, x1, y1
