"""When is it night at a camera: the sun's elevation from its position, or the image itself."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from detector.night import is_night_at, looks_like_night, solar_elevation_deg

RENO = (39.53, -119.81)


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("when", "low", "high"),
    [
        # June solstice, local solar noon at Reno (about 20:00 UTC): 90 - 39.5 + 23.4 = 73.9
        ("2024-06-20T20:00:00", 72.0, 75.0),
        # December solstice noon: 90 - 39.5 - 23.4 = 27.1
        ("2024-12-21T20:00:00", 25.5, 28.0),
        # Local midnight in June: the sun is far below the horizon
        ("2024-06-21T08:00:00", -30.0, -20.0),
    ],
)
def test_solar_elevation_at_reno(when: str, low: float, high: float) -> None:
    assert low <= solar_elevation_deg(*RENO, ts(when)) <= high


def test_night_follows_civil_twilight() -> None:
    assert is_night_at(*RENO, ts("2017-07-05T06:00:00"))  # 23:00 local (PDT)
    assert not is_night_at(*RENO, ts("2017-07-05T19:00:00"))  # noon local
    assert not is_night_at(-33.9, 151.2, ts("2017-07-05T02:00:00"))  # noon in Sydney


def test_grey_near_infrared_and_dark_frames_look_like_night() -> None:
    rng = np.random.default_rng(0)
    grey = rng.integers(40, 120, (360, 640), dtype=np.uint8)
    ir = np.repeat(grey[..., None], 3, axis=2)
    assert looks_like_night(ir)
    dark = np.zeros((360, 640, 3), np.uint8)
    dark[..., 0] = 20  # a dim red-brown night view
    assert looks_like_night(dark)
    day = np.full((360, 640, 3), (110, 150, 210), np.uint8)  # blue sky
    assert not looks_like_night(day)
    fog = np.full((360, 640, 3), 200, np.uint8)  # a bright grey day in fog
    assert not looks_like_night(fog)
