"""Single frames of another camera network, scored one at a time at a model's thresholds.

Two sets of the data pack are kept out of training and serve as a cross-network check:

- ``mixed/alertwildfire-nv/``: AlertTahoe frames labelled smoke, flame (flames or glow at
  night), negative or unsure by eye; ``labels.csv`` notes start with the caption (camera, local
  time) and say ``night`` for night frames.
- ``negative/alertwildfire-night/``: ALERTWildfire snapshots without fire, most of them near-IR
  night frames; ``images.csv`` gives the light (``night-ir``, ``day``, ``dawn ...``).

Each frame is scored as a camera's first frame through the detector's own
:meth:`detector.model.OnnxModel.score` (fixed tiles; no focus crops, since no earlier view is
known; a temporal model gets the frame itself as its reference). A frame is *found* (or, for
a negative, *above threshold*) when a tile's score reaches the model's threshold of the class.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detector.model import OnnxModel
from detector.night import looks_like_night
from models.training.tiles import read_rgb
from streams.frame import Frame

Json = dict[str, Any]

ALERTTAHOE = Path("mixed") / "alertwildfire-nv"
NIGHT_NEGATIVES = Path("negative") / "alertwildfire-night"


@dataclass(frozen=True, slots=True)
class Still:
    """One labelled frame: ``label`` smoke | flame | negative | unsure, ``light`` day | night,
    ``camera`` the camera's name as its caption gives it (lower case, without ``axis-``)."""

    path: Path
    source: str
    label: str
    light: str
    camera: str = ""


def camera_name(caption: str) -> str:
    """``'"Axis-CTC 2016-10-14 02:09 (caption); night...'`` -> ``'ctc'``.

    >>> camera_name("Axis-CTC 2016-10-14 02:09 (caption); night"), camera_name("axis-alderhill")
    ('ctc', 'alderhill')
    """
    first = caption.split()[0] if caption.split() else ""
    return first.strip('"').lower().removeprefix("axis-")


def alerttahoe(data: Path) -> list[Still]:
    """The AlertTahoe frames; night when the note (after the caption) says so."""
    folder = data / ALERTTAHOE
    with (folder / "labels.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [
        Still(
            folder / row["file"],
            "alerttahoe",
            row["label"],
            "night" if "night" in row["notes"].lower() else "day",
            camera_name(row["notes"]),
        )
        for row in rows
    ]


def night_negatives(data: Path) -> list[Still]:
    """The ALERTWildfire negatives; night when ``images.csv`` says ``night...``."""
    folder = data / NIGHT_NEGATIVES
    with (folder / "images.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [
        Still(
            folder / row["file"],
            "alertwildfire-night",
            "negative",
            "night" if row["light"].startswith("night") else "day",
            camera_name(row["camera_caption"]),
        )
        for row in rows
    ]


#: AlertTahoe clips are five frames about ten minutes apart.
CLIP_STEP_S = 600.0


def max_scores(model: OnnxModel, stills: Sequence[Still], in_sequence: bool = False) -> np.ndarray:
    """Highest tile score per class of each frame (``len(stills) x classes``).

    Alone, each frame is a camera's first. ``in_sequence``: the frames of one AlertTahoe clip
    (``<clip>_<i>.jpg``) are one camera's, :data:`CLIP_STEP_S` apart in order, so focus crops
    and temporal references see the clip's earlier frames (the cameras pan and zoom between
    some of them).
    """
    out = np.zeros((len(stills), len(model.classes)), dtype=np.float32)
    for i, still in enumerate(stills):
        clip, _, index = still.path.stem.rpartition("_")
        if in_sequence and index.isdigit():
            frame = Frame(clip, int(index) * CLIP_STEP_S, int(index), read_rgb(still.path))
        else:
            frame = Frame(f"still-{i}", 0.0, 0, read_rgb(still.path))
        (det,), _ = model.score([frame])
        if not in_sequence:
            model.forget(frame.camera_id)
        out[i] = [det.scores.get(c, 0.0) for c in model.classes]
    return out


def looks_night(stills: Sequence[Still]) -> np.ndarray:
    """What :func:`detector.night.looks_like_night` says of each frame, as a camera without a
    position would judge its light."""
    return np.array([looks_like_night(read_rgb(s.path)) for s in stills], dtype=bool)


def night_rule(stills: Sequence[Still], said: np.ndarray) -> Json:
    """How often the image rule (``said``, from :func:`looks_night`) agrees with each frame's
    light."""
    return {
        light: {
            "frames": sum(s.light == light for s in stills),
            "looks_like_night": sum(
                int(n) for s, n in zip(stills, said, strict=True) if s.light == light
            ),
        }
        for light in ("day", "night")
    }


def _count(hits: np.ndarray) -> int:
    return int(np.count_nonzero(hits))


def still_rows(
    stills: Sequence[Still],
    scores: np.ndarray,
    classes: Sequence[str],
    thresholds: Mapping[str, float],
    night: tuple[np.ndarray, Mapping[str, float]] | None = None,
) -> list[Json]:
    """Per label and light (and all lights together): frames, and how many reach each class's
    threshold and either. ``night``: which frames the camera would judge night, and the
    thresholds in force for those."""
    limits = np.tile([thresholds[c] for c in classes], (len(stills), 1))
    if night is not None:
        is_night, night_thresholds = night
        limits[is_night] = [night_thresholds[c] for c in classes]
    above = scores >= limits
    rows: list[Json] = []
    labels = sorted({s.label for s in stills})
    for label in labels:
        lights = sorted({s.light for s in stills if s.label == label})
        for light in lights + (["all"] if len(lights) > 1 else []):
            keep = np.array(
                [s.label == label and light in ("all", s.light) for s in stills], dtype=bool
            )
            if not keep.any():
                continue
            row: Json = {"label": label, "light": light, "frames": _count(keep)}
            for i, c in enumerate(classes):
                row[c] = _count(above[keep, i])
            row["either"] = _count(above[keep].any(axis=1))
            rows.append(row)
    return rows


def report(model: OnnxModel, data: Path) -> Json:
    """Both sets: per label and light, and each frame's scores."""
    thresholds, night_thresholds = model.thresholds(), model.night_thresholds()
    out: Json = {"thresholds": thresholds, "night_thresholds": night_thresholds}
    tahoe = sorted(alerttahoe(data), key=lambda s: s.path.name)
    for name, stills, in_sequence in (
        ("alerttahoe", tahoe, False),
        ("alerttahoe_in_sequence", tahoe, True),
        ("alertwildfire_night", night_negatives(data), False),
    ):
        scores, said = max_scores(model, stills, in_sequence), looks_night(stills)
        out[name] = {
            "rows": still_rows(stills, scores, model.classes, thresholds, (said, night_thresholds)),
            "night_rule": night_rule(stills, said),
            "frames": [
                {"file": s.path.name, "label": s.label, "light": s.light}
                | {c: round(float(v), 4) for c, v in zip(model.classes, row, strict=True)}
                for s, row in zip(stills, scores, strict=True)
            ],
        }
    return out
