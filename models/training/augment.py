"""Photometric and mild geometric augmentation of uint8 RGB tiles (S x S x 3).

Each transform models something cameras really do: haze and low contrast (distance, fog),
colour casts (dawn, dusk, white balance), JPEG blocking (RTSP and web snapshots), zoom (other
lenses and tile scales), blur, sensor noise, and night (a steep gamma that keeps bright
flames bright and sinks the rest; smoke tiles are not darkened because smoke is not visible at
night without flame).
"""

from __future__ import annotations

import cv2
import numpy as np


def _zoom(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    size = img.shape[0]
    scale = rng.uniform(0.75, 1.0)
    side = int(size * scale)
    x0 = int(rng.integers(0, size - side + 1))
    y0 = int(rng.integers(0, size - side + 1))
    return cv2.resize(
        img[y0 : y0 + side, x0 : x0 + side], (size, size), interpolation=cv2.INTER_LINEAR
    )


def _colour(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = img.astype(np.float32)
    grey = out.mean(axis=2, keepdims=True)
    out = grey + (out - grey) * rng.uniform(0.6, 1.4)  # saturation
    out = (out - out.mean()) * rng.uniform(0.7, 1.3) + out.mean()  # contrast
    out = out * rng.uniform(0.7, 1.3) * rng.uniform(0.9, 1.1, size=3)  # brightness, cast
    return np.clip(out, 0, 255).astype(np.uint8)


def _haze(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    veil = np.array(rng.uniform(170, 235, size=3), dtype=np.float32)
    alpha = rng.uniform(0.1, 0.45)
    out = img.astype(np.float32) * (1 - alpha) + veil * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


def _night(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    gamma = rng.uniform(2.0, 3.5)
    out = 255.0 * (img.astype(np.float32) / 255.0) ** gamma * rng.uniform(0.5, 1.0)
    return np.clip(out, 0, 255).astype(np.uint8)


def _jpeg(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    quality = int(rng.integers(25, 90))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else img


def _blur(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = int(rng.choice([3, 5]))
    return cv2.GaussianBlur(img, (k, k), 0)


def _noise(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noisy = img.astype(np.float32) + rng.normal(0, rng.uniform(2, 8), size=img.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def augment(img: np.ndarray, smoke_positive: bool, rng: np.random.Generator) -> np.ndarray:
    """Return an augmented copy of ``img`` (uint8 RGB, square); the labels stay valid."""
    out = np.ascontiguousarray(img)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    if rng.random() < 0.4:
        out = _zoom(out, rng)
    if rng.random() < 0.8:
        out = _colour(out, rng)
    if rng.random() < 0.3:
        out = _haze(out, rng)
    if not smoke_positive and rng.random() < 0.2:
        out = _night(out, rng)
    if rng.random() < 0.2:
        out = _blur(out, rng)
    if rng.random() < 0.2:
        out = _noise(out, rng)
    if rng.random() < 0.4:
        out = _jpeg(np.ascontiguousarray(out), rng)
    return np.ascontiguousarray(out)
