"""A self-contained SVG map: cameras, their view wedges, event bearing rays and fixes.

Drawn from coordinates alone (no map tiles, nothing fetched): north is up, one local flat
frame (see :mod:`alerts.geo`) centred on what is drawn, equal scale on both axes, a scale bar.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape

from alerts.geo import LatLon, from_local_km, to_local_km
from alerts.locate import EventLocation
from streams.config import CameraConfig

WIDTH, HEIGHT, MARGIN = 800, 600, 40
_DEFAULT_RAY_KM = 10.0


def _ray_km(cams: dict[str, LatLon], fixes: Sequence[EventLocation], cap: float) -> float:
    """Ray length: long enough to pass the cameras' spread and every fix, at most ``cap``."""
    points = list(cams.values())
    spread = max(
        (to_local_km(a, b) for a in points for b in points),
        key=lambda v: math.hypot(*v),
        default=(0.0, 0.0),
    )
    longest = max((f.distance_km or 0.0 for f in fixes), default=0.0)
    return min(cap, max(_DEFAULT_RAY_KM, 1.5 * math.hypot(*spread), 1.2 * longest))


def _end(origin: LatLon, bearing: float, km: float) -> LatLon:
    rad = math.radians(bearing)
    return from_local_km(km * math.sin(rad), km * math.cos(rad), origin)


class _Frame:
    """Maps lat/lon to SVG pixels for a set of points (equal scale, north up, centred)."""

    def __init__(self, points: Iterable[LatLon]) -> None:
        pts = list(points) or [LatLon(0.0, 0.0)]
        self.origin = LatLon(
            sum(p.latitude for p in pts) / len(pts), sum(p.longitude for p in pts) / len(pts)
        )
        local = [to_local_km(p, self.origin) for p in pts]
        xs, ys = [x for x, _ in local], [y for _, y in local]
        width_km, height_km = max(xs) - min(xs), max(ys) - min(ys)
        self.scale = min(  # pixels per km
            (WIDTH - 2 * MARGIN) / max(width_km, 1e-3),
            (HEIGHT - 2 * MARGIN) / max(height_km, 1e-3),
            (HEIGHT - 2 * MARGIN) / 1.0,  # a single point: show about 1 km around it
        )
        self.cx, self.cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def xy(self, point: LatLon) -> tuple[float, float]:
        x, y = to_local_km(point, self.origin)
        return WIDTH / 2 + (x - self.cx) * self.scale, HEIGHT / 2 - (y - self.cy) * self.scale


def _scale_bar(frame: _Frame) -> str:
    target = 150 / frame.scale  # km that 150 px cover; round down to 1, 2 or 5 x 10^n
    power = 10 ** math.floor(math.log10(target))
    km = max(m * power for m in (1, 2, 5) if m * power <= target)
    px = km * frame.scale
    y = HEIGHT - 15
    return (
        f'<line x1="{MARGIN}" y1="{y}" x2="{MARGIN + px:.1f}" y2="{y}" stroke="#333" '
        f'stroke-width="3"/><text x="{MARGIN}" y="{y - 6}" font-size="12">{km:g} km</text>'
        f'<text x="{WIDTH - 40}" y="30" font-size="16" font-weight="bold">N ↑</text>'
    )


def _ray_svg(frame: _Frame, start: LatLon, end: LatLon, ev: EventLocation) -> str:
    (x1, y1), (x2, y2) = frame.xy(start), frame.xy(end)
    return (
        f'<line class="ray" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
        f'stroke="#d9480f" stroke-width="1.5" stroke-dasharray="6 4">'
        f"<title>event {ev.event_id}: {ev.bearing_deg:.1f}°</title></line>"
    )


def _camera_svg(frame: _Frame, cam_id: str, pos: LatLon) -> str:
    x, y = frame.xy(pos)
    return (
        f'<circle class="camera" cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#1c7ed6"/>'
        f'<text x="{x + 9:.1f}" y="{y - 9:.1f}" font-size="13">{escape(cam_id)}</text>'
    )


def _fix_svg(frame: _Frame, fix: EventLocation) -> str:
    lat, lon = fix.latitude or 0.0, fix.longitude or 0.0
    x, y = frame.xy(LatLon(lat, lon))
    return (
        f'<circle class="fix" cx="{x:.1f}" cy="{y:.1f}" r="9" fill="none" stroke="#c92a2a" '
        f'stroke-width="3"><title>event {fix.event_id}: {lat:.5f}, {lon:.5f}</title></circle>'
        f'<text x="{x + 12:.1f}" y="{y + 4:.1f}" font-size="12" fill="#c92a2a">'
        f"{lat:.4f}, {lon:.4f}</text>"
    )


def render_map(
    cameras: Sequence[CameraConfig], events: Sequence[EventLocation], *, max_ray_km: float = 40.0
) -> str:
    """The SVG document (UTF-8 text). Cameras without a position are left out."""
    cams = {
        c.id: LatLon(c.latitude, c.longitude)
        for c in cameras
        if c.latitude is not None and c.longitude is not None
    }
    fixes = [e for e in events if e.located]
    ray_km = _ray_km(cams, fixes, max_ray_km)
    rays = [(cams[e.camera_id], _end(cams[e.camera_id], e.bearing_deg, ray_km), e)
            for e in events if e.camera_id in cams]  # fmt: skip
    points = list(cams.values()) + [end for _, end, _ in rays]
    points += [LatLon(f.latitude or 0.0, f.longitude or 0.0) for f in fixes]
    frame = _Frame(points)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif">',
        '<rect width="100%" height="100%" fill="#f4f1ea"/>',
    ]
    parts += [_ray_svg(frame, start, end, ev) for start, end, ev in rays]
    parts += [_camera_svg(frame, cam_id, pos) for cam_id, pos in cams.items()]
    parts += [_fix_svg(frame, fix) for fix in fixes]
    if not cams:
        parts.append('<text x="40" y="60" font-size="16">No camera has a position.</text>')
    parts += [_scale_bar(frame), "</svg>"]
    return "\n".join(parts)
