"""Raw network outputs to per-class scores and regions.

Two output kinds:

* tiled classifier: one row of class scores per tile, ``[T, C]``; a tile whose score reaches the
  class threshold becomes a region with the tile's box.
* YOLO-style detector: ``[1, 4 + C, N]`` with boxes as (cx, cy, w, h) in input pixels and per-class
  scores; boxes are filtered by threshold and non-max suppression per class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from detector.masks import MaskSet
from detector.modelspec import Activation, ModelSpec
from detector.types import Box, Region


def activate(raw: np.ndarray, activation: Activation) -> np.ndarray:
    """Apply the model's output activation along the last axis."""
    if activation is Activation.SIGMOID:
        return np.asarray(1.0 / (1.0 + np.exp(-raw)))
    if activation is Activation.SOFTMAX:
        shifted = np.exp(raw - raw.max(axis=-1, keepdims=True))
        return np.asarray(shifted / shifted.sum(axis=-1, keepdims=True))
    return raw


def tile_regions(
    probs: np.ndarray,
    boxes: Sequence[Box],
    classes: Sequence[str],
    thresholds: Mapping[str, float],
) -> tuple[dict[str, float], tuple[Region, ...]]:
    """Scores (max over tiles) and regions (tiles at or above threshold) from ``probs [T, C]``."""
    scores = {cls: float(probs[:, i].max()) for i, cls in enumerate(classes)}
    regions = tuple(
        Region(cls, float(probs[t, i]), boxes[int(t)])
        for i, cls in enumerate(classes)
        for t in np.flatnonzero(probs[:, i] >= thresholds[cls])
    )
    return scores, regions


def yolo_regions(
    output: np.ndarray,
    spec: ModelSpec,
    thresholds: Mapping[str, float],
    mask: MaskSet,
) -> tuple[dict[str, float], tuple[Region, ...]]:
    """Decode one image's ``[4 + C, N]`` YOLO output into scores and NMS-filtered regions.

    Boxes are normalised by the network input size (the frame was stretched to it). Boxes whose
    centre is masked are dropped.
    """
    width, height = spec.input.size
    classes = spec.output_classes
    pred = output.T  # [N, 4 + C]
    cls_scores = activate(pred[:, 4:], spec.output.activation)
    scores = dict.fromkeys(classes, 0.0)
    regions: list[Region] = []
    for i, cls in enumerate(classes):
        keep = np.flatnonzero(cls_scores[:, i] >= min(thresholds[cls], 0.05))
        if keep.size == 0:
            continue
        cx, cy, w, h = (pred[keep, k] for k in range(4))
        norm = np.stack(
            [
                (cx - w / 2) / width,
                (cy - h / 2) / height,
                (cx + w / 2) / width,
                (cy + h / 2) / height,
            ],
            axis=1,
        ).clip(0.0, 1.0)
        conf = cls_scores[keep, i]
        rects = [(float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])) for b in norm]
        picked = cv2.dnn.NMSBoxes(rects, conf.tolist(), 0.05, spec.output.nms_iou)
        for j in np.asarray(picked, dtype=np.int64).reshape(-1):
            box: Box = (float(norm[j, 0]), float(norm[j, 1]), float(norm[j, 2]), float(norm[j, 3]))
            if mask.covers((box[0] + box[2]) / 2, (box[1] + box[3]) / 2):
                continue
            score = float(conf[j])
            scores[cls] = max(scores[cls], score)
            if score >= thresholds[cls]:
                regions.append(Region(cls, score, box))
    return scores, tuple(regions)
