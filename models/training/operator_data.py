"""Operators' verdicts as training images: the datasets ``emberwatch export-dataset`` writes.

A confirmed event's frames are positives for its class where the detector saw it (the row's
boxes); the rest of such a frame is left unlabelled, because the operator confirmed a fire, not
that nothing else in the view was one. A dismissed event's frames are negatives for both classes,
and the areas the detector wrongly flagged are the tiles kept first: the deployment's own false
alarms become the next model's hard negatives. Images are split by camera, like the data pack's
fires, so a camera's frames never sit on both sides.
"""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from pathlib import Path

from models.training.sources import LabelledImage, PixelBox, hash_split

#: Sampling pools of operator images (see ``tiles.TRAIN_ROWS``).
CONFIRMED = {"smoke": "operator_smoke", "flame": "operator_flame"}
DISMISSED = "operator_negative"
REQUIRED = ("file", "label", "width", "height", "boxes", "camera_id")


class OperatorDataError(ValueError):
    """An export that cannot be read, with the file and row that is wrong."""


def export_digest(path: Path) -> str:
    """Content digest of an export (directory or zip), for the tile cache key."""
    h = hashlib.sha256()
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(f.relative_to(path)).encode())
            h.update(f.read_bytes())
    else:
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def unpack(path: Path, cache: Path) -> Path:
    """The export's root directory: ``path`` itself, or a zip extracted once under ``cache``."""
    if path.is_dir():
        return path
    if not zipfile.is_zipfile(path):
        raise OperatorDataError(f"{path}: not an export directory or zip archive")
    root = cache / f"operator-{export_digest(path)}"
    if not (root / "labels.csv").is_file():
        with zipfile.ZipFile(path) as zf:
            zf.extractall(root)
    return root


def _pixel_boxes(text: str, width: int, height: int) -> tuple[PixelBox, ...]:
    boxes = json.loads(text or "[]")
    return tuple((x0 * width, y0 * height, x1 * width, y1 * height) for x0, y0, x1, y1 in boxes)


def _item(root: Path, row: dict[str, str]) -> LabelledImage:
    path = root / row["file"]
    if not path.is_file():
        raise OperatorDataError(f"missing image {row['file']}")
    boxes = _pixel_boxes(row["boxes"], int(row["width"]), int(row["height"]))
    group = f"operator-{row['camera_id']}"
    split = hash_split(group)
    label = row["label"]
    if label == "smoke":
        return LabelledImage(
            path, CONFIRMED[label], group, split, smoke_boxes=boxes, flame_known=False, partial=True
        )
    if label == "flame":
        return LabelledImage(
            path, CONFIRMED[label], group, split, flame_boxes=boxes, smoke_known=False, partial=True
        )
    if label == "negative":
        return LabelledImage(path, DISMISSED, group, split, focus_boxes=boxes)
    raise OperatorDataError(f"unknown label {label!r} (smoke, flame or negative)")


def operator_images(path: Path, cache: Path) -> list[LabelledImage]:
    """Every labelled image of one export, in ``labels.csv`` order."""
    root = unpack(path, cache)
    labels = root / "labels.csv"
    if not labels.is_file():
        raise OperatorDataError(f"{path}: no labels.csv (is it an emberwatch export?)")
    with labels.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or ())]
        if missing:
            raise OperatorDataError(f"{labels}: missing columns {', '.join(missing)}")
        out = []
        for line, row in enumerate(reader, start=2):
            try:
                out.append(_item(root, row))
            except (ValueError, TypeError) as exc:
                raise OperatorDataError(f"{labels} line {line}: {exc}") from exc
    return out
