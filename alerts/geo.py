"""Bearings from a camera's pose and a region of its frame; crossing of two bearing rays.

Angles are degrees. Bearings are clockwise from true north, normalised to ``[0, 360)``.
Positions are WGS84 latitude/longitude in degrees; distances are kilometres.

Triangulation works in a local flat (equirectangular) frame centred between the two cameras:
east = Δlon·cos(lat₀)·R, north = Δlat·R (R = mean earth radius, angles in radians). At the
tens of kilometres that separate cameras which see the same fire, the error of this
approximation (≈ d²/R, metres at 40 km) is far below the error of the bearings themselves
(one degree of bearing is ~350 m at 20 km), so nothing more exact is warranted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
_KM_PER_DEG = math.pi * EARTH_RADIUS_KM / 180.0


@dataclass(frozen=True, slots=True)
class LatLon:
    latitude: float  # degrees north
    longitude: float  # degrees east


@dataclass(frozen=True, slots=True)
class Ray:
    """A bearing ray from a camera: ``origin`` and bearing (degrees clockwise from north)."""

    origin: LatLon
    bearing_deg: float


@dataclass(frozen=True, slots=True)
class Crossing:
    """Where two rays cross: the point, its distance from each camera (km), the angle (deg)
    between the rays (90 is the best geometry, near 0 or 180 the worst)."""

    point: LatLon
    distance_a_km: float
    distance_b_km: float
    angle_deg: float

    @property
    def angle_quality(self) -> float:
        """See :func:`angle_quality`."""
        return angle_quality(self.angle_deg)


def normalise_deg(angle: float) -> float:
    """``angle`` in degrees mapped to ``[0, 360)``."""
    out = math.fmod(angle, 360.0)
    if out < 0:
        out += 360.0
    return 0.0 if out >= 360.0 else out


def bearing_of(heading_deg: float, fov_deg: float, x: float) -> float:
    """Bearing of the image column at normalised ``x`` (0 left edge, 1 right edge).

    A pinhole camera whose optical axis points at ``heading_deg`` with a horizontal field of
    view ``fov_deg``: ``bearing = heading + atan((x - 0.5) · 2 · tan(fov / 2))``. A pinhole
    cannot see 180° or more, so wider (panoramic) views map columns to angles linearly:
    ``heading + (x - 0.5) · fov``.
    """
    if not 0.0 < fov_deg <= 360.0:
        raise ValueError(f"field of view {fov_deg} is outside (0, 360]")
    if fov_deg >= 180.0:
        return normalise_deg(heading_deg + (x - 0.5) * fov_deg)
    half = math.radians(fov_deg) / 2.0
    offset = math.degrees(math.atan((x - 0.5) * 2.0 * math.tan(half)))
    return normalise_deg(heading_deg + offset)


def box_centre_x(box: tuple[float, float, float, float]) -> float:
    """Horizontal centre of an ``(x0, y0, x1, y1)`` box normalised to 0..1."""
    return (box[0] + box[2]) / 2.0


def to_local_km(point: LatLon, origin: LatLon) -> tuple[float, float]:
    """``point`` as (east, north) kilometres from ``origin`` (equirectangular)."""
    cos_lat = math.cos(math.radians(origin.latitude))
    d_lon = (point.longitude - origin.longitude + 540.0) % 360.0 - 180.0  # across the antimeridian
    return d_lon * cos_lat * _KM_PER_DEG, (point.latitude - origin.latitude) * _KM_PER_DEG


def from_local_km(east: float, north: float, origin: LatLon) -> LatLon:
    """Inverse of :func:`to_local_km`."""
    cos_lat = math.cos(math.radians(origin.latitude))
    lon = origin.longitude + east / (cos_lat * _KM_PER_DEG)
    return LatLon(origin.latitude + north / _KM_PER_DEG, (lon + 540.0) % 360.0 - 180.0)


def distance_km(a: LatLon, b: LatLon) -> float:
    """Great-circle (haversine) distance in kilometres."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    d_lat, d_lon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(d_lon / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _direction(bearing_deg: float) -> tuple[float, float]:
    rad = math.radians(bearing_deg)
    return math.sin(rad), math.cos(rad)  # (east, north)


def ray_angle_deg(a: float, b: float) -> float:
    """Angle between two bearings as lines through space, in ``[0, 180]``."""
    diff = abs(normalise_deg(a) - normalise_deg(b))
    return 360.0 - diff if diff > 180.0 else diff


def angle_quality(angle_deg: float) -> float:
    """How well two rays at ``angle_deg`` fix a point: 90 when perpendicular, towards 0 as
    they approach parallel or opposite."""
    return min(angle_deg, 180.0 - angle_deg)


def triangulate(
    a: Ray, b: Ray, *, max_distance_km: float = 40.0, min_angle_deg: float = 10.0
) -> Crossing | None:
    """The crossing point of two bearing rays, or None when it is not a plausible fix.

    None when the rays are too close to parallel (the angle between them is under
    ``min_angle_deg`` or over ``180 - min_angle_deg``: a small bearing error would move the
    point by kilometres), when they cross behind either camera, or when the point is farther
    than ``max_distance_km`` from either camera.
    """
    angle = ray_angle_deg(a.bearing_deg, b.bearing_deg)
    if angle < min_angle_deg or angle > 180.0 - min_angle_deg:
        return None
    mid = LatLon(
        (a.origin.latitude + b.origin.latitude) / 2.0,
        (a.origin.longitude + b.origin.longitude) / 2.0,
    )
    ax, ay = to_local_km(a.origin, mid)
    bx, by = to_local_km(b.origin, mid)
    (dax, day), (dbx, dby) = _direction(a.bearing_deg), _direction(b.bearing_deg)
    # Solve A + t·dA = B + s·dB for t, s (Cramer's rule); denom = sin(angle) ≠ 0 here.
    denom = dax * (-dby) - day * (-dbx)
    rx, ry = bx - ax, by - ay
    t = (rx * (-dby) - ry * (-dbx)) / denom
    s = (dax * ry - day * rx) / denom
    if t <= 0.0 or s <= 0.0 or t > max_distance_km or s > max_distance_km:
        return None
    point = from_local_km(ax + t * dax, ay + t * day, mid)
    return Crossing(point=point, distance_a_km=t, distance_b_km=s, angle_deg=angle)
