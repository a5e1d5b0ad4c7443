"""Model evaluation: smoke recall on the CAIR fire photos by how much smoke they show."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from models.training.evaluate import CAIR_SMOKE_LABELS, cair_marks

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _marked(smoke: str, wild: str) -> str:
    with CAIR_SMOKE_LABELS.open() as fh:
        rows = csv.DictReader(fh)
        return next(r["image"] for r in rows if r["smoke"] == smoke and r["wild"] == wild)


def test_recall_is_counted_per_amount_of_smoke_and_in_wildfire_scenes() -> None:
    names = [
        _marked("prominent", "1"),
        _marked("prominent", "0"),
        _marked("some", "0"),
        _marked("none", "0"),
        "not-marked.jpg",
    ]
    smoke = np.array([True, False, True, True, True])
    fire = np.array([False, True, True, True, True])
    out = cair_marks([Path("cair") / n for n in names], smoke, fire)
    assert out == {
        "cair_smoke_prominent_images": 2,
        "cair_smoke_prominent_detected": 0.5,
        "cair_smoke_some_images": 1,
        "cair_smoke_some_detected": 1.0,
        "cair_wildfire_images": 1,
        "cair_wildfire_detected_either_class": 0.0,
    }


def test_no_marked_photo_gives_no_recall() -> None:
    out = cair_marks([Path("elsewhere.jpg")], np.array([True]), np.array([True]))
    assert out["cair_smoke_prominent_images"] == 0
    assert out["cair_smoke_prominent_detected"] is None


@pytest.mark.skipif(not DATA.is_dir(), reason="the shared data pack is not here")
def test_every_cair_photo_is_marked_once() -> None:
    folder = DATA / "flame" / "cair"
    photos = {p.name for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png")}
    with CAIR_SMOKE_LABELS.open() as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["image"] for r in rows) == sorted(photos)
    assert {r["smoke"] for r in rows} <= {"none", "some", "prominent"}
    assert {r["wild"] for r in rows} <= {"0", "1"}
