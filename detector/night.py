"""Is it night at a camera? From its position and the clock, or from the image itself.

Scoring rules may differ by night: a fire at night is glow, a fire line and lit smoke, and
cameras switch to near-infrared, where the view turns grey and city lights and headlights are
what moves. Two answers, for cameras with and without a known position:

- :func:`solar_elevation_deg`: the sun's elevation at a latitude/longitude and a UTC time
  (the low-precision formulas of the Astronomical Almanac, within about 0.1 degree for
  1950-2050), and :func:`is_night_at`: below civil twilight (-6 degrees).
- :func:`looks_like_night`: a near-infrared night frame is grey (its colours carry almost no
  saturation) and not bright; a colour night frame is very dark. The constants were set on the
  AlertTahoe and ALERTWildfire frames of the data pack (see the model cards): colour night
  frames lit by a large fire are not dark enough to be told from dusk.

:class:`Light` picks the answer for one camera: its position when it has one, else the image.

>>> Light(latitude=38.9, longitude=-120.0).is_night(np.zeros((90, 160, 3), np.uint8), 1_750_000_000)
False
>>> Light().is_night(np.zeros((90, 160, 3), np.uint8), 1_750_000_000)  # dark, no position
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np

#: The sun this far below the horizon ends civil twilight.
CIVIL_TWILIGHT_DEG = -6.0
#: Mean HSV saturation (0..255) under which a frame counts as grey (near-infrared).
GREY_SATURATION = 16.0
#: Median brightness (0..255) under which a grey frame counts as night.
GREY_MEDIAN = 100.0
#: Median brightness under which any frame counts as night.
DARK_MEDIAN = 30.0
_J2000 = 946_728_000.0  # 2000-01-01 12:00 UTC in Unix seconds


def solar_elevation_deg(latitude: float, longitude: float, unix_ts: float) -> float:
    """Elevation of the sun's centre above the horizon, degrees (no refraction)."""
    days = (unix_ts - _J2000) / 86_400.0
    mean_long = math.radians((280.460 + 0.9856474 * days) % 360.0)
    anomaly = math.radians((357.528 + 0.9856003 * days) % 360.0)
    ecl_long = mean_long + math.radians(1.915) * math.sin(anomaly)
    ecl_long += math.radians(0.020) * math.sin(2 * anomaly)
    obliquity = math.radians(23.439 - 0.0000004 * days)
    declination = math.asin(math.sin(obliquity) * math.sin(ecl_long))
    right_asc = math.atan2(math.cos(obliquity) * math.sin(ecl_long), math.cos(ecl_long))
    sidereal_deg = (280.46061837 + 360.98564736629 * days + longitude) % 360.0
    hour_angle = math.radians(sidereal_deg) - right_asc
    lat = math.radians(latitude)
    sin_elev = math.sin(lat) * math.sin(declination) + math.cos(lat) * math.cos(
        declination
    ) * math.cos(hour_angle)
    return math.degrees(math.asin(max(-1.0, min(1.0, sin_elev))))


def is_night_at(latitude: float, longitude: float, unix_ts: float) -> bool:
    """True when the sun is below civil twilight at the place and time."""
    return solar_elevation_deg(latitude, longitude, unix_ts) < CIVIL_TWILIGHT_DEG


def looks_like_night(image: np.ndarray) -> bool:
    """True for a grey (near-infrared) frame that is not bright, or a very dark RGB frame."""
    small = cv2.resize(image, (160, 90), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    median = float(np.median(hsv[..., 2]))
    grey = float(hsv[..., 1].mean()) < GREY_SATURATION
    return median < DARK_MEDIAN or (grey and median < GREY_MEDIAN)


@dataclass(frozen=True, slots=True)
class Light:
    """Day or night at one camera: from its position and the frame's time when both
    coordinates are known (a dark or grey view by day stays day), else from the frame itself."""

    latitude: float | None = None
    longitude: float | None = None

    def is_night(self, image: np.ndarray, unix_ts: float) -> bool:
        if self.latitude is not None and self.longitude is not None:
            return is_night_at(self.latitude, self.longitude, unix_ts)
        return looks_like_night(image)


@dataclass(frozen=True, slots=True)
class NightRule:
    """Opening thresholds while ``light`` says night; the day's thresholds otherwise."""

    thresholds: Mapping[str, float]
    light: Light
