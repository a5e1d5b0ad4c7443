"""Focus crops: extra tiles centred where the view changed, so a young plume is scored up close."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detector.focus import ChangeFocus, centred_box, change_peaks, thumbnail
from detector.model import CameraRules, OnnxModel
from detector.modelspec import FocusSpec
from streams.frame import Frame

PLUME_RGB = (150, 138, 125)  # the synthetic plume's colour, what the colour-rule model scores


def scene(width: int = 640, height: int = 360) -> np.ndarray:
    """A sky over a darker hillside, slightly textured."""
    rng = np.random.default_rng(7)
    image = np.empty((height, width, 3), np.uint8)
    image[: height // 2] = (180, 200, 225)
    image[height // 2 :] = (70, 90, 60)
    noise = rng.integers(-3, 4, image.shape)
    return np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8)


def with_puff(image: np.ndarray, row: int, col: int, side: int = 10) -> np.ndarray:
    out = image.copy()
    out[row : row + side, col : col + side] = PLUME_RGB
    return out


def test_change_peaks_finds_new_blobs_strongest_first_and_apart() -> None:
    before = thumbnail(scene())
    after = thumbnail(with_puff(with_puff(scene(), 200, 100, 24), 220, 500, 12))
    peaks = change_peaks(after, before, count=3, spacing=10)
    (r1, c1), (r2, c2) = peaks[:2]
    assert abs(r1 - 212 * 0.4) <= 3 and abs(c1 - 112 * 0.4) <= 3  # the larger blob first
    assert abs(r2 - 226 * 0.4) <= 3 and abs(c2 - 506 * 0.4) <= 3
    assert len(peaks) <= 3
    assert change_peaks(before, before, count=3, spacing=10) == []  # nothing changed: no crops


def test_a_changing_caption_is_never_a_peak() -> None:
    before, after = scene(), scene()
    after[:8, :200] = 255  # a clock burnt into the top of the frame ticks
    assert change_peaks(thumbnail(after), thumbnail(before), count=2, spacing=5) == []


@pytest.mark.parametrize(
    ("row", "col", "expected"),
    [
        (180, 320, (280 / 640, 140 / 360, 360 / 640, 220 / 360)),  # centred
        (5, 5, (0.0, 0.0, 80 / 640, 80 / 360)),  # pushed inside at the corner
        (359, 639, (560 / 640, 280 / 360, 1.0, 1.0)),
    ],
)
def test_centred_box_stays_inside_the_frame(
    row: int, col: int, expected: tuple[float, ...]
) -> None:
    assert centred_box(row, col, 80, 640, 360) == pytest.approx(expected)


def test_focus_needs_a_view_reference_s_old_and_then_points_at_the_change() -> None:
    focus = ChangeFocus(FocusSpec(crops=2, size=0.25, reference_s=120))
    assert focus.boxes(scene(), 0.0) == []
    assert focus.boxes(scene(), 60.0) == []  # no view two minutes old yet
    boxes = focus.boxes(with_puff(scene(), 250, 400), 120.0)
    assert len(boxes) >= 1
    x0, y0, x1, y1 = boxes[0]
    assert x0 * 640 <= 405 <= x1 * 640 and y0 * 360 <= 255 <= y1 * 360  # the puff is inside
    assert (y1 - y0) * 360 == pytest.approx(90)  # side = 0.25 x height


def test_focus_keeps_a_few_views_and_restarts_when_the_clock_goes_back() -> None:
    focus = ChangeFocus(FocusSpec(crops=1, reference_s=120))
    for ts in np.arange(0.0, 3600.0, 5.0):  # an hour of frames every 5 s
        focus.boxes(scene(), float(ts))
    assert len(focus._views) <= 6  # one view every 30 s, back to two minutes
    assert focus.boxes(with_puff(scene(), 250, 400), 10.0) == []  # replayed from the start
    assert len(focus._views) == 1


def test_a_puff_too_small_for_the_tiles_is_scored_in_a_focus_crop(focus_model_dir: Path) -> None:
    model = OnnxModel(focus_model_dir)
    tiles = len(model.spec.tiling.boxes(640, 360))
    assert model.inputs_per_frame(640, 360) == tiles + 3
    first = Frame("cam", 0.0, 0, scene())
    puff = Frame("cam", 60.0, 1, with_puff(scene(), 250, 400))
    (d0,), _ = model.score([first])
    (d1,), _ = model.score([puff])
    assert d0.scores["smoke"] < 0.5  # no reference yet: tiles only, nothing to see
    assert d1.tile_scores is not None and d1.tile_scores.shape[0] == tiles  # fixed tiles only
    assert d1.tile_scores[:, 0].max() < 0.5  # 100 pixels are 0.3 % of a tile
    assert d1.scores["smoke"] > 0.5  # ... and 1.4 % of a focus crop
    (region,) = [r for r in d1.regions if r.cls == "smoke"]
    assert region.box not in model.spec.tiling.boxes(640, 360)
    # Another camera has no views yet; forgetting a camera starts its views again.
    (other,), _ = model.score([Frame("other", 60.0, 1, puff.image)])
    assert other.scores["smoke"] < 0.5
    model.forget("cam")
    (again,), _ = model.score([Frame("cam", 120.0, 2, puff.image)])
    assert again.scores["smoke"] < 0.5


def test_a_camera_can_turn_its_focus_crops_off(focus_model_dir: Path) -> None:
    model = OnnxModel(focus_model_dir)
    rules = {"ptz": CameraRules(focus=False)}
    for ts in (0.0, 60.0, 120.0):
        frame = Frame("ptz", ts, 0, with_puff(scene(), 250, 400) if ts else scene())
        (det,), _ = model.score([frame], rules)
        assert det.scores["smoke"] < 0.5


def test_models_without_focus_score_their_tiles_only(plume_model_dir: Path) -> None:
    model = OnnxModel(plume_model_dir)
    assert model.spec.focus.crops == 0
    assert model.inputs_per_frame(640, 360) == len(model.spec.tiling.boxes(640, 360))
    for ts in (0.0, 600.0):
        (det,), _ = model.score([Frame("cam", ts, 0, with_puff(scene(), 250, 400))])
        assert det.scores["smoke"] < 0.5
