"""Labelled images of the shared data pack, each assigned to a split by event/camera/source group.

Boxes are pixel ``(x0, y0, x1, y1)`` in the image's own size. A class whose boxes are unknown for an
image (smoke in flame photos, where nobody boxed the smoke) is marked unknown and is ignored by the
loss instead of being taught as negative.

Split rules follow the data pack README: FIgLib folders whole (one fire is held out with its dev
clip), AI For Mankind grouped by camera view (near-identical thumbnails) and kept with the dev
sequence it overlaps, flame photos grouped by their FireNET source name, negatives per class folder.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

PixelBox = tuple[float, float, float, float]

#: FIgLib fire folders held out of training (frames and dev clip): per-frame evaluation set.
HELD_OUT_FIRES = ("20190925_FIRE_wc-s-mobo-c", "20191001_FIRE_bh-w-mobo-c")
#: Hand-drawn smoke boxes on key frames of the training fires' first minutes (1536 px frames).
EARLY_SMOKE_LABELS = Path(__file__).with_name("labels") / "figlib_early_smoke.csv"
#: Hand-marked smoke in the flame photos: cells of a 4x4 grid per photo.
FLAME_PHOTO_SMOKE_LABELS = Path(__file__).with_name("labels") / "flame_photo_smoke.csv"
GRID = 4
#: Sunset frames come from the negative dev clip: keep them out of training.
VAL_WEBCAM_PREFIX = "philopho_"
VAL_FRACTION = 0.15


@dataclass(frozen=True)
class LabelledImage:
    """One image and what is known about it.

    ``kind`` is the sampling pool: ``smoke`` / ``flame`` (boxed images), ``figlib_pre`` (FIgLib
    pre-ignition, no smoke anywhere), ``negative`` (clouds, sky, webcams), and the operator
    pools of ``operator_data``. ``partial``: the boxes mark some of the class, not all of it, so
    box-free tiles are unlabelled for it; ``smoke_partial``: the same for smoke only.
    ``focus_boxes``: areas whose tiles are kept first.
    """

    path: Path
    kind: str
    group: str
    split: str  # "train" | "val"
    smoke_boxes: tuple[PixelBox, ...] = ()
    flame_boxes: tuple[PixelBox, ...] = ()
    smoke_known: bool = True
    flame_known: bool = True
    offset_s: int | None = None
    partial: bool = False
    smoke_partial: bool = False
    focus_boxes: tuple[PixelBox, ...] = ()


def hash_split(key: str, fraction: float = VAL_FRACTION) -> str:
    """Deterministic split of a group key: same key, same side, on every machine."""
    value = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if value < fraction else "train"


def _voc_boxes(xml_path: Path, names: set[str]) -> list[PixelBox]:
    root = ET.parse(xml_path).getroot()
    boxes = []
    for obj in root.iter("object"):
        if (obj.findtext("name") or "").strip().lower() not in names:
            continue
        bb = obj.find("bndbox")
        if bb is None:
            continue
        vals = [float(bb.findtext(k) or 0) for k in ("xmin", "ymin", "xmax", "ymax")]
        boxes.append((vals[0], vals[1], vals[2], vals[3]))
    return boxes


def _yolo_boxes(txt_path: Path, width: int, height: int) -> list[PixelBox]:
    if not txt_path.is_file():
        return []
    boxes = []
    for line in txt_path.read_text().split("\n"):
        parts = line.split()
        if len(parts) != 5:
            continue
        xc, yc, w, h = (float(p) for p in parts[1:])
        boxes.append(
            (
                (xc - w / 2) * width,
                (yc - h / 2) * height,
                (xc + w / 2) * width,
                (yc + h / 2) * height,
            )
        )
    return boxes


def _thumb(path: Path) -> np.ndarray:
    """32x24 grey thumbnail, zero mean unit norm (for view grouping by correlation)."""
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    small = cv2.resize(img, (32, 24), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    small -= small.mean()
    return small / (np.linalg.norm(small) + 1e-6)


def group_by_view(paths: list[Path], min_ncc: float = 0.95) -> list[int]:
    """Union images whose thumbnails correlate above ``min_ncc``: one group ~ one camera view."""
    thumbs = np.stack([_thumb(p) for p in paths])
    ncc = thumbs @ thumbs.T
    parent = list(range(len(paths)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(ncc, 1) > min_ncc), strict=True):
        parent[find(int(i))] = find(int(j))
    return [find(i) for i in range(len(paths))]


def aiformankind(data: Path) -> list[LabelledImage]:
    folder = data / "smoke" / "hpwren-aiformankind"
    overlaps = _overlap_sequences(data)
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpeg", ".jpg"))
    groups = group_by_view(paths)
    held = {groups[i] for i, p in enumerate(paths) if p.name in overlaps}
    out = []
    for path, grp in zip(paths, groups, strict=True):
        key = f"afm-view-{paths[grp].stem}"
        split = "val" if grp in held else hash_split(key)
        boxes = tuple(_voc_boxes(path.with_suffix(".xml"), {"smoke"}))
        out.append(LabelledImage(path, "smoke", key, split, smoke_boxes=boxes, flame_known=True))
    return out


def _overlap_sequences(data: Path) -> set[str]:
    with (data / "smoke" / "same_event_overlaps.csv").open() as fh:
        return {Path(row["image"]).name for row in csv.DictReader(fh)}


def firegaze(data: Path) -> list[LabelledImage]:
    folder = data / "smoke" / "hpwren-firegaze"
    out = []
    for path in sorted(folder.glob("*.jp*g")):
        img = cv2.imread(str(path))
        height, width = img.shape[:2]
        boxes = tuple(_yolo_boxes(path.with_suffix(".txt"), width, height))
        out.append(
            LabelledImage(path, "smoke", f"firegaze-{path.stem}", "train", smoke_boxes=boxes)
        )
    return out


_CELL = re.compile(r"^[A-D][1-4]$")
_RF_NAME = re.compile(r"^(img|pic|small)-(\d+)-_(?:jpe?g|png)\.rf\.")


def flame_photos(data: Path, smoke_cells: Path | None = None) -> list[LabelledImage]:
    """FireNET photos plus the Roboflow re-exports that do not duplicate a FireNET photo.

    Their smoke is unknown (ignored by the loss) unless ``smoke_cells`` marks it (see
    :func:`grid_smoke_cells`): then the marked cells are smoke, the rest of a photo with marked
    cells stays unknown (thin smoke at the edge of a plume is easily left unmarked), and a
    photo marked as showing no smoke has none.
    """
    cells = grid_smoke_cells(smoke_cells) if smoke_cells else {}
    out, seen = [], set()
    for sub in ("train", "validation"):
        for path in sorted((data / "flame" / "firenet" / sub / "images").glob("*.jpg")):
            xml = path.parent.parent / "annotations" / f"{path.stem}.xml"
            boxes = tuple(_voc_boxes(xml, {"fire"})) if xml.is_file() else ()
            seen.add(path.stem)
            smoke = cells.get(_rel(path, data))
            out.append(_flame_photo(path, f"firenet-{path.stem}", boxes, smoke))
    for path in sorted((data / "flame" / "roboflow-fire").glob("*/images/*.jpg")):
        match = _RF_NAME.match(path.name)
        key = f"{match.group(1)} ({match.group(2)})" if match else path.stem
        if key in seen:
            continue  # same photo as a FireNET one (stretched): it would leak across splits
        seen.add(key)
        height, width = _size(path)
        txt = path.parent.parent / "labels" / f"{path.stem}.txt"
        boxes = tuple(_yolo_boxes(txt, width, height))
        out.append(_flame_photo(path, f"firenet-{key}", boxes, cells.get(_rel(path, data))))
    return out


def _rel(path: Path, data: Path) -> str:
    return path.relative_to(data).as_posix()


def _size(path: Path) -> tuple[int, int]:
    img = cv2.imread(str(path))
    return img.shape[0], img.shape[1]


def _flame_photo(
    path: Path, group: str, flame_boxes: tuple[PixelBox, ...], smoke: tuple[str, ...] | None
) -> LabelledImage:
    smoke_boxes = () if smoke is None else cell_boxes(smoke, *_size(path))
    return LabelledImage(
        path,
        "flame",
        group,
        hash_split(group),
        smoke_boxes=smoke_boxes,
        flame_boxes=flame_boxes,
        smoke_known=smoke is not None,
        smoke_partial=bool(smoke),
    )


def grid_smoke_cells(path: Path = FLAME_PHOTO_SMOKE_LABELS) -> dict[str, tuple[str, ...]]:
    """Photo (path under the data folder) -> the cells of a 4x4 grid that show smoke, named
    column A-D (left to right) and row 1-4 (top to bottom): ``B1`` is the second cell of the
    top row. A photo with no cells shows no smoke; photos marked ``?`` are left out (unknown)."""
    out = {}
    with path.open() as fh:
        for row in csv.DictReader(fh):
            if row["cells"].strip() == "?":
                continue
            cells = tuple(row["cells"].split())
            if bad := [c for c in cells if not _CELL.match(c)]:
                raise ValueError(f"{path}: {row['photo']}: cells {bad} are not A1-D4")
            out[row["photo"]] = cells
    return out


def cell_boxes(cells: tuple[str, ...], height: int, width: int) -> tuple[PixelBox, ...]:
    """Pixel boxes of grid cells (see :func:`grid_smoke_cells`) in an image of this size."""
    cw, ch = width / GRID, height / GRID
    out = []
    for cell in cells:
        col, row = "ABCD".index(cell[0]), int(cell[1:]) - 1
        out.append((col * cw, row * ch, (col + 1) * cw, (row + 1) * ch))
    return tuple(out)


def early_smoke_boxes(path: Path = EARLY_SMOKE_LABELS) -> dict[tuple[str, int], PixelBox]:
    """Smoke box per (fire id, whole minutes after ignition), from the key frames of ``path``.

    Between two key frames of a fire the box moves linearly (the plume grows and drifts
    slowly); minutes before a fire's first key frame or after its last one have no box.
    """
    keys: dict[str, list[tuple[int, np.ndarray]]] = {}
    with path.open() as fh:
        for row in csv.DictReader(fh):
            box = np.array([float(row[k]) for k in ("x0", "y0", "x1", "y1")])
            keys.setdefault(row["fire_id"], []).append((int(row["offset_min"]), box))
    out: dict[tuple[str, int], PixelBox] = {}
    for fire, frames in keys.items():
        frames.sort(key=lambda f: f[0])
        for (m0, b0), (m1, b1) in itertools.pairwise(frames):
            for minute in range(m0, m1):
                out[(fire, minute)] = _box(b0 + (minute - m0) / (m1 - m0) * (b1 - b0))
        last, box = frames[-1]
        out[(fire, last)] = _box(box)
    return out


def _box(values: np.ndarray) -> PixelBox:
    x0, y0, x1, y1 = values.round(1).tolist()
    return (x0, y0, x1, y1)


def figlib(
    data: Path, every_frame: bool = False, early_plumes: Path | None = None
) -> list[LabelledImage]:
    """FIgLib frames. Training fires give their pre-ignition frames (no smoke anywhere), and
    the post-ignition frames that the key frames of ``early_plumes`` box (as ``smoke``, see
    :func:`early_smoke_boxes`); with ``every_frame`` (for evaluation) every frame, unboxed."""
    root = data / "smoke" / "figlib-2018-2019"
    boxes = early_smoke_boxes(early_plumes) if early_plumes and not every_frame else {}
    out = []
    with (root / "frames.csv").open() as fh:
        for row in csv.DictReader(fh):
            fire, offset = row["fire_id"], int(row["offset_s"])
            split = "val" if fire in HELD_OUT_FIRES else "train"
            box = boxes.get((fire, round(offset / 60)))
            if split == "train" and offset >= 0 and box is None and not every_frame:
                continue
            kind = "figlib_pre" if offset < 0 else "smoke" if box else "figlib_post"
            out.append(
                LabelledImage(
                    root / row["file"],
                    kind,
                    f"figlib-{fire}",
                    split,
                    smoke_boxes=(box,) if box else (),
                    smoke_known=offset < 0 or box is not None,
                    offset_s=offset,
                )
            )
    return out


def negatives(data: Path) -> list[LabelledImage]:
    out = []
    for folder in ("clouds-ccsn", "sky-gcd"):
        for cls_dir in sorted((data / "negative" / folder).iterdir()):
            for path in sorted(cls_dir.glob("*.jpg")):
                key = f"{folder}-{cls_dir.name}-{path.stem}"
                out.append(LabelledImage(path, "negative", key, hash_split(key)))
    for path in sorted((data / "negative" / "webcams").glob("*.jpg")):
        split = "val" if path.name.startswith(VAL_WEBCAM_PREFIX) else "train"
        out.append(LabelledImage(path, "negative", f"webcam-{path.stem}", split))
    return out


def all_images(
    data: Path, early_plumes: Path | None = None, flame_smoke: Path | None = None
) -> list[LabelledImage]:
    """Every image the recipe uses, in a fixed order (``early_plumes``: see :func:`figlib`;
    ``flame_smoke``: see :func:`flame_photos`)."""
    return [
        *aiformankind(data),
        *firegaze(data),
        *flame_photos(data, flame_smoke),
        *figlib(data, early_plumes=early_plumes),
        *negatives(data),
    ]
