"""Deterministic synthetic footage: a hillside under a sky, with or without a rising smoke plume.

Positive clips show a grey-brown plume (~RGB 150,138,125) that starts at ``plume_start_s`` from a
point on the hillside and grows for about 20 s. Negative clips (``plume_start_s=None``) show
drifting white clouds and a slowly varying bluish haze and contain no grey-brown at all, so a
detector keyed on smoke colour must stay quiet on them. Every pixel is a function of the spec and
the time ``t`` only, so two renders of the same spec are identical.

CLI::

    python -m benchmarks.synth OUT.mp4 --seconds 30 --plume-start 5 [--negative]
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import cv2
import numpy as np

SKY_TOP = (110.0, 150.0, 210.0)
SKY_HORIZON = (170.0, 200.0, 235.0)
HILL = (70.0, 95.0, 55.0)
FAR_HILL = (95.0, 122.0, 112.0)
SMOKE = (150.0, 138.0, 125.0)
CLOUD = (240.0, 242.0, 248.0)
HAZE = (200.0, 205.0, 215.0)

PLUME_GROWTH_S = 20.0  # the plume reaches full size this long after it starts
PLUME_MAX_ALPHA = 0.85
HAZE_MAX_ALPHA = 0.3


@dataclass(frozen=True)
class SynthSpec:
    """What to render. Sizes in pixels, times in seconds of clip time.

    Attributes:
        plume_start_s: when the plume appears; None renders a negative clip.
        plume_end_s: when the plume is gone (put out); None: it stays to the end.
        gop: keyframe interval in frames (None: 2 x fps).
        bitrate: target bits per second (None: constant quality).
        clouds: draw drifting clouds (5 on negative clips, 2 on positive ones).
        haze: draw the varying haze (None: on for negative clips only).
    """

    width: int = 640
    height: int = 360
    fps: float = 10
    seconds: float = 30.0
    plume_start_s: float | None = 5.0
    plume_end_s: float | None = None
    seed: int = 0
    gop: int | None = None
    bitrate: int | None = None
    clouds: bool = True
    haze: bool | None = None

    @property
    def frames(self) -> int:
        """Number of frames in the clip."""
        return max(1, round(self.seconds * self.fps))

    @property
    def gop_frames(self) -> int:
        """Keyframe interval in frames."""
        return self.gop if self.gop is not None else max(1, round(2 * self.fps))

    @property
    def negative(self) -> bool:
        return self.plume_start_s is None


@dataclass(frozen=True)
class _Scene:
    """Static layers and random choices of one spec, computed once (arrays are read-only)."""

    background: np.ndarray  # H x W x 3 float32 RGB
    sky_mask: np.ndarray  # H x W float32, 1 in the sky, 0 on the hills
    haze_profile: np.ndarray  # H x 1 float32, more haze towards the horizon
    noise: np.ndarray  # 2H x W float32 in 0..1, tileable vertically for plume texture
    source: tuple[float, float]  # plume origin (x, y) in pixels
    clouds: tuple[tuple[float, float, float, float, float], ...]  # cx, cy, rx, ry, vx
    phase: float


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Low-frequency noise in 0..1 of shape ``h x w``, about ``cell`` pixels per feature."""
    small = rng.random((max(2, h // cell + 2), max(2, w // cell + 2))).astype(np.float32)
    out = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    lo, hi = float(out.min()), float(out.max())
    return ((out - lo) / max(hi - lo, 1e-6)).astype(np.float32)


def _ridges(spec: SynthSpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Near and far ridge heights (pixels from the top) for each column."""
    h, x = spec.height, np.linspace(0.0, 1.0, spec.width, dtype=np.float32)
    p = rng.uniform(0, 2 * math.pi, 4)
    near = 0.50 + 0.07 * np.sin(2 * math.pi * 1.1 * x + p[0]) + 0.03 * np.sin(9.0 * x + p[1])
    far = 0.40 + 0.05 * np.sin(2 * math.pi * 1.7 * x + p[2]) + 0.02 * np.sin(15.0 * x + p[3])
    return (near * h).astype(np.float32), (far * h).astype(np.float32)


def _background(
    spec: SynthSpec, rng: np.random.Generator, near: np.ndarray, far: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    h, w = spec.height, spec.width
    rows = np.arange(h, dtype=np.float32)[:, None]
    v = (rows / max(1.0, float(near.max()))).clip(0, 1)[..., None]
    sky = np.asarray(SKY_TOP, np.float32) * (1 - v) + np.asarray(SKY_HORIZON, np.float32) * v
    img = np.broadcast_to(sky, (h, w, 3)).copy()
    # Soft one-pixel edges so the ridge line does not alias.
    far_a = (rows - far[None, :] + 0.5).clip(0, 1)
    near_a = (rows - near[None, :] + 0.5).clip(0, 1)
    img += (np.asarray(FAR_HILL, np.float32) - img) * far_a[..., None]
    # Vegetation texture: brightness only (never hue), so the hills stay green and never brown.
    shade = 0.82 + 0.3 * _smooth_noise(rng, h, w, max(4, h // 24))
    shade += rng.normal(0.0, 0.025, (h, w)).astype(np.float32)
    depth = 1.0 + 0.25 * ((rows - near[None, :]) / h).clip(0, 1)  # nearer slopes darker
    hill = np.asarray(HILL, np.float32) * (shade / depth)[..., None]
    img += (hill - img) * near_a[..., None]
    sky_mask = 1.0 - far_a
    return img.astype(np.float32), sky_mask.astype(np.float32)


@lru_cache(maxsize=8)
def _scene(spec: SynthSpec) -> _Scene:
    rng = np.random.default_rng(spec.seed)
    near, far = _ridges(spec, rng)
    background, sky_mask = _background(spec, rng, near, far)
    h, w = spec.height, spec.width
    sx = w * float(rng.uniform(0.5, 0.7))
    ridge = float(near[min(w - 1, int(sx))])
    source = (sx, ridge + 0.18 * (h - ridge))
    count = 0 if not spec.clouds else (5 if spec.negative else 2)
    clouds = tuple(
        (
            float(rng.uniform(0, w)),
            float(rng.uniform(0.06, 0.26) * h),
            float(rng.uniform(0.06, 0.12) * w),
            float(rng.uniform(0.025, 0.05) * h),
            float(rng.uniform(0.006, 0.02) * w) * float(rng.choice([-1.0, 1.0])),
        )
        for _ in range(count)
    )
    rows = np.arange(h, dtype=np.float32)[:, None] / h
    haze_profile = (0.7 + 0.3 * np.exp(-(((rows - 0.5) / 0.25) ** 2))).astype(np.float32)
    noise = _smooth_noise(rng, 2 * h, w, max(4, h // 30))
    for arr in (background, sky_mask, haze_profile, noise):
        arr.setflags(write=False)
    return _Scene(
        background, sky_mask, haze_profile, noise, source, clouds, float(rng.uniform(0, 6))
    )


def _blend(
    img: np.ndarray, box: tuple[int, int, int, int], alpha: np.ndarray, rgb: tuple[float, ...]
) -> None:
    """Alpha-blend ``rgb`` into ``img[y0:y1, x0:x1]`` in place; ``alpha`` is (y1-y0) x (x1-x0)."""
    y0, y1, x0, x1 = box
    region = img[y0:y1, x0:x1]
    region += (np.asarray(rgb, np.float32) - region) * alpha[..., None]


def _clip_box(
    spec: SynthSpec, x0: float, x1: float, y0: float, y1: float
) -> tuple[int, int, int, int] | None:
    box = (
        max(0, int(y0)),
        min(spec.height, math.ceil(y1)),
        max(0, int(x0)),
        min(spec.width, math.ceil(x1)),
    )
    return box if box[1] > box[0] and box[3] > box[2] else None


def _draw_clouds(img: np.ndarray, spec: SynthSpec, scene: _Scene, t: float) -> None:
    for i, (cx0, cy, rx, ry, vx) in enumerate(scene.clouds):
        span = spec.width + 4 * rx
        cx = (cx0 + vx * t + 2 * rx) % span - 2 * rx
        box = _clip_box(spec, cx - 2 * rx, cx + 2 * rx, cy - 2.5 * ry, cy + 2.5 * ry)
        if box is None:
            continue
        ys = np.arange(box[0], box[1], dtype=np.float32)[:, None]
        xs = np.arange(box[2], box[3], dtype=np.float32)[None, :]
        dens = np.zeros((box[1] - box[0], box[3] - box[2]), np.float32)
        # Four puffs per cloud, fixed offsets, so each cloud keeps its shape while it drifts.
        for k, (dx, dy, s) in enumerate(
            ((-0.5, 0.2, 0.7), (0.0, -0.2, 1.0), (0.55, 0.1, 0.75), (0.2, 0.35, 0.6))
        ):
            wob = 0.05 * math.sin(0.1 * t + i + k)
            px, py = cx + (dx + wob) * rx, cy + dy * ry
            dens += np.exp(-(((xs - px) / (s * rx * 0.6)) ** 2 + ((ys - py) / (s * ry)) ** 2))
        alpha = 0.9 * np.minimum(dens, 1.0) * scene.sky_mask[box[0] : box[1], box[2] : box[3]]
        _blend(img, box, alpha, CLOUD)


def _plume_growth(spec: SynthSpec, t: float) -> float:
    if spec.plume_start_s is None or t < spec.plume_start_s:
        return 0.0
    if spec.plume_end_s is not None and t >= spec.plume_end_s:
        return 0.0
    return float(min(1.0, (t - spec.plume_start_s) / PLUME_GROWTH_S) ** 0.6)


def _draw_plume(img: np.ndarray, spec: SynthSpec, scene: _Scene, t: float) -> None:
    grow = _plume_growth(spec, t)
    if grow <= 0.0:
        return
    h, w = spec.height, spec.width
    sx, sy = scene.source
    top = h * (0.04 + 0.42 * grow)  # plume height in pixels
    drift = w * 0.12 * grow  # the wind bends the column to the right as it rises
    half_max = h * (0.02 + 0.12 * (0.4 + 0.6 * grow))
    box = _clip_box(spec, sx - 3 * half_max, sx + drift + 3 * half_max, sy - top, sy + 0.03 * h)
    if box is None:
        return
    ys = np.arange(box[0], box[1], dtype=np.float32)[:, None]
    xs = np.arange(box[2], box[3], dtype=np.float32)[None, :]
    hn = (sy - ys) / top  # 0 at the source, 1 at the top
    centre = (
        sx + drift * np.clip(hn, 0, 1) ** 1.5 + 0.006 * w * np.sin(2 * math.pi * t / 7 + 3 * hn)
    )
    half = h * (0.02 + 0.12 * np.clip(hn, 0, 1) * (0.4 + 0.6 * grow))
    # Flat-topped across the column (4th power), so the core is dense and the edges soft.
    across = ((xs - centre) / half) ** 2
    lateral = np.exp(-0.5 * across * across)
    vertical = np.clip((hn + 0.03) / 0.06, 0, 1) * np.clip((1.0 - hn) / 0.3, 0, 1)
    # Texture that rises with the smoke: rows of the noise field scroll up over time.
    rows = (np.arange(box[0], box[1]) + int(t * 0.05 * h)) % scene.noise.shape[0]
    tex = 0.8 + 0.2 * scene.noise[rows][:, box[2] : box[3]]
    core = PLUME_MAX_ALPHA * min(1.0, 0.8 + 0.4 * grow)
    alpha = np.clip(
        core * lateral * vertical * (1 - 0.2 * np.clip(hn, 0, 1)) * tex / 0.9, 0, PLUME_MAX_ALPHA
    )
    _blend(img, box, alpha.astype(np.float32), SMOKE)


def _haze_alpha(spec: SynthSpec, scene: _Scene, t: float) -> float:
    if not (spec.negative if spec.haze is None else spec.haze):
        return 0.0
    a = 0.15 + 0.09 * math.sin(2 * math.pi * t / 45 + scene.phase) + 0.03 * math.sin(t / 7)
    return min(HAZE_MAX_ALPHA, max(0.0, a))


def render_frame(spec: SynthSpec, t: float) -> np.ndarray:
    """The picture at clip time ``t`` seconds: ``height x width x 3`` uint8 RGB."""
    scene = _scene(spec)
    img = scene.background.copy()
    _draw_clouds(img, spec, scene, t)
    _draw_plume(img, spec, scene, t)
    haze = _haze_alpha(spec, scene, t)
    if haze > 0:
        img += (np.asarray(HAZE, np.float32) - img) * (haze * scene.haze_profile)[..., None]
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _x264_params(spec: SynthSpec, annexb: bool) -> str:
    # Fixed GOP (no scene-cut keyframes) so tests can predict keyframe counts, and no B-frames:
    # like most IP cameras, and the RTSP test server stamps timestamps in decode order.
    g = spec.gop_frames
    params = f"keyint={g}:min-keyint={g}:scenecut=0:bframes=0:sliced-threads=0"
    if annexb:
        # SPS/PPS before every keyframe: a looped raw stream can be joined at any keyframe.
        params += ":repeat-headers=1"
    return params


def write_clip(path: Path, spec: SynthSpec) -> Path:
    """Encode the clip as H.264: MP4, or a raw Annex-B stream when ``path`` ends in ``.h264``.

    Returns ``path``. Parent directories are created.
    """
    if spec.width % 2 or spec.height % 2:
        raise ValueError(f"H.264 4:2:0 needs even sizes, got {spec.width}x{spec.height}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    annexb = path.suffix.lower() in (".h264", ".264")
    rate = Fraction(spec.fps).limit_denominator(1001)
    options = {"preset": "veryfast", "x264-params": _x264_params(spec, annexb)}
    with av.open(str(path), "w", format="h264" if annexb else None) as out:
        stream = out.add_stream("libx264", rate=rate, options=options)
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.codec_context.gop_size = spec.gop_frames
        if spec.bitrate is not None:
            stream.bit_rate = spec.bitrate
        for i in range(spec.frames):
            frame = av.VideoFrame.from_ndarray(render_frame(spec, i / float(rate)), format="rgb24")
            frame.pts = i
            frame.time_base = 1 / rate
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def write_clip_pair(spec: SynthSpec, h264_path: Path, mp4_path: Path) -> tuple[Path, Path]:
    """Write the clip as a raw ``.h264`` stream and the same bitstream in an MP4 (remuxed).

    Encodes once: about half the time of two :func:`write_clip` calls, and both files hold the
    same pictures. Returns ``(h264_path, mp4_path)``.
    """
    write_clip(h264_path, spec)
    mp4_path = Path(mp4_path)
    mp4_path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(spec.fps).limit_denominator(1001)
    # The MP4 time base gets 1024 ticks per frame so that every frame time is exact.
    time_base = 1 / (rate * 1024)
    with av.open(str(h264_path)) as src, av.open(str(mp4_path), "w") as dst:
        in_stream = src.streams.video[0]
        out_stream = dst.add_stream_from_template(in_stream)
        out_stream.time_base = time_base
        index = 0
        for packet in src.demux(in_stream):
            if packet.size == 0:  # the demuxer's final flush packet
                continue
            packet.pts = packet.dts = index * 1024
            packet.duration = 1024
            packet.time_base = time_base
            packet.stream = out_stream
            dst.mux(packet)
            index += 1
    return Path(h264_path), mp4_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.synth", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "out", type=Path, help="output file: .mp4, or .h264 for a raw Annex-B stream"
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--plume-start", type=float, default=5.0, help="seconds until the plume appears"
    )
    parser.add_argument("--negative", action="store_true", help="no plume: clouds and haze only")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument(
        "--gop", type=int, default=None, help="keyframe interval in frames (2 x fps)"
    )
    parser.add_argument(
        "--bitrate", type=int, default=None, help="bits per second (constant quality)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    spec = SynthSpec(
        width=args.width,
        height=args.height,
        fps=args.fps,
        seconds=args.seconds,
        plume_start_s=None if args.negative else args.plume_start,
        seed=args.seed,
        gop=args.gop,
        bitrate=args.bitrate,
    )
    print(write_clip(args.out, spec))


if __name__ == "__main__":
    main()
