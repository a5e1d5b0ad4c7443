"""Tiles degraded as cameras and encoders degrade them, for training stable scores.

A network whose smoke score moves by 0.7 between a clip and its x264 crf-28 copy, or that finds
a fire 18 minutes later when the camera's gain drops by a tenth, decides by chance near its
threshold. ``train.py --robust`` pairs every training tile with a copy from :func:`degrade`:

- **gain and gamma**: pixel values times a gain of 0.85-1.15 and a gamma of 0.85-1.15 (an
  auto-exposure step, a darker or brighter day);
- **compression**: a real H.264 (x264, 4:2:0, intra frame) round trip at crf 20-35, or a JPEG
  round trip at quality 30-90. The tile is first scaled up by 1-2.4 times (a 540 px tile of a
  1080p frame reaches the network at 224 px) so that the blocks land at the scale the encoder
  saw them, then scaled back.

Needs no training extra (numpy, OpenCV and PyAV only); :mod:`models.training.robust` has the
loss that goes with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class DegradeSpec:
    """Ranges :func:`degrade` draws from (uniform)."""

    gain: tuple[float, float] = (0.85, 1.15)
    gamma: tuple[float, float] = (0.85, 1.15)
    crf: tuple[int, int] = (20, 35)
    jpeg_quality: tuple[int, int] = (30, 90)
    scale: tuple[float, float] = (1.0, 2.4)
    h264_p: float = 0.5  # share of the copies encoded with H.264 (the rest JPEG)


def adjust_light(img: np.ndarray, gain: float, gamma: float) -> np.ndarray:
    """``img`` (uint8) with its values raised to ``gamma`` (on 0..1), then times ``gain``."""
    out = 255.0 * (img.astype(np.float32) / 255.0) ** gamma * gain
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def h264_round_trip(img: np.ndarray, crf: int) -> np.ndarray:
    """``img`` (uint8 RGB, even sides) encoded as one x264 frame at ``crf`` and decoded."""
    height, width = img.shape[:2]
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = Fraction(1, 25)
    codec.thread_count = 1  # one thread: the same bytes on every run
    codec.options = {"crf": str(crf), "preset": "veryfast", "tune": "zerolatency"}
    packets = [*codec.encode(av.VideoFrame.from_ndarray(img, format="rgb24")), *codec.encode(None)]
    decoder = av.CodecContext.create("h264", "r")
    frames = [f for p in packets for f in decoder.decode(p)] + list(decoder.decode(None))
    return np.ascontiguousarray(frames[0].to_ndarray(format="rgb24"))


def jpeg_round_trip(img: np.ndarray, quality: int) -> np.ndarray:
    """``img`` (uint8 RGB) through a JPEG at ``quality`` (as OpenCV writes it, 4:2:0)."""
    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def compress(img: np.ndarray, rng: np.random.Generator, spec: DegradeSpec) -> np.ndarray:
    """A compression round trip of ``img`` at a scale and quality drawn from ``spec``."""
    size = img.shape[0]
    side = 2 * round(size * rng.uniform(*spec.scale) / 2)
    big = cv2.resize(img, (side, side), interpolation=cv2.INTER_CUBIC)
    if rng.random() < spec.h264_p:
        big = h264_round_trip(big, int(rng.integers(spec.crf[0], spec.crf[1] + 1)))
    else:
        low, high = spec.jpeg_quality
        big = jpeg_round_trip(big, int(rng.integers(low, high + 1)))
    return cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)


def degrade(
    img: np.ndarray, rng: np.random.Generator, spec: DegradeSpec = DegradeSpec()
) -> np.ndarray:
    """A copy of the square uint8 RGB tile ``img`` as another camera setting and encoder
    would give it: new gain and gamma, then a compression round trip. Same shape and dtype."""
    out = adjust_light(np.ascontiguousarray(img), rng.uniform(*spec.gain), rng.uniform(*spec.gamma))
    return np.ascontiguousarray(compress(out, rng, spec))
