"""The shipped model honours its contract; on real footage (when ../shared/data exists) it runs
through the production clip reader and scores every frame."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from detector.config import DEFAULT_MODEL
from detector.model import OnnxModel
from detector.modelspec import load_spec
from streams.decode import read_clip
from streams.frame import Frame

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
CLIPS = DATA / "clips" / "dev" / "clips.csv"


@pytest.fixture(scope="module")
def model() -> OnnxModel:
    return OnnxModel(DEFAULT_MODEL, intra_op_threads=1)


def test_model_directory_is_complete_and_verified() -> None:
    spec = load_spec(DEFAULT_MODEL)  # checks the sha256 of model.onnx
    assert spec.classes == ("smoke", "flame")
    assert set(spec.thresholds) == {"smoke", "flame"}
    assert spec.licence.get("data") and spec.licence.get("weights")
    assert (DEFAULT_MODEL / "CARD.md").is_file()
    choice = spec.metrics["threshold_choice"]  # how the smoke threshold was chosen
    assert choice["class"] == "smoke" and choice["threshold"] == spec.thresholds["smoke"]
    assert choice["rule"] and choice["clips"] == "clips/dev/clips.csv"


def test_every_picture_the_card_shows_is_in_the_repository() -> None:
    card = DEFAULT_MODEL / "CARD.md"
    pictures = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", card.read_text(encoding="utf-8"))
    assert pictures, "the card shows no picture"
    missing = [p for p in pictures if not (card.parent / p).is_file()]
    assert not missing, f"{card.name} links pictures that do not exist: {missing}"


def test_scores_a_1080p_frame_in_one_batch_of_tiles(model: OnnxModel) -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    (det,), times = model.score([Frame("cam", 0.0, 0, image)])
    assert set(det.scores) == {"smoke", "flame"}
    assert all(0.0 <= s <= 1.0 for s in det.scores.values())
    tiles = len(model.spec.tiling.boxes(1920, 1080))
    assert det.tile_scores is not None and det.tile_scores.shape == (tiles, 2)
    assert model.inputs_per_frame(1920, 1080) == tiles + model.spec.focus.crops == 15
    assert times.inference > 0


@pytest.mark.skipif(not CLIPS.is_file(), reason="../shared/data is not present")
def test_real_time_lapse_is_scored_frame_by_frame(model: OnnxModel) -> None:
    with CLIPS.open(newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["file"].startswith("figlib_"))
    spf = float(row["seconds_per_frame_real"])
    frames = list(
        read_clip(
            CLIPS.parent / row["file"], camera_id="figlib", interval_s=spf, seconds_per_frame=spf
        )
    )
    assert len(frames) == 81  # one frame a minute, 40 min either side of ignition
    assert [f.ts for f in frames[:3]] == [0.0, spf, 2 * spf]
    detections, _ = model.score(frames[38:42])
    assert all(0.0 <= d.scores["smoke"] <= 1.0 for d in detections)


@pytest.mark.skipif(not CLIPS.is_file(), reason="../shared/data is not present")
def test_detects_the_red_mountain_fire_after_ignition_and_not_before(model: OnnxModel) -> None:
    """The bench path (production reader, model, default smoothing) on a real time-lapse whose
    post-ignition frames were never trained on: the smoke event opens after ignition, within
    the 40 minutes of the clip, and no event of any class opens before it."""
    from benchmarks.clips import PlaySettings, plan_clip, play_clip, read_clips_csv
    from benchmarks.metrics import clip_outcome
    from detector.config import SmoothingConfig

    row = next(r for r in read_clips_csv(CLIPS).rows if "rm-w-mobo-c" in r.file)
    plan = plan_clip(row, min_clip_seconds=120.0)
    run = play_clip(model, plan, PlaySettings(5.0, 120.0, SmoothingConfig()))
    outcome = clip_outcome(plan.truth, run.opens(), run.frame_scores(), plan.real_s)
    assert outcome.false_events == 0
    assert outcome.detected
    assert outcome.ttd_s is not None and outcome.ttd_s <= 40 * 60


@pytest.mark.skipif(not CLIPS.is_file(), reason="../shared/data is not present")
def test_a_focus_crop_sees_the_young_red_mountain_plume_the_tiles_miss(model: OnnxModel) -> None:
    """In the first minutes after ignition the plume is a speck in the fixed tiles; a focus crop
    centred where the view changed scores it over the threshold."""
    frames = list(
        read_clip(
            CLIPS.parent / "figlib_20180728_FIRE_rm-w-mobo-c.mp4",
            camera_id="rm",
            interval_s=60.0,
            seconds_per_frame=60.0,
        )
    )
    threshold = model.thresholds()["smoke"]
    seen_by_crop_only = []
    for minute, frame in enumerate(frames[:45], start=-40):
        (det,), _ = model.score([frame])
        assert det.tile_scores is not None
        tiles = float(det.tile_scores[:, 0].max())
        if minute < 0:
            assert det.scores["smoke"] < threshold, f"{minute} min: {det.scores}"
        elif det.scores["smoke"] >= threshold and tiles < threshold:
            seen_by_crop_only.append(minute)
    assert seen_by_crop_only, "no frame of the first 4 minutes was seen by a focus crop alone"


CAIR = DATA / "flame" / "cair"


@pytest.mark.skipif(not CAIR.is_dir(), reason="../shared/data is not present")
def test_finds_flame_in_most_fire_photos_it_never_saw(model: OnnxModel) -> None:
    """CAIR photos (houses, vehicles, wildfires; none used in training) all contain flame."""
    import cv2

    paths = sorted(CAIR.glob("*.jpg"))
    assert len(paths) > 100
    hits = 0
    for n, path in enumerate(paths):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        assert bgr is not None, path
        (det,), _ = model.score([Frame("cair", float(n), n, bgr[:, :, ::-1].copy())])
        hits += det.scores["flame"] >= model.thresholds()["flame"]
    assert hits / len(paths) >= 0.8
