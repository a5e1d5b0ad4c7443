"""Photometric and mild geometric augmentation of uint8 RGB tiles (S x S x 3).

Each transform models something cameras really do: haze and low contrast (distance, fog),
colour casts (dawn, dusk, white balance), JPEG blocking (RTSP and web snapshots), zoom (other
lenses and tile scales), blur, sensor noise, and night (a steep gamma that keeps bright
flames bright and sinks the rest; smoke tiles are not darkened because smoke is not visible at
night without flame). With ``look_alikes`` two more model what fools smoke and flame detectors
on real cameras: sun glare (a bright veil with a hot spot and rays, on any tile) and point lights
(headlights and street lamps with bloom, only on tiles that are not flame-positive). With
``fog``, tiles without smoke may also get a fog bank: a thick grey-white veil that thins and
thickens across the tile, softening what it covers (fog and low cloud over terrain are what a
network that knows close smoke mistakes for it).
"""

from __future__ import annotations

import cv2
import numpy as np

FOG_P = 0.15  # share of the tiles without smoke that get a fog bank (with ``fog``)


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


def _glare(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sun glare: a warm-white hot spot (often outside the tile) fading over it, with rays."""
    size = img.shape[0]
    cx, cy = rng.uniform(-0.2, 1.2, size=2) * size
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    dist = np.hypot(xx - cx, yy - cy) / size
    light = np.exp(-dist / rng.uniform(0.2, 0.7))
    angle = np.arctan2(yy - cy, xx - cx)
    rays = 1.0 + 0.5 * np.maximum(np.cos(angle * int(rng.integers(4, 9)) + rng.uniform(0, 6)), 0)
    alpha = np.clip(light * rays * rng.uniform(0.6, 1.0), 0, 1)[..., None]
    colour = np.array([255, rng.uniform(225, 255), rng.uniform(190, 245)], dtype=np.float32)
    out = img.astype(np.float32) * (1 - alpha) + colour * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


def _lights(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Night traffic: a dark scene with a few white or sodium point lights and their bloom."""
    out = _night(img, rng).astype(np.float32)
    size = img.shape[0]
    spots = np.zeros((size, size), dtype=np.float32)
    for _ in range(int(rng.integers(2, 12))):
        x, y = (int(v) for v in rng.integers(0, size, size=2))
        cv2.circle(spots, (x, y), int(rng.integers(1, max(2, size // 40))), 1.0, -1)
    bloom = np.clip(spots + 0.6 * cv2.GaussianBlur(spots, (0, 0), rng.uniform(2, 8)), 0, 1)
    white = rng.random() < 0.7
    colour = np.array([255, 250, 240] if white else [255, 190, 110], dtype=np.float32)
    out = out * (1 - bloom[..., None]) + colour * bloom[..., None]
    return np.clip(out, 0, 255).astype(np.uint8)


def _fog(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A fog bank: a grey-white veil whose thickness varies smoothly over the tile."""
    size = img.shape[0]
    cells = int(rng.integers(2, 4))
    field = cv2.resize(
        rng.random((cells, cells)).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC
    )
    field = (field - field.min()) / max(float(field.max() - field.min()), 1e-6)
    thick, thinnest = rng.uniform(0.5, 0.9), rng.uniform(0.4, 0.8)  # veil opacity, its range
    alpha = (thick * (thinnest + (1 - thinnest) * field))[..., None]
    soft = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 2.0)).astype(np.float32)
    colour = rng.uniform(150, 235) + rng.uniform(-8, 8, size=3)
    out = soft * (1 - alpha) + colour.astype(np.float32) * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


def augment(
    img: np.ndarray,
    smoke_positive: bool,
    rng: np.random.Generator,
    *,
    flame_positive: bool = False,
    look_alikes: bool = False,
    fog: bool = False,
) -> np.ndarray:
    """Return an augmented copy of ``img`` (uint8 RGB, square); the labels stay valid."""
    out = np.ascontiguousarray(img)
    if look_alikes:
        out = _look_alike(out, smoke_positive, flame_positive, rng)
    if fog and not smoke_positive and rng.random() < FOG_P:
        out = _fog(out, rng)
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


def _look_alike(
    img: np.ndarray, smoke_positive: bool, flame_positive: bool, rng: np.random.Generator
) -> np.ndarray:
    if rng.random() < 0.15:
        img = _glare(img, rng)
    if not (smoke_positive or flame_positive) and rng.random() < 0.1:
        img = _lights(img, rng)
    return img
