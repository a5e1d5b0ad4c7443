"""The data pack as compositing pools (:class:`models.training.composite.Pools`), one split.

FIgLib pre-ignition frames become views (in time order per fire); boxed smoke images give
plumes (:func:`models.training.composite.cut_plume`), their real smoke tiles and, away from
their boxes, fire-free stills; flame photos their boxes; negative images stills, and the cloud
images also clouds cut like plumes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.training.composite import LAG_FRAMES, Pools, cut_plume
from models.training.sources import LabelledImage, PixelBox, all_images
from models.training.tiles import read_rgb


def _outside(image: np.ndarray, boxes: tuple[PixelBox, ...]) -> np.ndarray:
    """The widest vertical strip of ``image`` that no box touches (the whole image if none)."""
    w = image.shape[1]
    free = np.ones(w, dtype=bool)
    for x0, _, x1, _ in boxes:
        free[max(0, int(x0) - 8) : int(x1) + 8] = False
    best, start = (0, 0), None
    for i, ok in enumerate([*free, False]):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    return image[:, best[0] : best[1]] if best[1] - best[0] >= 64 else image[:0]


def load_pools(data: Path, split: str) -> Pools:
    """The ``split`` side of the data pack as compositing pools (a few hundred MB at most)."""
    items = [i for i in all_images(data) if i.split == split]
    views: dict[str, list[tuple[int, np.ndarray]]] = {}
    pools = Pools([], [], [], [])
    for item in items:
        _add(item, views, pools)
    ordered = [[img for _, img in sorted(v, key=lambda t: t[0])] for v in views.values()]
    pools.views.extend(v for v in ordered if len(v) > LAG_FRAMES)
    return pools


def _add(item: LabelledImage, views: dict[str, list[tuple[int, np.ndarray]]], pools: Pools) -> None:
    if item.kind == "figlib_pre":
        views.setdefault(item.group, []).append((item.offset_s or 0, read_rgb(item.path)))
    elif item.kind == "smoke" and item.smoke_boxes and not item.group.startswith("figlib"):
        image = read_rgb(item.path)
        pools.smoke.append((image, item.smoke_boxes))
        cut = (cut_plume(image, b) for b in item.smoke_boxes)
        pools.plumes.extend(p for p in cut if p is not None)
        rest = _outside(image, item.smoke_boxes)
        if rest.size:
            pools.stills.append(np.ascontiguousarray(rest))
    elif item.kind == "flame" and item.flame_boxes:
        pools.flames.append((read_rgb(item.path), item.flame_boxes))
    elif item.kind == "negative":
        image = read_rgb(item.path)
        pools.stills.append(image)
        if "clouds-ccsn" in item.group:  # a cloud cut out like a plume: pale, soft, not smoke
            h, w = image.shape[:2]
            cloud = cut_plume(image, (0.2 * w, 0.2 * h, 0.8 * w, 0.8 * h))
            if cloud is not None:
                pools.clouds.append(cloud)
