"""When is it night at a camera: the sun's elevation from its position, or the image itself."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import yaml

from detector.config import SmoothingConfig
from detector.model import OnnxModel
from detector.modelspec import ModelError
from detector.night import Light, NightRule, is_night_at, looks_like_night, solar_elevation_deg
from detector.smoothing import CameraSmoother
from detector.types import Detection
from streams.frame import Frame

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


BLUE_SKY = np.full((90, 160, 3), (110, 150, 210), np.uint8)
DARK = np.zeros((90, 160, 3), np.uint8)


def test_light_goes_by_position_when_known_else_by_the_image() -> None:
    noon, midnight = ts("2017-07-05T19:00:00"), ts("2017-07-05T07:00:00")
    placed = Light(*RENO)
    assert placed.is_night(BLUE_SKY, midnight)  # the clock wins over a bright image
    assert not placed.is_night(DARK, noon)  # a dark view at noon is a dark view, not night
    unplaced = Light()
    assert unplaced.is_night(DARK, noon) and not unplaced.is_night(BLUE_SKY, midnight)


def _frame(t: float) -> Detection:
    frame = Frame(camera_id="ridge", ts=t, index=0, image=BLUE_SKY)
    return Detection(frame, {"smoke": 0.0, "flame": 0.45})


def _opened(smoother: CameraSmoother, start: float) -> list[float]:
    updates = [u for i in range(6) for u in smoother.update(_frame(start + 10 * i))]
    return [u.ts for u in updates if u.transition.value == "opened"]


def test_a_flame_opens_at_night_below_the_day_threshold() -> None:
    cfg = SmoothingConfig(min_persistence_s=10, baseline_tau_s=None)
    day = {"smoke": 0.5, "flame": 0.9}
    rule = NightRule({"smoke": 0.5, "flame": 0.3}, Light(*RENO))
    by_day = CameraSmoother("ridge", ("smoke", "flame"), day, cfg, night=rule)
    assert _opened(by_day, ts("2017-07-05T19:00:00")) == []
    assert not by_day.is_night and by_day.thresholds == day
    at_night = CameraSmoother("ridge", ("smoke", "flame"), day, cfg, night=rule)
    assert _opened(at_night, ts("2017-07-05T07:00:00"))
    assert at_night.is_night and at_night.thresholds["flame"] == 0.3
    without = CameraSmoother("ridge", ("smoke", "flame"), day, cfg)
    assert _opened(without, ts("2017-07-05T07:00:00")) == []


def _model_with(tmp_path: Path, **changes: object) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(Path("models/demo-plume"), folder)
    spec = yaml.safe_load((folder / "model.yaml").read_text()) | changes
    (folder / "model.yaml").write_text(yaml.safe_dump(spec))
    return folder


def test_night_thresholds_of_the_model_yield_to_the_cameras_own(tmp_path: Path) -> None:
    model = OnnxModel(_model_with(tmp_path, night_thresholds={"flame": 0.3}))
    day = model.thresholds()
    assert model.night_thresholds() == day | {"flame": 0.3}
    assert model.night_thresholds({"flame": 0.95}) == day | {"flame": 0.95}
    rule = model.night_rule(Light())
    assert rule is not None and rule.thresholds["flame"] == 0.3
    assert model.night_rule(Light(), {"flame": 0.95}) is None  # night changes nothing


def test_night_thresholds_must_name_the_models_classes(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="night_thresholds name unknown classes"):
        OnnxModel(_model_with(tmp_path, night_thresholds={"glow": 0.3}))
