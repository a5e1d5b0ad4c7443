"""Training pairs for a temporal tile model, made by compositing real smoke onto real views.

A temporal model sees a tile and the same tile ``reference_s`` earlier. The data pack has no
boxed ignition sequences, so pairs are made from what it has:

- **Views** (backgrounds): FIgLib *pre-ignition* frames of the training fires, one a minute, so
  a pair of frames five minutes apart shows real cloud, haze and light change of the same view;
  and stills without fire (the parts of boxed smoke images away from their boxes, cloud and
  webcam images), whose reference is the same still shifted by a few pixels (camera shake)
  with another gain, haze and compression.
- **Plumes**: cut out of the boxed smoke images (AI For Mankind, firegaze) with a soft alpha
  (brighter or darker than the box's border, feathered towards the edge), pasted 8-60 px wide
  at 1080p scale (the fixed tiles are half the frame height, focus crops 0.22 of it) and
  anchored at their base. In the reference the plume is absent (it started since) or smaller,
  fainter and a little displaced (it grew and drifted).
- **Look-alikes and camera changes** on negatives: the real changes of the FIgLib views, night
  lights appearing, glare, haze drift, gain steps, shake, and clouds cut out of the cloud
  images the same way as plumes and pasted the same way (so that "something pale and soft
  appeared" is not enough to be smoke).
- **Real smoke as it is**: tiles around the boxes of the smoke images, their own reference
  (smoke already in view when a camera starts).
- **Robustness** on both tiles independently: JPEG at quality 20-90, gain +-15 %, sensor noise.
- **No reference yet**: a share of pairs (positive and negative) have the tile as its own
  reference, as the detector does for a camera's first frames, so a plume in view from the
  start is still smoke.

Flame comes from the flame photos (self-referenced or gain-changed), darkened to night on a
share of them, and night lights are negatives. Splits follow :mod:`models.training.sources`:
views and plumes of the validation side never enter training.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from models.training import augment as aug
from models.training.sources import PixelBox

#: Plume width at 1080p, pixels.
PLUME_PX = (8.0, 60.0)
#: Tile sides at 1080p: the fixed tiles (H/2) and the focus crops (0.22 H).
TILE_SIDES = (540.0, 238.0)
#: Reference lag in FIgLib frames (one a minute).
LAG_FRAMES = 5
SELF_REFERENCE_P = 0.2
#: Narrowest plume in network pixels (a 3 px speck is no label the network can learn).
MIN_TILE_PX = 6.0


@dataclass(frozen=True)
class Plume:
    rgb: np.ndarray  # h x w x 3 uint8
    alpha: np.ndarray  # h x w float32 0..1


@dataclass(frozen=True)
class Pools:
    """Everything one split's pairs are drawn from, in memory."""

    views: list[list[np.ndarray]]  # FIgLib pre-ignition frames per fire, in time order
    stills: list[np.ndarray]  # images without fire (cut to the parts without boxes)
    plumes: list[Plume]
    flames: list[tuple[np.ndarray, tuple[PixelBox, ...]]]
    # cloud cut-outs (pasted like plumes, as negatives) and boxed real smoke (static positives)
    clouds: list[Plume] = field(default_factory=list)
    smoke: list[tuple[np.ndarray, tuple[PixelBox, ...]]] = field(default_factory=list)


def cut_plume(image: np.ndarray, box: PixelBox) -> Plume | None:
    """The box's smoke with a soft alpha: how far each pixel's brightness is from the box
    border's median, feathered by an ellipse; None for boxes too small to use."""
    x0, y0, x1, y1 = (round(v) for v in box)
    crop = image[max(0, y0) : y1, max(0, x0) : x1]
    if crop.shape[0] < 6 or crop.shape[1] < 6:
        return None
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    diff = np.abs(grey - float(np.median(border)))
    scale = max(float(np.percentile(diff, 95)), 8.0)
    h, w = grey.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ellipse = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    window = np.clip(1.4 - ellipse, 0.0, 1.0)
    alpha = cv2.GaussianBlur(np.clip(diff / scale, 0, 1) * window, (0, 0), 1.0)
    return Plume(np.ascontiguousarray(crop), alpha.astype(np.float32))


def paste(
    tile: np.ndarray, plume: Plume, width: float, x: float, base: float, opacity: float
) -> np.ndarray:
    """``tile`` with ``plume`` scaled to ``width`` px, centred on ``x``, based at row ``base``."""
    h0, w0 = plume.alpha.shape
    w = max(2, round(width))
    h = max(2, round(h0 * w / w0))
    rgb = cv2.resize(plume.rgb, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.resize(plume.alpha, (w, h), interpolation=cv2.INTER_AREA) * opacity
    out = tile.astype(np.float32)
    size = tile.shape[0]
    tx0, ty0 = round(x - w / 2), round(base - h)
    sx0, sy0 = max(0, -tx0), max(0, -ty0)
    tx1, ty1 = min(size, tx0 + w), min(size, ty0 + h)
    if tx1 <= tx0 + sx0 or ty1 <= ty0 + sy0:
        return tile
    a = alpha[sy0 : sy0 + ty1 - ty0 - sy0, sx0 : sx0 + tx1 - tx0 - sx0, None]
    region = out[ty0 + sy0 : ty1, tx0 + sx0 : tx1]
    src = rgb[sy0 : sy0 + region.shape[0], sx0 : sx0 + region.shape[1]]
    out[ty0 + sy0 : ty1, tx0 + sx0 : tx1] = region * (1 - a) + src * a
    return np.clip(out, 0, 255).astype(np.uint8)


def _square(image: np.ndarray, rng: np.random.Generator, side_share: float) -> tuple[int, int, int]:
    h, w = image.shape[:2]
    side = max(16, min(h, w, round(side_share * h)))
    return int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1)), side


def _cut(image: np.ndarray, x: int, y: int, side: int, size: int, area: bool = False) -> np.ndarray:
    crop = image[max(0, y) : y + side, max(0, x) : x + side]
    if crop.shape[0] != side or crop.shape[1] != side:
        crop = cv2.copyMakeBorder(
            crop, 0, side - crop.shape[0], 0, side - crop.shape[1], cv2.BORDER_REFLECT
        )
    interpolation = cv2.INTER_AREA if area else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def soften(ref: np.ndarray, side_px: float) -> np.ndarray:
    """A reference as the detector keeps it: views are scaled so that a fixed tile (H/2) is at
    network size, so a smaller crop's reference is enlarged from fewer pixels."""
    size = ref.shape[0]
    small = max(8, round(size * side_px / TILE_SIDES[0]))
    if small >= size:
        return ref
    down = cv2.resize(ref, (small, small), interpolation=cv2.INTER_AREA)
    return cv2.resize(down, (size, size), interpolation=cv2.INTER_LINEAR)


def _gain(img: np.ndarray, rng: np.random.Generator, span: float = 0.15) -> np.ndarray:
    out = img.astype(np.float32) * rng.uniform(1 - span, 1 + span)
    return np.clip(out, 0, 255).astype(np.uint8)


def _robust(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What the camera and the network path do to one frame: gain, noise, compression."""
    if rng.random() < 0.6:
        img = _gain(img, rng)
    if rng.random() < 0.3:
        img = aug._noise(img, rng)
    if rng.random() < 0.7:
        quality = int(rng.integers(20, 91))
        ok, buf = cv2.imencode(
            ".jpg", np.ascontiguousarray(img), [cv2.IMWRITE_JPEG_QUALITY, quality]
        )
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return np.ascontiguousarray(img)


def _view_pair(
    pools: Pools, rng: np.random.Generator, side_share: float, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Background pair: two FIgLib frames ``LAG_FRAMES`` apart, or a still and its shaken copy."""
    if pools.views and rng.random() < 0.6:
        frames = pools.views[int(rng.integers(len(pools.views)))]
        i = int(rng.integers(LAG_FRAMES, len(frames)))
        cur_img, ref_img = frames[i], frames[i - LAG_FRAMES]
        x, y, side = _square(cur_img, rng, side_share)
        shake = rng.integers(-4, 5, size=2) if rng.random() < 0.3 else (0, 0)
        return _cut(cur_img, x, y, side, size), _cut(
            ref_img, x + int(shake[0]), y + int(shake[1]), side, size, area=True
        )
    image = pools.stills[int(rng.integers(len(pools.stills)))]
    x, y, side = _square(image, rng, min(1.0, side_share * rng.uniform(1.0, 2.0)))
    shake = rng.integers(-4, 5, size=2)
    return _cut(image, x, y, side, size), _cut(
        image, x + int(shake[0]), y + int(shake[1]), side, size, area=True
    )


def _grow(
    cur: np.ndarray, ref: np.ndarray, plumes: list[Plume], rng: np.random.Generator, side_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """Paste one plume into ``cur`` and, unless it started since, a younger one into ``ref``."""
    size = cur.shape[0]
    plume = plumes[int(rng.integers(len(plumes)))]
    # log-uniform over PLUME_PX at 1080p, but never under MIN_TILE_PX in the tile (invisible)
    width = max(MIN_TILE_PX, np.exp(rng.uniform(*np.log(PLUME_PX))) * size / side_px)
    x, base = rng.uniform(0.1, 0.9) * size, rng.uniform(0.35, 0.95) * size
    opacity = rng.uniform(0.45, 1.0)
    cur = paste(cur, plume, width, x, base, opacity)
    if rng.random() < 0.5:  # already there, smaller, fainter, displaced by the wind
        drift = rng.normal(0, 0.15) * width
        ref = paste(
            ref,
            plume,
            width * rng.uniform(0.3, 0.8),
            x - drift,
            base,
            opacity * rng.uniform(0.3, 0.9),
        )
    return cur, ref


def _look_alike(
    cur: np.ndarray, ref: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Changes without fire: lights, glare, haze drift, a gain step."""
    roll = rng.random()
    if roll < 0.15:
        cur, ref = aug._lights(cur, rng), aug._night(ref, rng)
    elif roll < 0.25:
        cur = aug._glare(cur, rng)
    elif roll < 0.4:
        cur = aug._haze(cur, rng)
    elif roll < 0.5:
        cur = _gain(cur, rng, 0.3)
    return cur, ref


def _boxed_pair(
    images: list[tuple[np.ndarray, tuple[PixelBox, ...]]],
    rng: np.random.Generator,
    size: int,
    night_p: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """A tile around a box of a real photo, its own reference (the fire was already there)."""
    image, boxes = images[int(rng.integers(len(images)))]
    h, w = image.shape[:2]
    x0, y0, x1, y1 = boxes[int(rng.integers(len(boxes)))]
    side = int(min(h, w, max(x1 - x0, y1 - y0) * rng.uniform(1.2, 3.0)))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    x = int(np.clip(cx - side / 2, 0, w - side))
    y = int(np.clip(cy - side / 2, 0, h - side))
    tile = _cut(image, x, y, max(side, 8), size)
    if rng.random() < night_p:
        tile = aug._night(tile, rng)
    return tile, tile.copy()


def make_pair(
    pools: Pools, rng: np.random.Generator, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One (current, reference, [smoke, flame]) training example (NaN: unknown)."""
    roll = rng.random()
    label = np.zeros(2, dtype=np.float32)
    side_px = TILE_SIDES[int(rng.integers(len(TILE_SIDES)))]
    if roll < 0.15 and pools.flames:
        side_px = TILE_SIDES[0]
        cur, ref = _boxed_pair(pools.flames, rng, size, night_p=0.3)
        label[:] = (np.nan, 1.0)  # flame photos: smoke unknown (some show it)
    elif roll < 0.25 and pools.smoke:
        side_px = TILE_SIDES[0]
        cur, ref = _boxed_pair(pools.smoke, rng, size)
        label[0] = 1.0
    else:
        cur, ref = _view_pair(pools, rng, side_px / 1080.0, size)
        if roll < 0.55:
            cur, ref = _grow(cur, ref, pools.plumes, rng, side_px)
            label[0] = 1.0
        elif roll < 0.75 and pools.clouds:  # something pale appears that is not smoke
            cur, ref = _grow(cur, ref, pools.clouds, rng, side_px * 0.5)
        else:
            cur, ref = _look_alike(cur, ref, rng)
    if rng.random() < SELF_REFERENCE_P:
        ref = cur.copy()
    ref = soften(ref, side_px)
    if rng.random() < 0.5:
        cur, ref = cur[:, ::-1], ref[:, ::-1]
    return _robust(cur, rng), _robust(ref, rng), label
