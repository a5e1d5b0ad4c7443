"""Frames to network input tensors, following a :class:`detector.modelspec.ModelSpec`.

The training recipe calls :func:`crops_for` and :func:`to_tensor` too, so what the model saw in
training is exactly what it sees in production.
"""

from __future__ import annotations

import cv2
import numpy as np

from detector.modelspec import InputSpec, ModelSpec, OutputKind
from detector.tiling import pixel_box
from detector.types import Box


def crops_for(image: np.ndarray, spec: ModelSpec) -> tuple[list[np.ndarray], list[Box]]:
    """Cut ``image`` (H x W x 3 RGB uint8) into the model's inputs, resized to the input size.

    Returns the crops (each ``h x w x 3`` uint8 at the network size) and their normalised boxes.
    A YOLO model gets the whole frame, letterboxed is not used: it is stretched to the input size.
    """
    height, width = image.shape[:2]
    if spec.kind is OutputKind.TILED_CLASSIFIER:
        boxes = spec.tiling.boxes(width, height)
    else:
        boxes = [(0.0, 0.0, 1.0, 1.0)]
    return cut(image, boxes, spec.input.size), boxes


def cut(image: np.ndarray, boxes: list[Box], size: tuple[int, int]) -> list[np.ndarray]:
    """The ``boxes`` (normalised) of ``image``, each resized to ``size`` (width, height)."""
    height, width = image.shape[:2]
    crops = []
    for box in boxes:
        x0, y0, x1, y1 = pixel_box(box, width, height)
        crops.append(cv2.resize(image[y0:y1, x0:x1], size, interpolation=cv2.INTER_LINEAR))
    return crops


def to_tensor(crops: list[np.ndarray], spec: InputSpec) -> np.ndarray:
    """Stack uint8 RGB crops into one float32 batch in the model's layout, normalised.

    Output shape: ``N x 3 x H x W`` (NCHW) or ``N x H x W x 3`` (NHWC). The layout change is a
    view of the uint8 stack; one pass converts, reorders and subtracts the mean into a
    contiguous float buffer (transposing float data afterwards cost six times as much).
    """
    batch = np.stack(crops)
    channels: tuple[int, ...] = (3,)
    if spec.layout == "NCHW":
        batch = batch.transpose(0, 3, 1, 2)
        channels = (3, 1, 1)
    mean = (np.asarray(spec.mean, dtype=np.float32) * 255.0).reshape(channels)
    inv_std = (1.0 / (np.asarray(spec.std, dtype=np.float32) * 255.0)).reshape(channels)
    out = np.empty(batch.shape, dtype=np.float32)
    np.subtract(batch, mean, out=out)
    out *= inv_std
    return out
