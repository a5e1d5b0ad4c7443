"""Tile crops and tile labels, cut with the detector's own ``crops_for`` so training sees what
production sees.

A tile is positive for a class when it holds a meaningful part of one of that class's boxes
(``BOX_IN_TILE`` of the box, or ``TILE_IN_BOX`` of the tile); a tile that touches a box only a
little is ambiguous and ignored (label -1); a tile that touches no box is negative. Box-free
tiles of smoke images are the hard negatives: same camera, same light, no smoke.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from detector.modelspec import ModelSpec, TilingSpec
from detector.tiling import pixel_box
from models.training.sources import LabelledImage, PixelBox

BOX_IN_TILE = 0.4
TILE_IN_BOX = 0.25
#: Training tiles are cut at several row counts: rows=2 is the shipped tiling, 1 and 3 give
#: scale variety (zoomed-in and wide cameras) with the same cutting code.
TRAIN_ROWS = {
    "smoke": (1, 2, 3),
    "flame": (1, 2),
    "figlib_pre": (1, 2, 3),
    "negative": (1, 2),
    "operator_smoke": (1, 2, 3),
    "operator_flame": (1, 2),
    "operator_negative": (1, 2, 3),
}
#: Negative tiles kept per image and row count (box-free tiles are many and alike).
NEG_PER_IMAGE = {
    "smoke": 3,
    "flame": 2,
    "figlib_pre": 4,
    "negative": 1,
    "operator_smoke": 2,
    "operator_flame": 2,
    "operator_negative": 4,
}
IGNORE = -1


@dataclass(frozen=True)
class TileSet:
    """Cached tiles: ``crops`` N x S x S x 3 uint8 RGB, ``labels`` N x 2 int8 (smoke, flame;
    1 / 0 / -1 ignore), and per tile its pool, split, group and source image index."""

    crops: np.ndarray
    labels: np.ndarray
    pool: np.ndarray
    split: np.ndarray
    group: np.ndarray
    image: np.ndarray

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path.with_suffix(".crops.npy"), self.crops)
        np.savez(
            path.with_suffix(".meta.npz"),
            labels=self.labels,
            pool=self.pool,
            split=self.split,
            group=self.group,
            image=self.image,
        )

    @classmethod
    def load(cls, path: Path) -> TileSet:
        meta = np.load(path.with_suffix(".meta.npz"))
        crops = np.load(path.with_suffix(".crops.npy"), mmap_mode="r")
        return cls(crops, meta["labels"], meta["pool"], meta["split"], meta["group"], meta["image"])

    @staticmethod
    def exists(path: Path) -> bool:
        return path.with_suffix(".meta.npz").is_file()


def _touches(tile: tuple[int, int, int, int], boxes: tuple[PixelBox, ...]) -> bool:
    tx0, ty0, tx1, ty1 = tile
    return any(
        min(tx1, bx1) > max(tx0, bx0) and min(ty1, by1) > max(ty0, by0)
        for bx0, by0, bx1, by1 in boxes
    )


def tile_label(
    tile: tuple[int, int, int, int],
    boxes: tuple[PixelBox, ...],
    known: bool,
    partial: bool = False,
) -> int:
    """1 / 0 / -1 for one class in one pixel tile (x0, y0, x1, y1); with ``partial`` boxes a
    box-free tile is -1 (the class may be there unmarked)."""
    if not known:
        return IGNORE
    tx0, ty0, tx1, ty1 = tile
    tile_area = (tx1 - tx0) * (ty1 - ty0)
    touched = False
    for bx0, by0, bx1, by1 in boxes:
        iw = min(tx1, bx1) - max(tx0, bx0)
        ih = min(ty1, by1) - max(ty0, by0)
        if iw <= 0 or ih <= 0:
            continue
        inter = iw * ih
        box_area = max((bx1 - bx0) * (by1 - by0), 1.0)
        if inter / box_area >= BOX_IN_TILE or inter / tile_area >= TILE_IN_BOX:
            return 1
        touched = True
    return IGNORE if touched or partial else 0


def _spec_with_rows(spec: ModelSpec, rows: int) -> ModelSpec:
    """The plain grid at ``rows`` (no ``row_overlap``: the extra rows the detector may add at
    run time hold the same kind of tiles, half a tile lower)."""
    return spec.model_copy(
        update={"tiling": TilingSpec(rows=rows, min_overlap=spec.tiling.min_overlap)}
    )


def image_tiles(
    item: LabelledImage,
    image: np.ndarray,
    spec: ModelSpec,
    rows_list: tuple[int, ...],
) -> list[tuple[np.ndarray, tuple[int, int], bool]]:
    """All tiles of ``image`` (RGB) at each row count, with their (smoke, flame) labels and
    whether they touch one of the item's focus boxes."""
    from detector.preprocess import crops_for  # the production cutter

    height, width = image.shape[:2]
    out = []
    for rows in rows_list:
        crops, boxes = crops_for(image, _spec_with_rows(spec, rows))
        for crop, box in zip(crops, boxes, strict=True):
            px = pixel_box(box, width, height)
            labels = (
                tile_label(
                    px, item.smoke_boxes, item.smoke_known, item.partial or item.smoke_partial
                ),
                tile_label(px, item.flame_boxes, item.flame_known, item.partial),
            )
            out.append((crop, labels, _touches(px, item.focus_boxes)))
    return out


def _keep(
    tiles: list[tuple[np.ndarray, tuple[int, int], bool]], budget: int, rng: random.Random
) -> list[tuple[np.ndarray, tuple[int, int], bool]]:
    """Every positive tile plus ``budget`` tiles that are negative for some class: focus tiles
    first, then random ones."""
    pos = [t for t in tiles if 1 in t[1]]
    neg = [t for t in tiles if 1 not in t[1] and 0 in t[1]]
    rng.shuffle(neg)
    neg.sort(key=lambda t: not t[2])  # stable: the shuffle order stays within each side
    return pos + neg[:budget]


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OSError(f"cannot read {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def build_tiles(items: list[LabelledImage], spec: ModelSpec, seed: int) -> TileSet:
    """Cut training tiles (several row counts, negatives subsampled) and validation tiles
    (the shipped row count only, every tile) for every image of ``items``."""
    rng = random.Random(seed)
    crops, labels, pool, split, group, image = [], [], [], [], [], []
    for idx, item in enumerate(tqdm(items, desc="tiles", unit="img")):
        if item.kind == "figlib_post":
            continue  # no boxes: scored per frame by the evaluation script instead
        rgb = read_rgb(item.path)
        if item.split == "train":
            kept = []
            for rows in TRAIN_ROWS[item.kind]:
                kept += _keep(image_tiles(item, rgb, spec, (rows,)), NEG_PER_IMAGE[item.kind], rng)
        else:
            kept = image_tiles(item, rgb, spec, (spec.tiling.rows,))
            if item.kind == "negative":
                kept = kept[:: max(1, len(kept) // 2)][:2]
        for crop, lab, _ in kept:
            crops.append(crop)
            labels.append(lab)
            pool.append(item.kind)
            split.append(item.split)
            group.append(item.group)
            image.append(idx)
    return TileSet(
        np.stack(crops),
        np.asarray(labels, dtype=np.int8),
        np.asarray(pool),
        np.asarray(split),
        np.asarray(group),
        np.asarray(image, dtype=np.int32),
    )
