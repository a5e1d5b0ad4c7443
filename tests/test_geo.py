"""Bearings from camera pose and triangulation of two bearing rays (hand-computed cases)."""

from __future__ import annotations

import math

import pytest

from alerts.geo import (
    LatLon,
    Ray,
    bearing_of,
    box_centre_x,
    distance_km,
    from_local_km,
    normalise_deg,
    ray_angle_deg,
    to_local_km,
    triangulate,
)

# atan(0.5 * 2 * tan(30°)) = atan(0.57735) = 30°: the frame edge of a 60° camera.
# atan(0.25 * 2 * tan(45°)) = atan(0.5) = 26.565°: three quarters across a 90° camera.
# atan(0.2 * 2 * tan(30°)) = atan(0.23094) = 13.004°.


@pytest.mark.parametrize(
    ("heading", "fov", "x", "expected"),
    [
        (0.0, 60.0, 0.5, 0.0),  # centre column: the heading itself
        (90.0, 60.0, 0.5, 90.0),
        (90.0, 60.0, 1.0, 120.0),  # right edge: heading + fov/2
        (90.0, 60.0, 0.0, 60.0),  # left edge: heading - fov/2
        (0.0, 60.0, 0.0, 330.0),  # wraps below north
        (350.0, 60.0, 1.0, 20.0),  # wraps above north
        (180.0, 90.0, 0.75, 206.565051),  # pinhole, not linear (linear would give 202.5)
        (180.0, 90.0, 0.25, 153.434949),
        (45.0, 60.0, 0.7, 58.004),
        (100.0, 360.0, 0.75, 190.0),  # panoramic: linear
        (0.0, 200.0, 0.0, 260.0),
    ],
)
def test_bearing_table(heading: float, fov: float, x: float, expected: float) -> None:
    assert bearing_of(heading, fov, x) == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("fov", [0.0, -10.0, 361.0])
def test_bearing_rejects_impossible_fov(fov: float) -> None:
    with pytest.raises(ValueError, match="field of view"):
        bearing_of(0.0, fov, 0.5)


@pytest.mark.parametrize(
    ("angle", "expected"),
    [
        (-10.0, 350.0),
        (360.0, 0.0),
        (725.0, 5.0),
        (-1e-20, 0.0),  # -1e-20 + 360 rounds to 360.0, which must wrap to 0
    ],
)
def test_normalise(angle: float, expected: float) -> None:
    assert normalise_deg(angle) == pytest.approx(expected)
    assert 0.0 <= normalise_deg(angle) < 360.0


def test_box_centre_and_ray_angle() -> None:
    assert box_centre_x((0.2, 0.1, 0.6, 0.9)) == pytest.approx(0.4)
    assert ray_angle_deg(10.0, 350.0) == pytest.approx(20.0)
    assert ray_angle_deg(45.0, 315.0) == pytest.approx(90.0)
    assert ray_angle_deg(0.0, 180.0) == pytest.approx(180.0)


# Hand-computed case. Camera A at 46°N 7°E; camera B 10 km due east of A. Local frame:
# 1° of latitude = π·6371.0088/180 = 111.19508 km; 1° of longitude at 46°N = 111.19508 ·
# cos 46° = 111.19508 · 0.6946584 = 77.24269 km, so B is 10 / 77.24269 = 0.1294621° east.
# A looks north-east (45°), B north-west (315°): the rays meet 5 km east and 5 km north of A,
# i.e. at 46 + 5 / 111.19508 = 46.0449664°N, 7 + 5 / 77.24269 = 7.0647311°E, at
# 5·√2 = 7.0711 km from each camera, with the rays at 90°.
A = LatLon(46.0, 7.0)
B = LatLon(46.0, 7.0 + 10 / 77.24269)


def test_triangulation_hand_computed() -> None:
    fix = triangulate(Ray(A, 45.0), Ray(B, 315.0))
    assert fix is not None
    assert fix.point.latitude == pytest.approx(46.0449664, abs=2e-6)
    assert fix.point.longitude == pytest.approx(7.0647311, abs=2e-6)
    assert fix.distance_a_km == pytest.approx(5 * math.sqrt(2), abs=1e-3)
    assert fix.distance_b_km == pytest.approx(5 * math.sqrt(2), abs=1e-3)
    assert fix.angle_deg == pytest.approx(90.0)
    # The flat approximation agrees with the great-circle distance to a few metres.
    assert distance_km(A, fix.point) == pytest.approx(5 * math.sqrt(2), abs=0.01)


def test_triangulation_is_symmetric() -> None:
    ab = triangulate(Ray(A, 30.0), Ray(B, 300.0))
    ba = triangulate(Ray(B, 300.0), Ray(A, 30.0))
    assert ab is not None and ba is not None
    assert ab.point.latitude == pytest.approx(ba.point.latitude, abs=1e-9)
    assert ab.point.longitude == pytest.approx(ba.point.longitude, abs=1e-9)
    assert (ab.distance_a_km, ab.distance_b_km) == pytest.approx(
        (ba.distance_b_km, ba.distance_a_km)
    )


@pytest.mark.parametrize(
    ("bearing_a", "bearing_b", "why"),
    [
        (225.0, 135.0, "the rays cross behind both cameras (south of them)"),
        (45.0, 135.0, "B looks away from A's ray: the lines cross behind B"),
        (80.0, 85.0, "5° apart: too close to parallel"),
        (90.0, 270.0, "facing each other on the same line: opposite"),
        (89.0, 271.5, "2.5° off opposite: too shallow"),
        (1.0, 359.0, "the crossing is ~286 km north: farther than 40 km"),
    ],
)
def test_triangulation_rejects(bearing_a: float, bearing_b: float, why: str) -> None:
    assert triangulate(Ray(A, bearing_a), Ray(B, bearing_b)) is None, why


def test_triangulation_limits_are_settings() -> None:
    far = (Ray(A, 10.0), Ray(B, 350.0))  # meet 5 / sin 10° = 28.8 km from each camera
    assert triangulate(*far) is not None
    assert triangulate(*far, max_distance_km=20.0) is None
    shallow = (Ray(A, 80.0), Ray(B, 68.0))  # 12° apart, meet ~18 km from A
    assert triangulate(*shallow) is not None
    assert triangulate(*shallow, min_angle_deg=15.0) is None


def test_local_frame_round_trip() -> None:
    origin = LatLon(-33.9, 151.2)
    point = LatLon(-33.7, 151.5)
    east, north = to_local_km(point, origin)
    back = from_local_km(east, north, origin)
    assert (back.latitude, back.longitude) == pytest.approx((point.latitude, point.longitude))
