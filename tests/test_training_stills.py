"""The cross-network frames of the judge: day/night from the labels, counts per class and light."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.training import stills


def test_light_and_camera_come_from_the_notes_and_the_images_csv(tmp_path: Path) -> None:
    tahoe = tmp_path / stills.ALERTTAHOE
    tahoe.mkdir(parents=True)
    (tahoe / "labels.csv").write_text(
        "file,label,notes\n"
        "a_0.jpg,smoke,Axis-Leek 2017-08-28 19:09 (caption); distant plume\n"
        'b_3.jpg,flame,"Axis-Slide 2017-08-01 20:40 (caption); night IR: hot spots"\n',
        encoding="utf-8",
    )
    night = tmp_path / stills.NIGHT_NEGATIVES
    night.mkdir(parents=True)
    (night / "images.csv").write_text(
        "file,camera_caption,caption_time_local,light,scene\n"
        "x.jpg,axis-a,2026-01-08 01:12:10,night-ir,city lights\n"
        "y.jpg,axis-b,2026-01-07 07:39:36,dawn (stale frame),fog\n",
        encoding="utf-8",
    )
    assert [(s.label, s.light, s.camera) for s in stills.alerttahoe(tmp_path)] == [
        ("smoke", "day", "leek"),
        ("flame", "night", "slide"),
    ]
    assert [(s.label, s.light, s.camera) for s in stills.night_negatives(tmp_path)] == [
        ("negative", "night", "a"),
        ("negative", "day", "b"),
    ]


def test_rows_count_frames_reaching_each_threshold_per_label_and_light() -> None:
    frames = [
        stills.Still(Path("a.jpg"), "t", "flame", "night"),
        stills.Still(Path("b.jpg"), "t", "flame", "night"),
        stills.Still(Path("c.jpg"), "t", "negative", "day"),
        stills.Still(Path("d.jpg"), "t", "negative", "night"),
    ]
    scores = np.array([[0.9, 0.1], [0.1, 0.95], [0.7, 0.0], [0.2, 0.2]], dtype=np.float32)
    rows = stills.still_rows(frames, scores, ("smoke", "flame"), {"smoke": 0.65, "flame": 0.9})
    assert rows == [
        {"label": "flame", "light": "night", "frames": 2, "smoke": 1, "flame": 1, "either": 2},
        {"label": "negative", "light": "day", "frames": 1, "smoke": 1, "flame": 0, "either": 1},
        {"label": "negative", "light": "night", "frames": 1, "smoke": 0, "flame": 0, "either": 0},
        {"label": "negative", "light": "all", "frames": 2, "smoke": 1, "flame": 0, "either": 1},
    ]


def test_frames_judged_night_are_held_to_the_night_thresholds() -> None:
    frames = [
        stills.Still(Path("a.jpg"), "t", "flame", "night"),
        stills.Still(Path("b.jpg"), "t", "flame", "night"),
    ]
    scores = np.array([[0.1, 0.4], [0.1, 0.4]], dtype=np.float32)
    day, night = {"smoke": 0.65, "flame": 0.9}, {"smoke": 0.65, "flame": 0.3}
    judged = np.array([True, False])  # the second one looked like dusk to the image rule
    rows = stills.still_rows(frames, scores, ("smoke", "flame"), day, (judged, night))
    assert rows == [
        {"label": "flame", "light": "night", "frames": 2, "smoke": 0, "flame": 1, "either": 1}
    ]
